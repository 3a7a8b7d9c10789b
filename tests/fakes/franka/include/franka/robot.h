// Fake libfranka (test double): franka::Robot with the calls the bridge makes.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include <franka/active_control_base.h>
#include <franka/control_types.h>
#include <franka/model.h>
#include <franka/robot_state.h>

namespace franka {

class Robot {
 public:
  explicit Robot(const std::string& franka_address,
                 RealtimeConfig realtime_config = RealtimeConfig::kEnforce,
                 size_t log_size = 50);
  ~Robot();
  Model loadModel();
  void automaticErrorRecovery();
  std::unique_ptr<ActiveControlBase> startTorqueControl();
  RobotState readOnce();
  void stop();
};

}  // namespace franka
