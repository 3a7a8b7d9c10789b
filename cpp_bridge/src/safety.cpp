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

}  // namespace cpp_bridge
