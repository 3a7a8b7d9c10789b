// Fake libfranka (test double): franka::Gripper with libfranka's signatures. move and
// grasp complete at once (the real ones block until the fingers stop).
#pragma once

#include <cstdint>
#include <string>

#include <franka/gripper_state.h>

namespace franka {

class Gripper {
 public:
  using ServerVersion = uint16_t;
  /// Connects; throws NetworkException when the robot is unreachable.
  explicit Gripper(const std::string& franka_address);
  ~Gripper();
  bool homing() const;
  bool grasp(double width, double speed, double force, double epsilon_inner = 0.005,
             double epsilon_outer = 0.005) const;
  bool move(double width, double speed) const;
  bool stop() const;
  GripperState readOnce() const;
  ServerVersion serverVersion() const noexcept { return 3; }
};

}  // namespace franka
