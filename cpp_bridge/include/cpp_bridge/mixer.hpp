// Arbitration between the policy (absolute goals at ~10 Hz) and a human (twists at
// ~100 Hz). The mixer owns the commanded target and only ever moves it continuously:
// policy goals are interpolated from where the target is now, teleop twists are
// integrated from where the target is now, so control changes hands without a jump.
#pragma once

#include <cstdint>

#include "cpp_bridge/config.hpp"
#include "cpp_bridge/types.hpp"

namespace cpp_bridge {

struct MixerOutput {
  Pose target;
  bool intervention = false;  // the human drove this tick
  double gripper = 0.0;
};

class Mixer {
 public:
  /// `ignore_current_goal`: after a fault recovery the last goal is history and is not
  /// pursued; at start-up a goal written before the first tick is.
  void reset(const Pose& current, double gripper, bool ignore_current_goal);
  void configure(const MixerConfig& c) { cfg_ = c; }
  /// Policy goals with seq <= `seq` are not pursued (after a reset or a recovery).
  void ignore_through(std::uint64_t seq) { seen_seq_ = seq; }

  /// One tick. `*_fresh` come from the watchdogs: a stale policy holds, a stale teleop
  /// input contributes no motion.
  MixerOutput update(Mode mode, const PolicyTarget& policy, bool policy_fresh,
                     const TeleopInput& teleop, bool teleop_fresh, double dt);

  /// The measured end-effector pose of this tick (bounds the human's lead).
  void set_measured(const Pose& ee) {
    measured_ = ee;
    have_measured_ = true;
  }

  /// The safety layer may have clipped the proposal; the mixer continues from that.
  void commit(const Pose& commanded) { cmd_ = commanded; }

  /// True when the input is outside the deadband (and the button is held if required).
  bool teleop_active(const TeleopInput& t, bool fresh) const;

 private:
  void start_segment(const PolicyTarget& p);

  MixerConfig cfg_;
  Pose cmd_;
  Pose measured_;
  bool have_measured_ = false;
  Pose seg_start_, seg_goal_;
  double seg_t_ = 0.0;
  bool seg_active_ = false;
  std::uint64_t seen_seq_ = 0;
  bool human_last_ = false;
  double gripper_ = 0.0;
};

}  // namespace cpp_bridge
