#include "cpp_bridge/mujoco_backend.hpp"

#include <cmath>
#include <stdexcept>

namespace cpp_bridge {

namespace {

void require(bool ok, const std::string& what) {
  if (!ok) throw std::invalid_argument("mujoco backend: " + what);
}

// Row-major 3x3 rotation (MuJoCo's xmat) to a unit quaternion.
Quat quat_of(const double* m) {
  Eigen::Matrix3d r;
  r << m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7], m[8];
  Quat q(r);
  q.normalize();
  return q;
}

}  // namespace

MujocoBackend::MujocoBackend(const MujocoView& view, const MujocoConfig& cfg)
    : v_(view), cfg_(cfg) {
  require(v_.model && v_.data, "null model or data pointer");
  require(v_.api.step1 && v_.api.step2 && v_.api.jac_site,
          "mj_step1, mj_step2 and mj_jacSite of the loaded libmujoco are required");
  require(v_.qpos && v_.qvel && v_.qfrc_bias && v_.qfrc_applied && v_.site_xpos &&
              v_.site_xmat && (v_.nu == 0 || v_.ctrl),
          "null array address in the view");
  require(v_.timestep > 0.0, "the model's timestep must be positive");
  const int n = static_cast<int>(v_.qpos_adr.size());
  require(n >= 1 && n <= kMaxDof, "between 1 and 7 joints required");
  require(v_.dof_adr.size() == v_.qpos_adr.size(), "one dof address per joint required");
  for (int i = 0; i < n; ++i) {
    require(v_.qpos_adr[i] >= 0 && v_.qpos_adr[i] < v_.nq,
            "qpos address of joint " + std::to_string(i) + " out of range");
    require(v_.dof_adr[i] >= 0 && v_.dof_adr[i] < v_.nv,
            "dof address of joint " + std::to_string(i) + " out of range");
  }
  require(v_.site >= 0 && v_.site < v_.nsite, "end-effector site index out of range");
  require(v_.gripper < v_.nu, "gripper actuator index out of range");
  if (cfg_.tau_max.size() == n) {
    tau_max_ = cfg_.tau_max;
  } else if (cfg_.tau_max.size() == 0) {
    tau_max_ = VecJ::Constant(n, 87.0);
    for (int i = 4; i < n; ++i) tau_max_[i] = 12.0;
  } else {
    throw std::invalid_argument("mujoco backend: tau_max needs one entry per joint");
  }
  jacp_.assign(3 * v_.nv, 0.0);
  jacr_.assign(3 * v_.nv, 0.0);
  stamp_ = v_.time ? *v_.time : 0.0;
}

bool MujocoBackend::read(RobotState& s) {
  v_.api.step1(v_.model, v_.data);  // positions/velocities of this state; fills qfrc_bias
  stepped1_ = true;
  const int n = dof();
  s.dof = n;
  s.q.resize(n);
  s.dq.resize(n);
  s.coriolis = VecJ::Zero(n);  // compensated in write() through qfrc_bias
  s.jacobian.resize(6, n);
  v_.api.jac_site(v_.model, v_.data, jacp_.data(), jacr_.data(), v_.site);
  for (int i = 0; i < n; ++i) {
    const int dof = v_.dof_adr[i];
    s.q[i] = v_.qpos[v_.qpos_adr[i]];
    s.dq[i] = v_.qvel[dof];
    for (int r = 0; r < 3; ++r) {
      s.jacobian(r, i) = jacp_[r * v_.nv + dof];
      s.jacobian(3 + r, i) = jacr_[r * v_.nv + dof];
    }
  }
  const double* x = v_.site_xpos + 3 * v_.site;
  s.ee.p = Vec3(x[0], x[1], x[2]);
  s.ee.q = quat_of(v_.site_xmat + 9 * v_.site);
  s.ee_twist = s.jacobian * s.dq;
  s.stamp_s = v_.time ? *v_.time : stamp_;
  s.connected = true;
  return true;
}

bool MujocoBackend::write(const Command& c) {
  const int n = dof();
  for (int i = 0; i < n; ++i) {
    const int dof = v_.dof_adr[i];
    v_.qfrc_applied[dof] = c.tau[i] + (cfg_.gravity_compensation ? v_.qfrc_bias[dof] : 0.0);
  }
  if (v_.gripper >= 0 && c.gripper >= 0) {  // negative: no gripper command yet
    const double g = std::fmin(1.0, std::fmax(0.0, c.gripper));
    v_.ctrl[v_.gripper] = v_.gripper_lo + g * (v_.gripper_hi - v_.gripper_lo);
  }
  return true;
}

void MujocoBackend::advance(double dt) {
  // The bridge period must equal the model's timestep for the loop to be real time.
  (void)dt;
  if (!stepped1_) v_.api.step1(v_.model, v_.data);
  v_.api.step2(v_.model, v_.data);
  stepped1_ = false;
  stamp_ += v_.timestep;
}

}  // namespace cpp_bridge
