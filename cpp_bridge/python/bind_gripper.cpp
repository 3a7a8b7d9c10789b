// franka::Gripper (the Franka Hand), compiled when libfranka is found. Method names follow
// libfranka (and silri_jax.grippers.franka_hand's client protocol): homing, move, grasp,
// stop, readOnce; read() is readOnce as a dict. Every call releases the GIL (move, grasp
// and homing block until the fingers stop) and SDK exceptions become
// silri_jax.bridge.errors.SdkError (SdkConnectionError for franka::NetworkException).
#include <franka/exception.h>
#include <franka/gripper.h>

#include <memory>
#include <utility>

#include "common.hpp"

namespace cpp_bridge::py_bind {

namespace {

template <typename F>
auto sdk_call(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const franka::NetworkException& e) {
    throw SdkError(std::string("libfranka gripper: ") + e.what(), true);
  } catch (const franka::Exception& e) {
    throw SdkError(std::string("libfranka gripper: ") + e.what(), false);
  }
}

class FrankaGripper {
 public:
  explicit FrankaGripper(const std::string& robot_ip)
      : g_(sdk_call([&] { return std::make_unique<franka::Gripper>(robot_ip); })),
        ip_(robot_ip) {}
  bool homing() { return sdk_call([&] { return g_->homing(); }); }
  bool move(double width, double speed) { return sdk_call([&] { return g_->move(width, speed); }); }
  bool grasp(double width, double speed, double force, double eps_in, double eps_out) {
    return sdk_call([&] { return g_->grasp(width, speed, force, eps_in, eps_out); });
  }
  bool stop() { return sdk_call([&] { return g_->stop(); }); }
  franka::GripperState read_once() { return sdk_call([&] { return g_->readOnce(); }); }
  const std::string& robot_ip() const { return ip_; }

 private:
  std::unique_ptr<franka::Gripper> g_;
  std::string ip_;
};

}  // namespace

void bind_franka_gripper(py::module_& m) {
  using release = py::call_guard<py::gil_scoped_release>;
  py::class_<franka::GripperState>(m, "FrankaGripperState", "franka::GripperState.")
      .def_readonly("width", &franka::GripperState::width)
      .def_readonly("max_width", &franka::GripperState::max_width)
      .def_readonly("is_grasped", &franka::GripperState::is_grasped)
      .def_readonly("temperature", &franka::GripperState::temperature)
      .def("__repr__", [](const franka::GripperState& s) {
        return "FrankaGripperState(width=" + std::to_string(s.width) +
               ", max_width=" + std::to_string(s.max_width) +
               ", is_grasped=" + (s.is_grasped ? "True" : "False") +
               ", temperature=" + std::to_string(s.temperature) + ")";
      });
  py::class_<FrankaGripper>(m, "FrankaGripper",
                            "The Franka Hand through libfranka's franka::Gripper.")
      .def(py::init<const std::string&>(), py::arg("robot_ip"), release())
      .def("homing", &FrankaGripper::homing, release())
      .def("move", &FrankaGripper::move, py::arg("width"), py::arg("speed"), release())
      .def("grasp", &FrankaGripper::grasp, py::arg("width"), py::arg("speed"),
           py::arg("force"), py::arg("epsilon_inner") = 0.005,
           py::arg("epsilon_outer") = 0.005, release())
      .def("stop", &FrankaGripper::stop, release())
      .def("readOnce", &FrankaGripper::read_once, release())
      .def("read",
           [](FrankaGripper& g) {
             franka::GripperState s;
             {
               py::gil_scoped_release nogil;
               s = g.read_once();
             }
             py::dict d;
             d["width"] = s.width;
             d["max_width"] = s.max_width;
             d["is_grasped"] = s.is_grasped;
             d["temperature"] = s.temperature;
             return d;
           })
      .def_property_readonly("robot_ip", &FrankaGripper::robot_ip);
}

}  // namespace cpp_bridge::py_bind
