// Backend settings and the test plant's fault-injection handle.
#include "common.hpp"

#include "cpp_bridge/mujoco_backend.hpp"
#include "cpp_bridge/test_plant.hpp"
#ifdef SILRI_HAVE_FRANKA
#include "cpp_bridge/franka_backend.hpp"
#endif
#ifdef SILRI_HAVE_UR
#include "cpp_bridge/ur_backend.hpp"
#endif

namespace cpp_bridge::py_bind {

void bind_backends(py::module_& m) {
  py::class_<TestPlantConfig>(m, "TestPlantConfig")
      .def(py::init<>())
      .def_readwrite("mass", &TestPlantConfig::mass)
      .def_readwrite("inertia", &TestPlantConfig::inertia)
      .def_readwrite("damping", &TestPlantConfig::damping)
      .def_readwrite("tau_max", &TestPlantConfig::tau_max)
      .def_property(
          "initial_position", [](const TestPlantConfig& c) { return Eigen::Vector3d(c.initial.p); },
          [](TestPlantConfig& c, const Eigen::Vector3d& p) { c.initial.p = p; })
      .def_property(
          "initial_quat", [](const TestPlantConfig& c) { return quat_to_wxyz(c.initial.q); },
          [](TestPlantConfig& c, const Eigen::Vector4d& q) {
            c.initial.q = quat_from_wxyz(q).normalized();
          });

  py::class_<TestPlant>(m, "TestPlant", "Fault injection on a running test plant.")
      .def("drop_ticks", &TestPlant::drop_ticks, py::arg("n"))
      .def("delay", &TestPlant::delay, py::arg("seconds"), py::arg("n"))
      .def("set_connected", &TestPlant::set_connected, py::arg("connected"))
      .def("inject_nan", &TestPlant::inject_nan)
      .def("inject_error", &TestPlant::inject_error)
      .def_property_readonly("recover_calls", &TestPlant::recover_calls);

  py::class_<MujocoConfig>(m, "MujocoConfig")
      .def(py::init<>())
      .def_readwrite("joints", &MujocoConfig::joints)
      .def_readwrite("site", &MujocoConfig::site)
      .def_readwrite("gripper_actuator", &MujocoConfig::gripper_actuator)
      .def_readwrite("gravity_compensation", &MujocoConfig::gravity_compensation)
      .def_property(
          "tau_max", [](const MujocoConfig& c) { return to_dyn(c.tau_max); },
          [](MujocoConfig& c, const Eigen::VectorXd& v) { c.tau_max = from_dyn(v, "tau_max"); });

#ifdef SILRI_HAVE_FRANKA
  py::class_<FrankaConfig>(m, "FrankaConfig")
      .def(py::init<>())
      .def_readwrite("robot_ip", &FrankaConfig::robot_ip)
      .def_readwrite("lowpass_cutoff_hz", &FrankaConfig::lowpass_cutoff_hz)
      .def_readwrite("max_dtau", &FrankaConfig::max_dtau);
#endif
#ifdef SILRI_HAVE_UR
  py::class_<URConfig>(m, "URConfig")
      .def(py::init<>())
      .def_readwrite("robot_ip", &URConfig::robot_ip)
      .def_readwrite("frequency", &URConfig::frequency)
      .def_readwrite("lookahead_time", &URConfig::lookahead_time)
      .def_readwrite("servo_gain", &URConfig::servo_gain)
      .def_readwrite("admittance_mass", &URConfig::admittance_mass)
      .def_readwrite("wrench_deadband", &URConfig::wrench_deadband)
      .def_readwrite("stale_timeout_s", &URConfig::stale_timeout_s);
#endif
}

}  // namespace cpp_bridge::py_bind
