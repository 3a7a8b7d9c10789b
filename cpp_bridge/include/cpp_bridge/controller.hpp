// Cartesian impedance controller: tau = J^T(-K e - D J dq) + nullspace posture + coriolis.
//
// The error is clipped per axis so a stiff spring stays bounded in contact; targets and
// gains are low-pass filtered so step changes from the policy or from set_gains arrive as
// smooth ramps. Torque rate/limit saturation lives in Safety so it also covers the stop
// command issued under a fault.
#pragma once

#include "cpp_bridge/config.hpp"
#include "cpp_bridge/types.hpp"

namespace cpp_bridge {

class ImpedanceController {
 public:
  /// Starts filters at the measured pose and at `gains` (no ramp on start-up).
  void reset(const RobotState& s, const Gains& gains, const VecJ& q_nominal);

  /// New gains to ramp toward (filtered per tick by gains.gain_filter).
  void set_gains(const Gains& g) { target_gains_ = g; }

  /// Desired joint torques for this tick, before rate and magnitude limits.
  void compute(const RobotState& s, const Pose& target, VecJ& tau);

  /// Cartesian wrench of the last compute (for admittance backends and tests).
  const Vec6& wrench() const { return wrench_; }
  const Vec6& error() const { return error_; }
  const Pose& filtered_target() const { return filtered_; }
  const Gains& gains() const { return gains_; }

 private:
  Gains gains_;
  Gains target_gains_;
  Pose filtered_;
  VecJ q_nominal_;
  Vec6 wrench_ = Vec6::Zero();
  Vec6 error_ = Vec6::Zero();
};

}  // namespace cpp_bridge
