#include "cpp_bridge/controller.hpp"

#include <Eigen/Cholesky>

#include "cpp_bridge/math.hpp"

namespace cpp_bridge {

namespace {
// Ridge for the damped pseudo-inverse used by the nullspace projector: keeps it bounded
// near singular configurations.
constexpr double kPinvDamping = 1e-6;

void filter_gains(Gains& g, const Gains& target) {
  const double a = target.gain_filter;
  g.stiffness += a * (target.stiffness - g.stiffness);
  g.damping += a * (target.damping - g.damping);
  g.nullspace_stiffness += a * (target.nullspace_stiffness - g.nullspace_stiffness);
  g.nullspace_damping += a * (target.nullspace_damping - g.nullspace_damping);
  // Clip limits and filter rates are safety settings: they apply at once.
  g.error_clip = target.error_clip;
  g.target_filter = target.target_filter;
  g.gain_filter = target.gain_filter;
  g.coriolis_feedforward = target.coriolis_feedforward;
}
}  // namespace

void ImpedanceController::reset(const RobotState& s, const Gains& gains, const VecJ& q_nominal) {
  gains_ = gains;
  target_gains_ = gains;
  filtered_ = s.ee;
  q_nominal_ = q_nominal.size() == s.dof ? q_nominal : s.q;
  wrench_.setZero();
  error_.setZero();
}

void ImpedanceController::compute(const RobotState& s, const Pose& target, VecJ& tau) {
  filter_gains(gains_, target_gains_);
  filtered_ = interpolate(filtered_, target, gains_.target_filter);

  // Pose error (measured - desired): position difference and rotation vector.
  error_.head<3>() = s.ee.p - filtered_.p;
  error_.tail<3>() = rotation_error(s.ee.q, filtered_.q);
  error_ = error_.cwiseMax(-gains_.error_clip).cwiseMin(gains_.error_clip);

  const Vec6 twist = s.jacobian * s.dq;
  wrench_ = -gains_.stiffness.cwiseProduct(error_) - gains_.damping.cwiseProduct(twist);
  tau.noalias() = s.jacobian.transpose() * wrench_;

  if (gains_.nullspace_stiffness != 0.0 || gains_.nullspace_damping != 0.0) {
    // N = I - J^T (J J^T + lambda I)^-1 J projects posture torques out of the task space.
    Eigen::Matrix<double, 6, 6> jjt = s.jacobian * s.jacobian.transpose();
    jjt.diagonal().array() += kPinvDamping;
    const Eigen::LDLT<Eigen::Matrix<double, 6, 6>> ldlt(jjt);
    const VecJ posture = gains_.nullspace_stiffness * (q_nominal_ - s.q) -
                         gains_.nullspace_damping * s.dq;
    const Vec6 jp = s.jacobian * posture;
    const Vec6 x = ldlt.solve(jp);
    tau += posture - s.jacobian.transpose() * x;
  }
  if (gains_.coriolis_feedforward && s.coriolis.size() == tau.size()) tau += s.coriolis;
}

}  // namespace cpp_bridge
