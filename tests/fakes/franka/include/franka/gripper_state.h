// Fake libfranka (test double): franka::GripperState, as in libfranka's gripper_state.h.
#pragma once

#include <cstdint>

#include <franka/duration.h>

namespace franka {

struct GripperState {
  double width{};       // current finger opening, m
  double max_width{};   // opening measured by homing, m
  bool is_grasped{};    // an object is held (the grasp's width window was met)
  uint16_t temperature{};  // degrees Celsius
  Duration time{};
};

}  // namespace franka
