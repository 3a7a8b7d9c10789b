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
      .def_readwrite("model", &FrankaConfig::model)
      .def_readwrite("lowpass_cutoff_hz", &FrankaConfig::lowpass_cutoff_hz)
      .def_readwrite("max_dtau", &FrankaConfig::max_dtau)
      .def_readwrite("enforce_realtime", &FrankaConfig::enforce_realtime)
      .def("validate", [](const FrankaConfig& c) { FrankaBackend::validate(c); },
           "Raises ValueError naming the field for an unknown model.");
  bind_franka_gripper(m);
#endif
#ifdef SILRI_HAVE_UR
  py::class_<URConfig>(m, "URConfig")
      .def(py::init<>())
      .def_readwrite("robot_ip", &URConfig::robot_ip)
      .def_readwrite("model", &URConfig::model)
      .def_readwrite("command", &URConfig::command)
      .def_readwrite("frequency", &URConfig::frequency)
      .def("resolved_frequency", &URBackend::resolve_frequency,
           "The RTDE rate (the model's when frequency is 0); ValueError for an unknown "
           "model or command.")
      .def_readwrite("lookahead_time", &URConfig::lookahead_time)
      .def_readwrite("servo_gain", &URConfig::servo_gain)
      .def_readwrite("admittance_mass", &URConfig::admittance_mass)
      .def_readwrite("wrench_deadband", &URConfig::wrench_deadband)
      .def_readwrite("max_offset", &URConfig::max_offset)
      .def_readwrite("stale_timeout_s", &URConfig::stale_timeout_s);
#endif
#ifdef SILRI_FAKE_SDKS
  bind_fake_sdks(m);
#endif
}

}  // namespace cpp_bridge::py_bind
