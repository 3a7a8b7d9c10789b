// Fake libfranka (test double): franka::Model (Jacobian and Coriolis only).
#pragma once

#include <array>

#include <franka/robot_state.h>

namespace franka {

enum class Frame {
  kJoint1, kJoint2, kJoint3, kJoint4, kJoint5, kJoint6, kJoint7,
  kFlange, kEndEffector, kStiffness
};

class Model {
 public:
  /// 6x7 base-frame Jacobian, column-major.
  std::array<double, 42> zeroJacobian(Frame frame, const franka::RobotState& robot_state) const;
  std::array<double, 7> coriolis(const franka::RobotState& robot_state) const noexcept;
};

}  // namespace franka
