#include "cpp_bridge/franka_backend.hpp"

#include <franka/active_control_base.h>
#include <franka/exception.h>
#include <franka/model.h>
#include <franka/robot.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

namespace cpp_bridge {

namespace {
// Datasheet joint position limits (rad).
constexpr double kFr3QMin[7] = {-2.7437, -1.7837, -2.9007, -3.0421, -2.8065, 0.5445, -3.0159};
constexpr double kFr3QMax[7] = {2.7437, 1.7837, 2.9007, -0.1518, 2.8065, 4.5169, 3.0159};
constexpr double kPandaQMin[7] = {-2.8973, -1.7628, -2.8973, -3.0718, -2.8973, -0.0175, -2.8973};
constexpr double kPandaQMax[7] = {2.8973, 1.7628, 2.8973, -0.0698, 2.8973, 3.7525, 2.8973};
// Datasheet torque limits (Nm), the same for both arms.
constexpr double kTauMax[7] = {87, 87, 87, 87, 12, 12, 12};

VecJ vec7(const double* v) {
  VecJ out(7);
  for (int i = 0; i < 7; ++i) out[i] = v[i];
  return out;
}
}  // namespace

void FrankaBackend::validate(const FrankaConfig& cfg) {
  if (cfg.model != "fr3" && cfg.model != "panda")
    throw std::invalid_argument("FrankaConfig.model: unknown model '" + cfg.model +
                                "'; choices: 'fr3', 'panda'");
  if (!(cfg.lowpass_cutoff_hz > 0) || !(cfg.max_dtau > 0))
    throw std::invalid_argument("FrankaConfig: lowpass_cutoff_hz and max_dtau must be > 0");
}

FrankaBackend::FrankaBackend(const FrankaConfig& cfg) : cfg_(cfg) {
  validate(cfg_);
  panda_ = cfg_.model == "panda";
  robot_ = std::make_unique<franka::Robot>(
      cfg_.robot_ip,
      cfg_.enforce_realtime ? franka::RealtimeConfig::kEnforce : franka::RealtimeConfig::kIgnore);
  model_ = std::make_unique<franka::Model>(robot_->loadModel());
}

FrankaBackend::~FrankaBackend() = default;

VecJ FrankaBackend::default_tau_max() const { return vec7(kTauMax); }
VecJ FrankaBackend::default_q_min() const { return vec7(panda_ ? kPandaQMin : kFr3QMin); }
VecJ FrankaBackend::default_q_max() const { return vec7(panda_ ? kPandaQMax : kFr3QMax); }

void FrankaBackend::set_error(const char* what) {
  std::strncpy(error_, what, sizeof(error_) - 1);
  error_[sizeof(error_) - 1] = '\0';
}

void FrankaBackend::start() {
  try {
    control_ = robot_->startTorqueControl();
    tau_filtered_.fill(0.0);
    tau_sent_.fill(0.0);
  } catch (const franka::NetworkException& e) {
    set_error(e.what());
    net_lost_ = true;
    control_.reset();
  } catch (const franka::Exception& e) {
    set_error(e.what());
    control_.reset();
  }
}

void FrankaBackend::stop() {
  if (!control_) return;
  try {
    franka::Torques zero(std::array<double, 7>{});
    zero.motion_finished = true;
    control_->writeOnce(zero);
  } catch (const franka::Exception& e) {
    set_error(e.what());
  }
  control_.reset();
}

bool FrankaBackend::read(RobotState& s) {
  if (!control_) {
    if (!error_[0]) set_error("franka: torque control is not running");
    return false;
  }
  try {
    const auto [st, period] = control_->readOnce();
    sample_time_ = period.toSec() > 0 ? period.toSec() : 0.001;
    s.dof = 7;
    s.q.resize(7);
    s.dq.resize(7);
    s.coriolis.resize(7);
    s.jacobian.resize(6, 7);
    const std::array<double, 42> jac = model_->zeroJacobian(franka::Frame::kEndEffector, st);
    const std::array<double, 7> cor = model_->coriolis(st);
    for (int i = 0; i < 7; ++i) {
      s.q[i] = st.q[i];
      s.dq[i] = st.dq[i];
      s.coriolis[i] = cor[i];
      for (int r = 0; r < 6; ++r) s.jacobian(r, i) = jac[i * 6 + r];  // column-major
    }
    const auto& T = st.O_T_EE;  // column-major 4x4
    s.ee.p = Vec3(T[12], T[13], T[14]);
    Eigen::Matrix3d R;
    R << T[0], T[4], T[8], T[1], T[5], T[9], T[2], T[6], T[10];
    s.ee.q = Quat(R).normalized();
    s.ee_twist = s.jacobian * s.dq;
    for (int i = 0; i < 6; ++i) s.wrench[i] = st.O_F_ext_hat_K[i];
    s.stamp_s = st.time.toSec();
    s.connected = true;
    return true;
  } catch (const franka::NetworkException& e) {
    set_error(e.what());
    control_.reset();
    net_lost_ = true;
    s.connected = false;
    return true;  // reported as a disconnect, not an SDK error
  } catch (const franka::Exception& e) {
    set_error(e.what());
    control_.reset();
    return false;
  }
}

bool FrankaBackend::write(const Command& c) {
  if (!control_) return true;  // faulted: the robot has stopped itself
  // First-order low-pass (libfranka's lowpassFilter form), then our own rate limit.
  const double k = sample_time_ / (sample_time_ + 1.0 / (2.0 * M_PI * cfg_.lowpass_cutoff_hz));
  std::array<double, 7> out{};
  for (int i = 0; i < 7; ++i) {
    const double target = c.stop ? 0.0 : c.tau[i];
    tau_filtered_[i] += k * (target - tau_filtered_[i]);
    const double d = std::clamp(tau_filtered_[i] - tau_sent_[i], -cfg_.max_dtau, cfg_.max_dtau);
    out[i] = tau_sent_[i] + d;
  }
  try {
    control_->writeOnce(franka::Torques(out));
    tau_sent_ = out;
    return true;
  } catch (const franka::NetworkException& e) {
    set_error(e.what());
    control_.reset();
    net_lost_ = true;  // the loop latches a disconnect, not an SDK error
    return false;
  } catch (const franka::Exception& e) {
    set_error(e.what());
    control_.reset();
    return false;
  }
}

bool FrankaBackend::recover() {
  try {
    control_.reset();
    robot_->automaticErrorRecovery();
    control_ = robot_->startTorqueControl();
    tau_filtered_.fill(0.0);
    tau_sent_.fill(0.0);
    error_[0] = '\0';
    net_lost_ = false;
    return true;
  } catch (const franka::Exception& e) {
    set_error(e.what());
    control_.reset();
    return false;
  }
}

}  // namespace cpp_bridge
