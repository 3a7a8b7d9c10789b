#include "cpp_bridge/mujoco_backend.hpp"

#include <cmath>
#include <stdexcept>

namespace cpp_bridge {

MujocoBackend::MujocoBackend(const mjModel* m, mjData* d, const MujocoConfig& cfg)
    : m_(m), d_(d), cfg_(cfg) {
  if (!m_ || !d_) throw std::invalid_argument("mujoco backend: null model or data pointer");
  if (cfg_.joints.empty() || static_cast<int>(cfg_.joints.size()) > kMaxDof)
    throw std::invalid_argument("mujoco backend: between 1 and 7 joints required");
  for (const auto& j : cfg_.joints) {
    const int id = mj_name2id(m_, mjOBJ_JOINT, j.c_str());
    if (id < 0) throw std::invalid_argument("mujoco backend: no joint named '" + j + "'");
    if (m_->jnt_type[id] != mjJNT_HINGE && m_->jnt_type[id] != mjJNT_SLIDE)
      throw std::invalid_argument("mujoco backend: joint '" + j + "' must be hinge or slide");
    qadr_.push_back(m_->jnt_qposadr[id]);
    vadr_.push_back(m_->jnt_dofadr[id]);
  }
  site_ = mj_name2id(m_, mjOBJ_SITE, cfg_.site.c_str());
  if (site_ < 0) throw std::invalid_argument("mujoco backend: no site named '" + cfg_.site + "'");
  if (!cfg_.gripper_actuator.empty())
    gripper_ = mj_name2id(m_, mjOBJ_ACTUATOR, cfg_.gripper_actuator.c_str());
  if (m_->opt.integrator == mjINT_RK4)
    throw std::invalid_argument("mujoco backend: the RK4 integrator is not supported");
  const int n = dof();
  if (cfg_.tau_max.size() == n) {
    tau_max_ = cfg_.tau_max;
  } else if (cfg_.tau_max.size() == 0) {
    tau_max_ = VecJ::Constant(n, 87.0);
    for (int i = 4; i < n; ++i) tau_max_[i] = 12.0;
  } else {
    throw std::invalid_argument("mujoco backend: tau_max needs one entry per joint");
  }
  jacp_.assign(3 * m_->nv, 0.0);
  jacr_.assign(3 * m_->nv, 0.0);
}

bool MujocoBackend::read(RobotState& s) {
  mj_step1(m_, d_);  // positions/velocities of the current state; fills qfrc_bias
  stepped1_ = true;
  const int n = dof();
  s.dof = n;
  s.q.resize(n);
  s.dq.resize(n);
  s.coriolis = VecJ::Zero(n);  // compensated in write() through qfrc_bias
  s.jacobian.resize(6, n);
  mj_jacSite(m_, d_, jacp_.data(), jacr_.data(), site_);
  for (int i = 0; i < n; ++i) {
    s.q[i] = d_->qpos[qadr_[i]];
    s.dq[i] = d_->qvel[vadr_[i]];
    for (int r = 0; r < 3; ++r) {
      s.jacobian(r, i) = jacp_[r * m_->nv + vadr_[i]];
      s.jacobian(3 + r, i) = jacr_[r * m_->nv + vadr_[i]];
    }
  }
  const mjtNum* x = d_->site_xpos + 3 * site_;
  s.ee.p = Vec3(x[0], x[1], x[2]);
  mjtNum quat[4];
  mju_mat2Quat(quat, d_->site_xmat + 9 * site_);
  s.ee.q = Quat(quat[0], quat[1], quat[2], quat[3]);
  s.ee_twist = s.jacobian * s.dq;
  s.stamp_s = d_->time;
  s.connected = true;
  return true;
}

bool MujocoBackend::write(const Command& c) {
  const int n = dof();
  for (int i = 0; i < n; ++i) {
    const int v = vadr_[i];
    d_->qfrc_applied[v] = c.tau[i] + (cfg_.gravity_compensation ? d_->qfrc_bias[v] : 0.0);
  }
  if (gripper_ >= 0 && c.gripper >= 0) {  // negative: no gripper command yet
    const mjtNum* range = m_->actuator_ctrlrange + 2 * gripper_;
    const double g = std::fmin(1.0, std::fmax(0.0, c.gripper));
    d_->ctrl[gripper_] = range[0] + g * (range[1] - range[0]);
  }
  return true;
}

void MujocoBackend::advance(double dt) {
  // The bridge period must equal the model's timestep for the loop to be real time.
  (void)dt;
  if (!stepped1_) mj_step1(m_, d_);
  mj_step2(m_, d_);
  stepped1_ = false;
}

}  // namespace cpp_bridge
