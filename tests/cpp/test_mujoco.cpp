// The MuJoCo backend steps the caller's mjData, compensates gravity and tracks a
// Cartesian target under impedance control (capsule arm; the Panda model when present).
#include <mujoco/mujoco.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <string>

#include "check.hpp"
#include "cpp_bridge/bridge_core.hpp"
#include "cpp_bridge/math.hpp"
#include "cpp_bridge/mujoco_backend.hpp"
#include "cpp_bridge/mujoco_view_from_model.hpp"

using namespace cpp_bridge;

static void track(const std::string& path, double max_pos_err, double max_rot_err) {
  char err[1000] = {0};
  mjModel* m = mj_loadXML(path.c_str(), nullptr, err, sizeof(err));
  if (!m) {
    std::fprintf(stderr, "cannot load %s: %s\n", path.c_str(), err);
    CHECK(false);
    return;
  }
  mjData* d = mj_makeData(m);
  const int key = mj_name2id(m, mjOBJ_KEY, "home");
  CHECK(key >= 0);
  mj_resetDataKeyframe(m, d, key);
  {
    BridgeConfig cfg;
    cfg.watchdog.policy_timeout_s = 100.0;
    cfg.limits.box_min = Vec3(-1, -1, 0);
    cfg.limits.box_max = Vec3(1, 1, 1.5);
    cfg.q_nominal = VecJ::Zero(7);
    for (int i = 0; i < 7; ++i) cfg.q_nominal[i] = m->key_qpos[key * m->nq + i];
    BridgeCore core(std::make_unique<MujocoBackend>(mujoco_view_from_model(m, d)), cfg);
    // Holding still: gravity is compensated, the arm stays put.
    core.step(500);
    const StateSnapshot s0 = core.state();
    CHECK_NEAR(d->time, 500 * m->opt.timestep, 1e-9);  // the caller's mjData advanced
    core.step(1000);
    const StateSnapshot s1 = core.state();
    CHECK((s1.ee.p - s0.ee.p).norm() < 2e-3);
    // Track a target 5 cm away with the same orientation.
    Pose goal = s1.ee;
    goal.p += Vec3(0.04, -0.03, 0.03);
    core.set_policy_target(goal, 0.0);
    core.step(4000);
    const StateSnapshot s2 = core.state();
    const double pe = (s2.ee.p - goal.p).norm();
    const double re = rotation_error(s2.ee.q, goal.q).norm();
    std::printf("%s: position error %.2e m, rotation error %.2e rad\n", path.c_str(), pe, re);
    CHECK(pe < max_pos_err);
    CHECK(re < max_rot_err);
    const Metrics mt = core.metrics();
    CHECK(mt.torque_violations == 0);
    CHECK(mt.box_violations == 0);
  }
  mj_deleteData(d);
  mj_deleteModel(m);
}

int main() {
  track(std::string(SILRI_TEST_ASSETS) + "/arm7.xml", 5e-3, 0.05);
  if (std::ifstream(SILRI_PANDA_XML).good()) {
    track(SILRI_PANDA_XML, 5e-3, 0.05);
  } else {
    std::printf("Panda model absent (%s): Panda tracking not run\n", SILRI_PANDA_XML);
  }
  TEST_MAIN_END();
}
