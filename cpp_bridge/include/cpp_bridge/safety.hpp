// The last word before anything reaches the robot: the target is speed limited, kept in
// the workspace box and within the orientation cone; torques are clamped per joint and
// their change per tick is bounded. Non-finite values never pass.
#pragma once

#include "cpp_bridge/config.hpp"
#include "cpp_bridge/types.hpp"

namespace cpp_bridge {

class Safety {
 public:
  void configure(const SafetyLimits& l) { lim_ = l; }
  const SafetyLimits& limits() const { return lim_; }

  /// Finite position and a quaternion that can be normalised.
  static bool pose_ok(const Pose& p);

  /// Next commanded target from the previous one. Returns true when anything was clipped.
  bool clip_target(const Pose& prev, const Pose& desired, double dt, Pose& out) const;

  /// True when `p` is inside the box and the orientation cone (with tolerance).
  bool target_inside(const Pose& p) const;

  /// tau_cmd <- prev + clamp(clamp(desired, +-tau_max) - prev, +-max_dtau).
  /// Non-finite desired torques are treated as "hold the previous torque".
  void limit_torque(const VecJ& desired, const VecJ& prev, VecJ& out) const;

  /// True when a new policy target lies within max_target_jump_m / _rad of `current`.
  bool target_jump_ok(const Pose& current, const Pose& target) const;

  /// Joint limits configured (q_min/q_max non-empty)?
  bool has_joint_limits() const { return lim_.q_min.size() > 0; }
  /// Index of the first measured joint outside [q_min, q_max], or -1.
  int joint_beyond_limit(const VecJ& q) const;
  /// True when any joint lies inside the margin of its limit.
  bool joints_in_margin(const VecJ& q) const;
  /// Adds the repulsive torque of the joint-limit margins to `tau`; true when any acted.
  bool add_joint_repulsion(const VecJ& q, const VecJ& dq, VecJ& tau) const;

 private:
  SafetyLimits lim_;
};

}  // namespace cpp_bridge
