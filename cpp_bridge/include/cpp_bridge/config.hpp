// Run-time settings of the loop. Each group travels to the control thread through its own
// triple buffer, so changing gains from Python never stalls a tick.
#pragma once

#include <cstdint>

#include "cpp_bridge/types.hpp"

namespace cpp_bridge {

/// Cartesian impedance gains and their filters (SERL's defaults).
struct Gains {
  Vec6 stiffness = (Vec6() << 2000, 2000, 2000, 150, 150, 150).finished();
  Vec6 damping = (Vec6() << 89, 89, 89, 7, 7, 7).finished();
  /// Per-axis clip on the pose error (m, m, m, rad, rad, rad): high stiffness stays
  /// gentle in contact because the spring force is bounded by K * clip.
  Vec6 error_clip = (Vec6() << 0.01, 0.01, 0.01, 0.05, 0.05, 0.05).finished();
  double nullspace_stiffness = 10.0;
  double nullspace_damping = 2.0 * 3.1622776601683795;  // 2 * sqrt(10)
  /// First-order filter coefficients per tick (1 = no filtering).
  double target_filter = 0.1;
  double gain_filter = 0.01;
  bool coriolis_feedforward = true;
};

/// Hard limits applied after mixing and after the controller.
struct SafetyLimits {
  Vec3 box_min = Vec3(-1.0, -1.0, -0.1);
  Vec3 box_max = Vec3(1.0, 1.0, 1.5);
  Quat orientation_ref = Quat::Identity();
  double max_orientation_error = 3.2;  // rad from orientation_ref (> pi: unlimited)
  double max_lin_speed = 0.5;          // m/s of the commanded target
  double max_ang_speed = 2.0;          // rad/s of the commanded target
  double max_dtau = 1.0;               // Nm per tick
  VecJ tau_max;                        // per joint; empty: backend default
  // Joint position limits (rad). Empty: the backend's default (Franka FR3/Panda and UR
  // datasheets; none for the test plant and MuJoCo, whose joints are not a real arm's).
  // A measured joint beyond its limit latches Fault::kJointLimit.
  VecJ q_min, q_max;
  // Inside `joint_margin` of a limit: torque backends add a repulsive joint torque
  // (stiffness * depth into the margin, plus damping of the motion toward the limit);
  // pose backends (UR) hold the last measured pose at which every joint was outside it.
  double joint_margin = 0.1;            // rad
  double joint_limit_stiffness = 100.0; // Nm/rad
  double joint_limit_damping = 10.0;    // Nm s/rad
  // A new policy target farther than this from the current commanded target is rejected
  // (the target holds) and counted (rejected_targets). inf: no check.
  double max_target_jump_m = 0.1;
  double max_target_jump_rad = 0.5;
};

/// Teleop/policy arbitration.
struct MixerConfig {
  double deadband_lin = 0.005;  // m/s
  double deadband_ang = 0.02;   // rad/s
  bool require_button = true;
  // Clutch semantics: while the button is held the human owns the target even with the
  // input inside the deadband (the arm holds where the human stopped it) instead of the
  // policy resuming under a still hand.
  bool hold_when_engaged = false;
  // Farthest the human's integrated target may lead the measured end effector (m; 0: no
  // bound). An arm slower than the hand would otherwise wind the target up and keep
  // moving after the hand stops; beyond the controller's error clip a lead adds no force.
  double max_teleop_lead = 0.0;
  double policy_period_s = 0.1;  // interpolation time from the previous goal to a new one
};

/// How old an input may be before the loop stops trusting it.
struct WatchdogConfig {
  double policy_timeout_s = 0.5;   // older: hold the current target
  double teleop_timeout_s = 0.1;   // older: the human contributes zero motion
  double backend_timeout_s = 0.02; // backend state not advancing this long: fault
  // Hold, then stop: once the policy has sent a set-point, if none arrives for
  // policy_timeout_s + stop_timeout_s while no teleop input is engaged (and the mode is not
  // teleop), the loop stops the robot and latches Fault::kWatchdogStop. 0: never.
  double stop_timeout_s = 2.0;
};

struct BridgeConfig {
  double period_s = 0.001;
  bool realtime = false;          // false: lockstep step(n); true: own thread
  bool try_realtime_priority = true;
  std::size_t timing_capacity = 1 << 16;  // ring of per-tick timings kept for benchmarks
  Mode mode = Mode::kShared;
  Gains gains;
  SafetyLimits limits;
  MixerConfig mixer;
  WatchdogConfig watchdog;
  VecJ q_nominal;  // nullspace posture; empty: the first measured q
};

}  // namespace cpp_bridge
