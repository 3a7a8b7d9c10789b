// A Cartesian rigid body driven directly by a wrench: 6 "joints" = (x, y, z, rotation
// vector), Jacobian = identity, no gravity, no Coriolis. Impedance torques on it have
// closed-form values, so tests can check the controller exactly. Faults can be injected
// from any thread (dropped ticks, delays, disconnects, NaN state, SDK errors).
#pragma once

#include <atomic>
#include <string>

#include "cpp_bridge/backend.hpp"

namespace cpp_bridge {

struct TestPlantConfig {
  double mass = 1.0;        // kg
  double inertia = 0.05;    // kg m^2 (isotropic)
  double damping = 0.0;     // viscous, N s/m and N m s/rad
  double tau_max = 100.0;   // default limit per axis
  Pose initial;
};

class TestPlant final : public Backend {
 public:
  explicit TestPlant(const TestPlantConfig& cfg = {});
  const char* name() const override { return "test"; }
  int dof() const override { return 6; }
  VecJ default_tau_max() const override { return VecJ::Constant(6, cfg_.tau_max); }
  bool read(RobotState& s) override;
  bool write(const Command& c) override;
  void advance(double dt) override;
  bool recover() override;
  const char* last_error() const override { return error_; }

  // ---- fault injection (any thread) ----
  /// The next n ticks are lost: state does not advance, commands are not applied.
  void drop_ticks(int n) { drop_.store(n); }
  /// read() sleeps this long for the next n ticks.
  void delay(double seconds, int n) {
    delay_s_.store(seconds);
    delay_n_.store(n);
  }
  void set_connected(bool c) { connected_.store(c); }
  /// The next read delivers NaN joint positions.
  void inject_nan() { nan_.store(true); }
  /// read() fails with an SDK-like error until recover().
  void inject_error() { sdk_error_.store(true); }

  // ---- inspection (tests) ----
  const Pose& pose() const { return pose_; }
  const Vec6& velocity() const { return vel_; }
  const Vec6& applied() const { return applied_; }
  int recover_calls() const { return recover_calls_.load(); }
  void set_pose(const Pose& p) { pose_ = p; }
  void set_velocity(const Vec6& v) { vel_ = v; }

 private:
  TestPlantConfig cfg_;
  Pose pose_;
  Vec6 vel_ = Vec6::Zero();
  Vec6 applied_ = Vec6::Zero();
  double time_ = 0.0;
  std::atomic<int> drop_{0};
  std::atomic<double> delay_s_{0.0};
  std::atomic<int> delay_n_{0};
  std::atomic<bool> connected_{true};
  std::atomic<bool> nan_{false};
  std::atomic<bool> sdk_error_{false};
  std::atomic<int> recover_calls_{0};
  const char* error_ = "";
};

}  // namespace cpp_bridge
