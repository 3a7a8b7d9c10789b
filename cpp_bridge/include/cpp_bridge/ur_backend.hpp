// Universal Robots arm through ur_rtde at 500 Hz. UR has no torque interface, so the
// impedance interface becomes admittance: the measured TCP wrench drives a virtual
// mass-spring-damper (the same stiffness and damping as the impedance gains) whose
// offset is added to the commanded target, and the result is streamed with servoL.
// Each tick: initPeriod(), read the receive interface, servoL, waitPeriod() (the loop is
// self-paced). Connection loss is silent in ur_rtde (getters keep returning the last
// values), so read() reports isConnected() and the timestamp, and the loop's backend
// watchdog faults when the timestamp stops advancing.
// Note: ur_rtde's getters return std::vector by value, so this backend allocates per tick
// inside the SDK calls; nothing else in the tick does.
#pragma once

#include <chrono>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "cpp_bridge/backend.hpp"

namespace ur_rtde {
class RTDEControlInterface;
class RTDEReceiveInterface;
}  // namespace ur_rtde

namespace cpp_bridge {

struct URConfig {
  std::string robot_ip = "192.168.1.10";
  // "e-series" (500 Hz RTDE) or "cb3" (125 Hz). Anything else is refused.
  std::string model = "e-series";
  // "servoL" (Cartesian target streamed as is) or "servoJ" (the target through the
  // controller's inverse kinematics, getInverseKinematics, seeded with the measured q).
  std::string command = "servoL";
  double frequency = 0.0;       // RTDE rate, Hz; 0: the model's (500 e-series, 125 cb3)
  double lookahead_time = 0.1;  // servoL smoothing, [0.03, 0.2] s
  double servo_gain = 300.0;    // servoL proportional gain, [100, 2000]
  Vec6 admittance_mass = (Vec6() << 2, 2, 2, 0.05, 0.05, 0.05).finished();
  double wrench_deadband = 2.0;  // N and Nm below which measured wrench is ignored
  double max_offset = 0.05;      // m / rad: bound of the admittance offset
  double stale_timeout_s = 0.02; // unused by the loop (its watchdog applies); kept for tools
};

class URBackend final : public Backend {
 public:
  /// Connects both RTDE interfaces (throws the SDK's exception when unreachable).
  explicit URBackend(const URConfig& cfg);
  ~URBackend() override;
  /// Throws std::invalid_argument naming the field and the choices for an unknown model
  /// or command; returns the RTDE frequency (the model's when cfg.frequency is 0).
  static double resolve_frequency(const URConfig& cfg);
  const char* name() const override { return "ur"; }
  int dof() const override { return 6; }
  VecJ default_tau_max() const override { return VecJ::Constant(6, 1000.0); }
  /// e-Series and CB3 joints all turn +-360 degrees (datasheets).
  VecJ default_q_min() const override { return VecJ::Constant(6, -2.0 * M_PI); }
  VecJ default_q_max() const override { return VecJ::Constant(6, 2.0 * M_PI); }
  double frequency() const { return freq_; }
  /// servoJ ticks whose target had no IK solution (the previous joint target was kept).
  int ik_failures() const { return ik_failures_; }
  CommandKind command_kind() const override { return CommandKind::kCartesianPose; }
  bool self_paced() const override { return true; }
  void stop() override;
  bool read(RobotState& s) override;
  bool write(const Command& c) override;
  bool recover() override;
  const char* last_error() const override { return error_; }

  /// The admittance offset (position, rotation vector) currently added to the target.
  const Vec6& admittance_offset() const { return offset_; }

 private:
  URConfig cfg_;
  std::unique_ptr<ur_rtde::RTDEControlInterface> ctrl_;
  std::unique_ptr<ur_rtde::RTDEReceiveInterface> recv_;
  std::chrono::steady_clock::time_point t_cycle_;
  std::vector<double> servo_pose_ = std::vector<double>(6, 0.0);
  std::vector<double> servo_q_;                                  // last servoJ target
  std::vector<double> q_meas_ = std::vector<double>(6, 0.0);     // IK seed
  double freq_ = 500.0;
  bool servo_j_ = false;
  int ik_failures_ = 0;
  Vec6 wrench_ = Vec6::Zero();
  Vec6 offset_ = Vec6::Zero();
  Vec6 offset_vel_ = Vec6::Zero();
  bool cycle_open_ = false;
  char error_[160] = {0};
};

}  // namespace cpp_bridge
