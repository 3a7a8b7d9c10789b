// Drives an mjModel/mjData owned by someone else (typically Python's mujoco.MjModel /
// MjData) so the very simulation Python renders is the one under control.
//
// The backend is compiled without MuJoCo's headers and links no libmujoco: the caller
// hands it a MujocoView, the addresses of the arrays the loop touches and of three C
// functions of the libmujoco already loaded in the process (mj_step1, mj_step2,
// mj_jacSite). The struct layouts of mjModel/mjData change between MuJoCo releases; these
// function signatures and the arrays' meaning have not (2.x to 4.x), so one build of the
// bridge drives whichever MuJoCo is installed beside it. Python fills the view from the
// installed bindings (silri_jax/bridge/mujoco_view.py); C++ code with the headers uses
// mujoco_view_from_model.hpp.
//
// Each tick: read() runs mj_step1 (kinematics, Jacobian, bias forces for the current
// state), write() puts tau + qfrc_bias (gravity and Coriolis compensated) into
// qfrc_applied, advance() runs mj_step2. The model must use the Euler or implicit
// integrator (mj_step1/mj_step2 do not support RK4; the view's builder refuses it).
#pragma once

#include <cstdint>
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

/// The C functions the loop calls, as the installed libmujoco exports them (mjtNum is
/// double in every released build; model and data are opaque here).
struct MujocoApi {
  using StepFn = void (*)(const void* model, void* data);
  using JacSiteFn = void (*)(const void* model, const void* data, double* jacp, double* jacr,
                             int site);
  StepFn step1 = nullptr;
  StepFn step2 = nullptr;
  JacSiteFn jac_site = nullptr;
};

/// One model/data pair seen through addresses: what the loop reads and writes, and the
/// indices the names resolved to. Everything here stays valid while the caller keeps the
/// model and data alive (mjData's arrays never move).
struct MujocoView {
  const void* model = nullptr;
  void* data = nullptr;
  MujocoApi api;
  int nq = 0, nv = 0, nu = 0, nsite = 0;
  const double* qpos = nullptr;          // nq
  const double* qvel = nullptr;          // nv
  const double* qfrc_bias = nullptr;     // nv
  double* qfrc_applied = nullptr;        // nv
  double* ctrl = nullptr;                // nu
  const double* site_xpos = nullptr;     // nsite x 3
  const double* site_xmat = nullptr;     // nsite x 9
  const double* time = nullptr;          // mjData.time, when the caller knows its address
  double timestep = 0.0;                 // model.opt.timestep
  std::vector<int> qpos_adr, dof_adr;    // per controlled joint
  int site = -1;                         // the end-effector site
  int gripper = -1;                      // the gripper actuator, or -1
  double gripper_lo = 0.0, gripper_hi = 0.0;  // its ctrlrange
};

class MujocoBackend final : public Backend {
 public:
  /// Throws std::invalid_argument naming what is missing or out of range.
  MujocoBackend(const MujocoView& view, const MujocoConfig& cfg = {});
  const char* name() const override { return "mujoco"; }
  int dof() const override { return static_cast<int>(v_.qpos_adr.size()); }
  VecJ default_tau_max() const override { return tau_max_; }
  bool read(RobotState& s) override;
  bool write(const Command& c) override;
  void advance(double dt) override;

 private:
  MujocoView v_;
  MujocoConfig cfg_;
  VecJ tau_max_;
  std::vector<double> jacp_, jacr_;
  double stamp_ = 0.0;  // simulated time when the view has no address for mjData.time
  bool stepped1_ = false;
};

}  // namespace cpp_bridge
