#include "cpp_bridge/safety.hpp"

#include <algorithm>
#include <cmath>

#include "cpp_bridge/math.hpp"

namespace cpp_bridge {

bool Safety::pose_ok(const Pose& p) {
  if (!p.p.allFinite() || !p.q.coeffs().allFinite()) return false;
  const double n = p.q.norm();
  return n > 1e-6;
}

bool Safety::clip_target(const Pose& prev, const Pose& desired, double dt, Pose& out) const {
  if (!pose_ok(desired)) {
    out = prev;
    return true;
  }
  Pose d = desired;
  d.q.normalize();
  bool clipped = false;
  // Speed: at most max_speed * dt per tick.
  const double max_lin = lim_.max_lin_speed * dt;
  const double max_ang = lim_.max_ang_speed * dt;
  const double lin = (d.p - prev.p).norm();
  const double ang = rotation_error(d.q, prev.q).norm();
  if (lin > max_lin * (1 + 1e-9) || ang > max_ang * (1 + 1e-9)) clipped = true;
  out = step_toward(prev, d, max_lin, max_ang);
  // Orientation cone around the reference.
  const Vec3 r = rotation_error(out.q, lim_.orientation_ref);
  const double a = r.norm();
  if (a > lim_.max_orientation_error) {
    out.q = (rotvec_to_quat(r * (lim_.max_orientation_error / a)) * lim_.orientation_ref)
                .normalized();
    clipped = true;
  }
  // Box last, so the result is always inside it.
  const Vec3 p = out.p.cwiseMax(lim_.box_min).cwiseMin(lim_.box_max);
  if (p != out.p) clipped = true;
  out.p = p;
  return clipped;
}

bool Safety::target_inside(const Pose& p) const {
  constexpr double tol = 1e-9;
  if (!pose_ok(p)) return false;
  if ((p.p.array() < lim_.box_min.array() - tol).any()) return false;
  if ((p.p.array() > lim_.box_max.array() + tol).any()) return false;
  return rotation_error(p.q, lim_.orientation_ref).norm() <= lim_.max_orientation_error + 1e-6;
}

void Safety::limit_torque(const VecJ& desired, const VecJ& prev, VecJ& out) const {
  const double r = lim_.max_dtau;
  out.resize(desired.size());
  for (int i = 0; i < desired.size(); ++i) {
    const double lim = i < lim_.tau_max.size() ? lim_.tau_max[i] : 0.0;
    double d = std::isfinite(desired[i]) ? desired[i] : prev[i];
    d = std::clamp(d, -lim, lim);
    out[i] = prev[i] + std::clamp(d - prev[i], -r, r);
  }
}

bool Safety::target_jump_ok(const Pose& current, const Pose& target) const {
  if ((target.p - current.p).norm() > lim_.max_target_jump_m) return false;
  return rotation_error(target.q.normalized(), current.q).norm() <= lim_.max_target_jump_rad;
}

int Safety::joint_beyond_limit(const VecJ& q) const {
  const int n = std::min<int>(static_cast<int>(q.size()), static_cast<int>(lim_.q_min.size()));
  for (int i = 0; i < n; ++i) {
    if (q[i] < lim_.q_min[i] || q[i] > lim_.q_max[i]) return i;
  }
  return -1;
}

bool Safety::joints_in_margin(const VecJ& q) const {
  const int n = std::min<int>(static_cast<int>(q.size()), static_cast<int>(lim_.q_min.size()));
  for (int i = 0; i < n; ++i) {
    if (q[i] < lim_.q_min[i] + lim_.joint_margin || q[i] > lim_.q_max[i] - lim_.joint_margin)
      return true;
  }
  return false;
}

bool Safety::add_joint_repulsion(const VecJ& q, const VecJ& dq, VecJ& tau) const {
  const int n = std::min<int>(static_cast<int>(std::min(q.size(), tau.size())),
                              static_cast<int>(lim_.q_min.size()));
  bool acted = false;
  for (int i = 0; i < n; ++i) {
    const double lo = lim_.q_min[i] + lim_.joint_margin;
    const double hi = lim_.q_max[i] - lim_.joint_margin;
    const double v = i < dq.size() ? dq[i] : 0.0;
    if (q[i] < lo) {
      tau[i] += lim_.joint_limit_stiffness * (lo - q[i]) - lim_.joint_limit_damping * std::min(v, 0.0);
      acted = true;
    } else if (q[i] > hi) {
      tau[i] -= lim_.joint_limit_stiffness * (q[i] - hi) + lim_.joint_limit_damping * std::max(v, 0.0);
      acted = true;
    }
  }
  return acted;
}

}  // namespace cpp_bridge
