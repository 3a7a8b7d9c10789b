// One interface for everything that can be a robot: the test plant, MuJoCo, Franka, UR.
// Methods called from the control thread must not allocate or block longer than a tick
// (self-paced backends block on purpose: their read waits for the robot's next packet).
#pragma once

#include "cpp_bridge/types.hpp"

namespace cpp_bridge {

enum class CommandKind { kTorque, kCartesianPose };

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;
  virtual int dof() const = 0;
  /// Torque limit per joint when the user gives none.
  virtual VecJ default_tau_max() const = 0;
  /// Joint position limits when the user gives none (empty: no joint limits).
  virtual VecJ default_q_min() const { return VecJ(); }
  virtual VecJ default_q_max() const { return VecJ(); }
  virtual CommandKind command_kind() const { return CommandKind::kTorque; }
  /// True when read() blocks until the robot's next cycle (the loop then does not sleep).
  virtual bool self_paced() const { return false; }

  /// Called once in the control thread before the first tick.
  virtual void start() {}
  /// Called once in the control thread after the last tick.
  virtual void stop() {}
  /// Fills `s`; returns false on an SDK error (see last_error()).
  virtual bool read(RobotState& s) = 0;
  /// Sends a command; returns false on an SDK error.
  virtual bool write(const Command& c) = 0;
  /// Simulated backends advance their physics by one period here.
  virtual void advance(double /*dt*/) {}
  /// Clears an SDK error state (libfranka: automaticErrorRecovery). False: still broken.
  virtual bool recover() { return true; }
  virtual const char* last_error() const { return ""; }
  /// False once the SDK reported a lost link (a failed write is then a disconnect).
  virtual bool connected() const { return true; }
};

}  // namespace cpp_bridge
