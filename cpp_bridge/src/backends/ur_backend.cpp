#include "cpp_bridge/ur_backend.hpp"

#include <ur_rtde/rtde_control_interface.h>
#include <ur_rtde/rtde_receive_interface.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "cpp_bridge/math.hpp"

namespace cpp_bridge {

namespace {
void copy_error(char* dst, std::size_t n, const char* what) {
  std::strncpy(dst, what, n - 1);
  dst[n - 1] = '\0';
}
}  // namespace

double URBackend::resolve_frequency(const URConfig& cfg) {
  double model_hz = 0.0;
  if (cfg.model == "e-series") {
    model_hz = 500.0;
  } else if (cfg.model == "cb3") {
    model_hz = 125.0;
  } else {
    throw std::invalid_argument("URConfig.model: unknown model '" + cfg.model +
                                "'; choices: 'e-series', 'cb3'");
  }
  if (cfg.command != "servoL" && cfg.command != "servoJ")
    throw std::invalid_argument("URConfig.command: unknown command '" + cfg.command +
                                "'; choices: 'servoL', 'servoJ'");
  if (!(cfg.frequency >= 0) || !std::isfinite(cfg.frequency))
    throw std::invalid_argument("URConfig.frequency must be >= 0 (0: the model's rate)");
  return cfg.frequency > 0 ? cfg.frequency : model_hz;
}

URBackend::URBackend(const URConfig& cfg) : cfg_(cfg) {
  freq_ = resolve_frequency(cfg_);
  servo_j_ = cfg_.command == "servoJ";
  ctrl_ = std::make_unique<ur_rtde::RTDEControlInterface>(cfg_.robot_ip, freq_);
  recv_ = std::make_unique<ur_rtde::RTDEReceiveInterface>(cfg_.robot_ip, freq_);
}

URBackend::~URBackend() = default;

void URBackend::stop() {
  if (ctrl_->isConnected()) {
    ctrl_->servoStop();
    ctrl_->stopScript();
  }
}

bool URBackend::read(RobotState& s) {
  t_cycle_ = ctrl_->initPeriod();
  cycle_open_ = true;
  s.dof = 6;
  s.connected = ctrl_->isConnected() && recv_->isConnected();
  if (!s.connected) {
    copy_error(error_, sizeof(error_), "ur_rtde: not connected");
    return true;
  }
  if (recv_->isProtectiveStopped()) {
    copy_error(error_, sizeof(error_), "ur_rtde: the robot is protective stopped");
    return false;
  }
  const std::vector<double> pose = recv_->getActualTCPPose();
  const std::vector<double> speed = recv_->getActualTCPSpeed();
  const std::vector<double> q = recv_->getActualQ();
  const std::vector<double> qd = recv_->getActualQd();
  const std::vector<double> force = recv_->getActualTCPForce();
  if (pose.size() != 6 || speed.size() != 6 || q.size() != 6 || qd.size() != 6 ||
      force.size() != 6) {
    copy_error(error_, sizeof(error_), "ur_rtde: receive interface returned no data");
    return false;
  }
  s.q.resize(6);
  s.dq.resize(6);
  for (int i = 0; i < 6; ++i) {
    s.q[i] = q[i];
    s.dq[i] = qd[i];
    s.ee_twist[i] = speed[i];
    s.wrench[i] = force[i];
    q_meas_[i] = q[i];
  }
  s.coriolis = VecJ::Zero(6);
  s.jacobian = Jac::Zero(6, 6);  // not used: UR takes poses, not torques
  s.ee.p = Vec3(pose[0], pose[1], pose[2]);
  s.ee.q = rotvec_to_quat(Vec3(pose[3], pose[4], pose[5]));
  s.stamp_s = recv_->getTimestamp();
  wrench_ = s.wrench;
  return true;
}

bool URBackend::write(const Command& c) {
  const double dt = 1.0 / freq_;
  bool ok = true;
  if (c.stop) {
    offset_.setZero();
    offset_vel_.setZero();
    servo_q_.clear();
    ok = ctrl_->servoStop();
  } else {
    // Admittance: M a = F_ext - D v - K x on the offset, semi-implicit Euler.
    Vec6 f = wrench_;
    for (int i = 0; i < 6; ++i) {
      if (std::abs(f[i]) < cfg_.wrench_deadband) f[i] = 0.0;
    }
    const Vec6 acc = (f - c.damping.cwiseProduct(offset_vel_) - c.stiffness.cwiseProduct(offset_))
                         .cwiseQuotient(cfg_.admittance_mass);
    offset_vel_ += acc * dt;
    offset_ += offset_vel_ * dt;
    offset_ = offset_.cwiseMax(-cfg_.max_offset).cwiseMin(cfg_.max_offset);
    const Vec3 p = c.target.p + offset_.head<3>();
    const Quat q = (rotvec_to_quat(offset_.tail<3>()) * c.target.q).normalized();
    const Vec3 r = quat_to_rotvec(q);
    for (int i = 0; i < 3; ++i) {
      servo_pose_[i] = p[i];
      servo_pose_[3 + i] = r[i];
    }
    if (servo_j_) {
      // The controller's IK, seeded with the measured joints (nearest solution). No
      // solution: keep streaming the previous joint target (the arm holds).
      std::vector<double> q;
      try {
        q = ctrl_->getInverseKinematics(servo_pose_, q_meas_);
      } catch (const std::exception&) {
        q.clear();
      }
      bool good = q.size() == 6;
      for (std::size_t i = 0; good && i < q.size(); ++i) good = std::isfinite(q[i]);
      if (good) {
        servo_q_ = q;
      } else {
        ik_failures_ += 1;
        if (servo_q_.empty()) servo_q_ = q_meas_;
      }
      ok = ctrl_->servoJ(servo_q_, 0.0, 0.0, dt, cfg_.lookahead_time, cfg_.servo_gain);
      if (!ok) copy_error(error_, sizeof(error_), "ur_rtde: servoJ rejected the command");
    } else {
      // speed and acceleration are unused by servoL; time = one cycle.
      ok = ctrl_->servoL(servo_pose_, 0.0, 0.0, dt, cfg_.lookahead_time, cfg_.servo_gain);
      if (!ok) copy_error(error_, sizeof(error_), "ur_rtde: servoL rejected the command");
    }
  }
  if (cycle_open_) {
    ctrl_->waitPeriod(t_cycle_);
    cycle_open_ = false;
  }
  return ok;
}

bool URBackend::recover() {
  const bool c = ctrl_->isConnected() || ctrl_->reconnect();
  const bool r = recv_->reconnect();
  offset_.setZero();
  offset_vel_.setZero();
  if (!(c && r)) {
    copy_error(error_, sizeof(error_), "ur_rtde: reconnect failed");
    return false;
  }
  if (recv_->isProtectiveStopped()) {
    copy_error(error_, sizeof(error_), "ur_rtde: still protective stopped (unlock it first)");
    return false;
  }
  error_[0] = '\0';
  return true;
}

}  // namespace cpp_bridge
