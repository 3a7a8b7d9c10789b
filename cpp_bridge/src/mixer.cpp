#include "cpp_bridge/mixer.hpp"

#include <algorithm>

#include "cpp_bridge/math.hpp"

namespace cpp_bridge {

void Mixer::reset(const Pose& current, double gripper, bool ignore_current_goal) {
  cmd_ = current;
  seg_active_ = false;
  seg_t_ = 0.0;
  human_last_ = false;
  gripper_ = gripper;
  seen_seq_ = ignore_current_goal ? ~0ull : 0;
}

bool Mixer::teleop_active(const TeleopInput& t, bool fresh) const {
  if (!fresh || !t.twist.allFinite()) return false;
  if (cfg_.require_button && !t.engaged) return false;
  if (cfg_.hold_when_engaged && t.engaged) return true;
  if (t.gripper >= 0.0) return true;  // a gripper press is an intervention
  return t.twist.head<3>().norm() > cfg_.deadband_lin ||
         t.twist.tail<3>().norm() > cfg_.deadband_ang;
}

void Mixer::start_segment(const PolicyTarget& p) {
  seg_start_ = cmd_;
  seg_goal_ = p.pose;
  seg_t_ = 0.0;
  seg_active_ = true;
  seen_seq_ = p.seq;
  gripper_ = p.gripper;
}

MixerOutput Mixer::update(Mode mode, const PolicyTarget& policy, bool policy_fresh,
                          const TeleopInput& teleop, bool teleop_fresh, double dt) {
  MixerOutput out;
  const bool human = mode != Mode::kPolicy && teleop_active(teleop, teleop_fresh);
  if (seen_seq_ == ~0ull) seen_seq_ = policy.seq;  // after reset: ignore the old goal

  if (human) {
    // Integrate the twist from the current commanded target: no jump at takeover.
    Pose next;
    next.p = cmd_.p + teleop.twist.head<3>() * dt;
    next.q = (rotvec_to_quat(teleop.twist.tail<3>() * dt) * cmd_.q).normalized();
    if (cfg_.max_teleop_lead > 0.0 && have_measured_) {
      const Vec3 lead = next.p - measured_.p;
      const double n = lead.norm();
      // Only ever shrink toward the arm: never jump away from where the target was.
      if (n > cfg_.max_teleop_lead && n > (cmd_.p - measured_.p).norm() - 1e-12)
        next.p = measured_.p + lead * (cfg_.max_teleop_lead / n);
    }
    out.target = next;
    seg_active_ = false;
    if (teleop.gripper >= 0.0) gripper_ = std::min(1.0, teleop.gripper);
  } else if (mode == Mode::kTeleop) {
    out.target = cmd_;  // human not acting in teleop mode: hold
    seg_active_ = false;
  } else {
    if (human_last_) {
      // Hand-back: the goal the policy sent before the takeover is stale; hold where the
      // human left the target until the policy sends a new goal.
      seen_seq_ = policy.seq;
      seg_active_ = false;
    }
    const bool usable = policy_fresh && policy.stamp_ns >= 0;
    if (usable && policy.seq != seen_seq_) start_segment(policy);
    if (usable && seg_active_) {
      seg_t_ += dt;
      const double alpha =
          cfg_.policy_period_s > 0 ? std::min(1.0, seg_t_ / cfg_.policy_period_s) : 1.0;
      out.target = interpolate(seg_start_, seg_goal_, alpha);
    } else {
      // Stale or absent policy: hold. A later goal restarts from here.
      out.target = cmd_;
      if (!usable) seg_active_ = false;
    }
  }
  human_last_ = human;
  out.intervention = human;
  out.gripper = gripper_;
  return out;
}

}  // namespace cpp_bridge
