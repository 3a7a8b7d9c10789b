// Fake libfranka (test double): the external control loop interface (libfranka >= 0.13).
#pragma once

#include <utility>

#include <franka/control_types.h>
#include <franka/duration.h>
#include <franka/exception.h>
#include <franka/robot_state.h>

namespace franka {

class ActiveControlBase {
 public:
  virtual ~ActiveControlBase() = default;
  /// Blocks until the next robot state; throws ControlException on reflexes.
  virtual std::pair<RobotState, Duration> readOnce() = 0;
  virtual void writeOnce(const Torques& control_input) = 0;
};

}  // namespace franka
