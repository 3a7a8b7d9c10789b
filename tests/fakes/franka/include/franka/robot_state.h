// Fake libfranka (test double): the RobotState fields the bridge reads.
#pragma once

#include <array>

#include <franka/duration.h>

namespace franka {

enum class RobotMode {
  kOther,
  kIdle,
  kMove,
  kGuiding,
  kReflex,
  kUserStopped,
  kAutomaticErrorRecovery
};

struct RobotState {
  std::array<double, 16> O_T_EE{};  // column-major homogeneous transform
  std::array<double, 7> q{};
  std::array<double, 7> dq{};
  std::array<double, 7> tau_J{};
  std::array<double, 6> O_F_ext_hat_K{};
  RobotMode robot_mode = RobotMode::kOther;
  Duration time{};
};

}  // namespace franka
