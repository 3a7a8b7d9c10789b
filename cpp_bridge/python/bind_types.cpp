// Settings structs and enums.
#include "common.hpp"

#include "cpp_bridge/config.hpp"

namespace cpp_bridge::py_bind {

void bind_types(py::module_& m) {
  py::enum_<Mode>(m, "Mode")
      .value("POLICY", Mode::kPolicy)
      .value("TELEOP", Mode::kTeleop)
      .value("SHARED", Mode::kShared);
  py::enum_<Fault>(m, "Fault")
      .value("NONE", Fault::kNone)
      .value("BACKEND_STALE", Fault::kBackendStale)
      .value("DISCONNECTED", Fault::kDisconnected)
      .value("NON_FINITE_STATE", Fault::kNonFiniteState)
      .value("BACKEND_ERROR", Fault::kBackendError)
      .value("JOINT_LIMIT", Fault::kJointLimit)
      .value("WATCHDOG_STOP", Fault::kWatchdogStop);

  py::class_<Gains>(m, "Gains")
      .def(py::init<>())
      .def_readwrite("stiffness", &Gains::stiffness)
      .def_readwrite("damping", &Gains::damping)
      .def_readwrite("error_clip", &Gains::error_clip)
      .def_readwrite("nullspace_stiffness", &Gains::nullspace_stiffness)
      .def_readwrite("nullspace_damping", &Gains::nullspace_damping)
      .def_readwrite("target_filter", &Gains::target_filter)
      .def_readwrite("gain_filter", &Gains::gain_filter)
      .def_readwrite("coriolis_feedforward", &Gains::coriolis_feedforward);

  py::class_<SafetyLimits>(m, "SafetyLimits")
      .def(py::init<>())
      .def_readwrite("box_min", &SafetyLimits::box_min)
      .def_readwrite("box_max", &SafetyLimits::box_max)
      .def_property(
          "orientation_ref", [](const SafetyLimits& l) { return quat_to_wxyz(l.orientation_ref); },
          [](SafetyLimits& l, const Eigen::Vector4d& q) { l.orientation_ref = quat_from_wxyz(q); })
      .def_readwrite("max_orientation_error", &SafetyLimits::max_orientation_error)
      .def_readwrite("max_lin_speed", &SafetyLimits::max_lin_speed)
      .def_readwrite("max_ang_speed", &SafetyLimits::max_ang_speed)
      .def_readwrite("max_dtau", &SafetyLimits::max_dtau)
      .def_property(
          "tau_max", [](const SafetyLimits& l) { return to_dyn(l.tau_max); },
          [](SafetyLimits& l, const Eigen::VectorXd& v) { l.tau_max = from_dyn(v, "tau_max"); })
      .def_property(
          "q_min", [](const SafetyLimits& l) { return to_dyn(l.q_min); },
          [](SafetyLimits& l, const Eigen::VectorXd& v) { l.q_min = from_dyn(v, "q_min"); })
      .def_property(
          "q_max", [](const SafetyLimits& l) { return to_dyn(l.q_max); },
          [](SafetyLimits& l, const Eigen::VectorXd& v) { l.q_max = from_dyn(v, "q_max"); })
      .def_readwrite("joint_margin", &SafetyLimits::joint_margin)
      .def_readwrite("joint_limit_stiffness", &SafetyLimits::joint_limit_stiffness)
      .def_readwrite("joint_limit_damping", &SafetyLimits::joint_limit_damping)
      .def_readwrite("max_target_jump_m", &SafetyLimits::max_target_jump_m)
      .def_readwrite("max_target_jump_rad", &SafetyLimits::max_target_jump_rad);

  py::class_<MixerConfig>(m, "MixerConfig")
      .def(py::init<>())
      .def_readwrite("deadband_lin", &MixerConfig::deadband_lin)
      .def_readwrite("deadband_ang", &MixerConfig::deadband_ang)
      .def_readwrite("require_button", &MixerConfig::require_button)
      .def_readwrite("hold_when_engaged", &MixerConfig::hold_when_engaged)
      .def_readwrite("max_teleop_lead", &MixerConfig::max_teleop_lead)
      .def_readwrite("policy_period_s", &MixerConfig::policy_period_s);

  py::class_<WatchdogConfig>(m, "WatchdogConfig")
      .def(py::init<>())
      .def_readwrite("policy_timeout_s", &WatchdogConfig::policy_timeout_s)
      .def_readwrite("teleop_timeout_s", &WatchdogConfig::teleop_timeout_s)
      .def_readwrite("backend_timeout_s", &WatchdogConfig::backend_timeout_s)
      .def_readwrite("stop_timeout_s", &WatchdogConfig::stop_timeout_s);

  py::class_<BridgeConfig>(m, "BridgeConfig")
      .def(py::init<>())
      .def_readwrite("period_s", &BridgeConfig::period_s)
      .def_readwrite("realtime", &BridgeConfig::realtime)
      .def_readwrite("try_realtime_priority", &BridgeConfig::try_realtime_priority)
      .def_readwrite("timing_capacity", &BridgeConfig::timing_capacity)
      .def_readwrite("mode", &BridgeConfig::mode)
      .def_readwrite("gains", &BridgeConfig::gains)
      .def_readwrite("limits", &BridgeConfig::limits)
      .def_readwrite("mixer", &BridgeConfig::mixer)
      .def_readwrite("watchdog", &BridgeConfig::watchdog)
      .def_property(
          "q_nominal", [](const BridgeConfig& c) { return to_dyn(c.q_nominal); },
          [](BridgeConfig& c, const Eigen::VectorXd& v) { c.q_nominal = from_dyn(v, "q_nominal"); });
}

}  // namespace cpp_bridge::py_bind
