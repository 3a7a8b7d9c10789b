// Small rotation helpers. Rotation errors are rotation vectors (axis * angle) so they
// compose with gains per axis; quaternions are kept in the w >= 0 hemisphere.
#pragma once

#include <cmath>

#include "cpp_bridge/types.hpp"

namespace cpp_bridge {

/// Rotation vector of a unit quaternion (shortest rotation).
inline Vec3 quat_to_rotvec(Quat q) {
  if (q.w() < 0) q.coeffs() *= -1.0;
  const double s = q.vec().norm();
  if (s < 1e-12) return 2.0 * q.vec();
  const double angle = 2.0 * std::atan2(s, q.w());
  return q.vec() * (angle / s);
}

/// Unit quaternion of a rotation vector.
inline Quat rotvec_to_quat(const Vec3& r) {
  const double angle = r.norm();
  if (angle < 1e-12) {
    Quat q(1.0, 0.5 * r.x(), 0.5 * r.y(), 0.5 * r.z());
    q.normalize();
    return q;
  }
  return Quat(Eigen::AngleAxisd(angle, r / angle));
}

/// Rotation vector taking b to a, in the base frame: a = exp(err) * b.
inline Vec3 rotation_error(const Quat& a, const Quat& b) { return quat_to_rotvec(a * b.conjugate()); }

inline bool all_finite(const Vec3& v) { return v.allFinite(); }
inline bool all_finite(const Quat& q) { return q.coeffs().allFinite(); }
inline bool all_finite(const Pose& p) { return p.p.allFinite() && p.q.coeffs().allFinite(); }

/// Moves `from` toward `to` by at most `max_lin` metres and `max_ang` radians.
inline Pose step_toward(const Pose& from, const Pose& to, double max_lin, double max_ang) {
  Pose out;
  Vec3 dp = to.p - from.p;
  const double n = dp.norm();
  if (n > max_lin) dp *= max_lin / n;
  out.p = from.p + dp;
  Vec3 dr = rotation_error(to.q, from.q);
  const double a = dr.norm();
  if (a > max_ang) dr *= max_ang / a;
  out.q = (rotvec_to_quat(dr) * from.q).normalized();
  return out;
}

/// Interpolates between two poses (linear position, slerp orientation), alpha in [0, 1].
inline Pose interpolate(const Pose& a, const Pose& b, double alpha) {
  Pose out;
  out.p = a.p + alpha * (b.p - a.p);
  out.q = a.q.slerp(alpha, b.q).normalized();
  return out;
}

}  // namespace cpp_bridge
