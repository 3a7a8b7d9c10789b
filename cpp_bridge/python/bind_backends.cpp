// Backend settings and the test plant's fault-injection handle.
#include <cstdint>
#include <type_traits>

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

  // Addresses travel as integers: Python takes them from the installed mujoco bindings
  // (arrays' ctypes.data, functions through ctypes), see silri_jax/bridge/mujoco_view.py.
  auto ptr = [](auto member) {
    return [member](MujocoView& v, std::uintptr_t a) {
      v.*member = reinterpret_cast<std::remove_reference_t<decltype(v.*member)>>(a);
    };
  };
  auto addr = [](auto member) {
    return [member](const MujocoView& v) { return reinterpret_cast<std::uintptr_t>(v.*member); };
  };
  py::class_<MujocoView>(m, "MujocoView",
                         "One mjModel/mjData pair as addresses and resolved indices.")
      .def(py::init<>())
      .def_property("model", addr(&MujocoView::model), ptr(&MujocoView::model))
      .def_property("data", addr(&MujocoView::data), ptr(&MujocoView::data))
      .def_property("qpos", addr(&MujocoView::qpos), ptr(&MujocoView::qpos))
      .def_property("qvel", addr(&MujocoView::qvel), ptr(&MujocoView::qvel))
      .def_property("qfrc_bias", addr(&MujocoView::qfrc_bias), ptr(&MujocoView::qfrc_bias))
      .def_property("qfrc_applied", addr(&MujocoView::qfrc_applied),
                    ptr(&MujocoView::qfrc_applied))
      .def_property("ctrl", addr(&MujocoView::ctrl), ptr(&MujocoView::ctrl))
      .def_property("site_xpos", addr(&MujocoView::site_xpos), ptr(&MujocoView::site_xpos))
      .def_property("site_xmat", addr(&MujocoView::site_xmat), ptr(&MujocoView::site_xmat))
      .def_property(
          "mj_step1", [](const MujocoView& v) { return reinterpret_cast<std::uintptr_t>(v.api.step1); },
          [](MujocoView& v, std::uintptr_t a) {
            v.api.step1 = reinterpret_cast<MujocoApi::StepFn>(a);
          })
      .def_property(
          "mj_step2", [](const MujocoView& v) { return reinterpret_cast<std::uintptr_t>(v.api.step2); },
          [](MujocoView& v, std::uintptr_t a) {
            v.api.step2 = reinterpret_cast<MujocoApi::StepFn>(a);
          })
      .def_property(
          "mj_jacSite",
          [](const MujocoView& v) { return reinterpret_cast<std::uintptr_t>(v.api.jac_site); },
          [](MujocoView& v, std::uintptr_t a) {
            v.api.jac_site = reinterpret_cast<MujocoApi::JacSiteFn>(a);
          })
      .def_readwrite("nq", &MujocoView::nq)
      .def_readwrite("nv", &MujocoView::nv)
      .def_readwrite("nu", &MujocoView::nu)
      .def_readwrite("nsite", &MujocoView::nsite)
      .def_readwrite("timestep", &MujocoView::timestep)
      .def_readwrite("qpos_adr", &MujocoView::qpos_adr)
      .def_readwrite("dof_adr", &MujocoView::dof_adr)
      .def_readwrite("site", &MujocoView::site)
      .def_readwrite("gripper", &MujocoView::gripper)
      .def_readwrite("gripper_lo", &MujocoView::gripper_lo)
      .def_readwrite("gripper_hi", &MujocoView::gripper_hi);

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
