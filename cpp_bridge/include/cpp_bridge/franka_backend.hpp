// Franka arm through libfranka's external control loop (libfranka >= 0.13, FR3):
// startTorqueControl() once, then each tick readOnce() (blocks until the robot's next
// 1 ms packet, so the loop is self-paced) and writeOnce(torques). The external loop
// applies neither libfranka's low-pass filter nor its rate limiter, so this backend
// filters (first order, cutoff configurable) and rate-limits the torques itself.
// Errors (reflexes, communication_constraints_violation) arrive as franka exceptions;
// they become a latched backend fault, and recover() runs automaticErrorRecovery() and
// restarts torque control.
#pragma once

#include <array>
#include <memory>
#include <string>

#include "cpp_bridge/backend.hpp"

namespace franka {
class Robot;
class Model;
class ActiveControlBase;
}  // namespace franka

namespace cpp_bridge {

struct FrankaConfig {
  std::string robot_ip = "172.16.0.2";
  // "fr3" (Franka Research 3) or "panda": chooses the default joint position limits
  // (datasheet) and torque limits. Anything else is refused.
  std::string model = "fr3";
  double lowpass_cutoff_hz = 100.0;  // libfranka's default cutoff for its own filter
  double max_dtau = 1.0;             // Nm per 1 ms packet (the robot's own limit)
  bool enforce_realtime = true;      // false: RealtimeConfig::kIgnore (no RT kernel)
};

class FrankaBackend final : public Backend {
 public:
  /// Connects (throws the SDK's exception when the robot is unreachable).
  explicit FrankaBackend(const FrankaConfig& cfg);
  ~FrankaBackend() override;
  /// Throws std::invalid_argument naming the field and the choices for an unknown model.
  static void validate(const FrankaConfig& cfg);
  const char* name() const override { return "franka"; }
  int dof() const override { return 7; }
  VecJ default_tau_max() const override;
  VecJ default_q_min() const override;
  VecJ default_q_max() const override;
  bool connected() const override { return !net_lost_; }
  bool self_paced() const override { return true; }
  void start() override;
  void stop() override;
  bool read(RobotState& s) override;
  bool write(const Command& c) override;
  bool recover() override;
  const char* last_error() const override { return error_; }

 private:
  void set_error(const char* what);

  FrankaConfig cfg_;
  std::unique_ptr<franka::Robot> robot_;
  std::unique_ptr<franka::Model> model_;
  std::unique_ptr<franka::ActiveControlBase> control_;
  std::array<double, 7> tau_filtered_{};
  std::array<double, 7> tau_sent_{};
  double sample_time_ = 0.001;
  bool panda_ = false;
  bool net_lost_ = false;
  char error_[160] = {0};
};

}  // namespace cpp_bridge
