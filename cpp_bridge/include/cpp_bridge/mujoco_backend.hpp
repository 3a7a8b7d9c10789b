// Drives an mjModel/mjData owned by someone else (typically Python's mujoco.MjModel /
// MjData, passed by their C addresses) so the very simulation Python renders is the one
// under control. Joints and the end-effector site are looked up by name.
//
// Each tick: read() runs mj_step1 (kinematics, Jacobian, bias forces for the current
// state), write() puts tau + qfrc_bias (gravity and Coriolis compensated) into
// qfrc_applied, advance() runs mj_step2. The model must use the Euler or implicit
// integrator (mj_step1/mj_step2 do not support RK4).
#pragma once

#include <mujoco/mujoco.h>

#include <string>
#include <vector>

#include "cpp_bridge/backend.hpp"

namespace cpp_bridge {

struct MujocoConfig {
  std::vector<std::string> joints = {"joint1", "joint2", "joint3", "joint4",
                                     "joint5", "joint6", "joint7"};
  std::string site = "ee_site";
  std::string gripper_actuator = "gripper";  // optional; ignored when absent
  bool gravity_compensation = true;
  VecJ tau_max;  // empty: Franka limits (87 Nm joints 1-4, 12 Nm joints 5-7)
};

class MujocoBackend final : public Backend {
 public:
  /// Throws std::invalid_argument naming the missing joint/site.
  MujocoBackend(const mjModel* m, mjData* d, const MujocoConfig& cfg = {});
  const char* name() const override { return "mujoco"; }
  int dof() const override { return static_cast<int>(qadr_.size()); }
  VecJ default_tau_max() const override { return tau_max_; }
  bool read(RobotState& s) override;
  bool write(const Command& c) override;
  void advance(double dt) override;

 private:
  const mjModel* m_;
  mjData* d_;
  MujocoConfig cfg_;
  std::vector<int> qadr_, vadr_;
  int site_ = -1;
  int gripper_ = -1;
  VecJ tau_max_;
  std::vector<mjtNum> jacp_, jacr_;
  bool stepped1_ = false;
};

}  // namespace cpp_bridge
