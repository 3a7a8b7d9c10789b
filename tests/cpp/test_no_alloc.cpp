// A tick allocates nothing: operator new is counted while the loop runs (test plant and
// MuJoCo, with policy targets, teleop takeovers, mode and gain changes in between).
#include <mujoco/mujoco.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>

#include "check.hpp"
#include "cpp_bridge/bridge_core.hpp"
#include "cpp_bridge/mujoco_backend.hpp"
#include "cpp_bridge/mujoco_view_from_model.hpp"
#include "cpp_bridge/test_plant.hpp"

namespace {
std::atomic<bool> g_counting{false};
std::atomic<long> g_allocs{0};
}  // namespace

void* operator new(std::size_t n) {
  if (g_counting.load(std::memory_order_relaxed)) g_allocs.fetch_add(1);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

using namespace cpp_bridge;

namespace {
long count_allocs_while_running(BridgeCore& core) {
  core.step(10);  // warm up (first tick initialises the filters)
  const Pose start = core.state().ee;
  long total = 0;
  for (int k = 0; k < 20; ++k) {
    Pose goal = start;
    goal.p += Vec3(0.002 * (k % 4), -0.001 * k, 0.0);
    core.set_policy_target(goal, 0.5);
    if (k % 5 == 2) {
      Vec6 tw;
      tw << 0.02, 0.0, 0.0, 0.0, 0.0, 0.1;
      core.set_teleop(tw, true);
    } else if (k % 5 == 3) {
      core.set_teleop(Vec6::Zero(), false);
    }
    if (k == 10) {
      Gains g = core.gains();
      g.stiffness *= 0.5;
      core.set_gains(g);
    }
    g_allocs.store(0);
    g_counting.store(true);
    core.step(100);  // only the ticks are counted, not the API calls above
    g_counting.store(false);
    total += g_allocs.load();
  }
  return total;
}
}  // namespace

int main() {
  {
    BridgeConfig cfg;
    TestPlantConfig pc;
    pc.initial.p = Vec3(0.3, 0.0, 0.3);
    BridgeCore core(std::make_unique<TestPlant>(pc), cfg);
    const long n = count_allocs_while_running(core);
    std::printf("test plant: %ld allocations in 2000 ticks\n", n);
    CHECK(n == 0);
  }
  // The safety paths: joints inside their margin (repulsion), a rejected jump, the
  // watchdog stop latching (and the joint-limit fault message) allocate nothing either.
  {
    BridgeConfig cfg;
    cfg.watchdog.policy_timeout_s = 0.05;
    cfg.watchdog.stop_timeout_s = 0.05;
    cfg.limits.q_min = VecJ::Constant(6, -1.0);
    cfg.limits.q_max = VecJ::Constant(6, 1.0);
    cfg.limits.q_max[0] = 0.33;  // the plant starts 3 cm from it, inside the 5 cm margin
    cfg.limits.joint_margin = 0.05;
    TestPlantConfig pc;
    pc.initial.p = Vec3(0.3, 0.0, 0.3);
    auto plant = std::make_unique<TestPlant>(pc);
    TestPlant* tp = plant.get();
    BridgeCore core(std::move(plant), cfg);
    core.step(10);
    Pose far = core.state().ee;
    far.p.y() += 0.5;
    core.set_policy_target(far, 0.0);  // a jump: rejected in the loop
    g_allocs.store(0);
    g_counting.store(true);
    core.step(50);
    g_counting.store(false);
    long n = g_allocs.load();
    CHECK(core.state().near_joint_limit);
    CHECK(core.state().rejected_targets == 1);
    g_allocs.store(0);
    g_counting.store(true);
    // policy_timeout + stop_timeout pass: the watchdog stop latches. tick(), not step(),
    // which throws FaultError (allocating, outside the tick) once a fault is latched.
    for (int i = 0; i < 200; ++i) core.tick();
    g_counting.store(false);
    CHECK(core.fault() == Fault::kWatchdogStop);
    n += g_allocs.load();
    CHECK(core.recover());
    Pose beyond = tp->pose();
    beyond.p.x() = 0.4;
    tp->set_pose(beyond);
    g_allocs.store(0);
    g_counting.store(true);
    for (int i = 0; i < 5; ++i) core.tick();  // joint 1 beyond q_max: JOINT_LIMIT, formatted
    g_counting.store(false);
    CHECK(core.fault() == Fault::kJointLimit);
    n += g_allocs.load();
    std::printf("safety paths: %ld allocations in 255 ticks\n", n);
    CHECK(n == 0);
    g_allocs.store(0);
    g_counting.store(true);
    for (int i = 0; i < 50; ++i) core.tick();  // latched: stop command ticks
    g_counting.store(false);
    CHECK(g_allocs.load() == 0);
  }
  {
    char err[1000] = {0};
    const std::string path = std::string(SILRI_TEST_ASSETS) + "/arm7.xml";
    mjModel* m = mj_loadXML(path.c_str(), nullptr, err, sizeof(err));
    CHECK(m != nullptr);
    if (m) {
      mjData* d = mj_makeData(m);
      mj_resetDataKeyframe(m, d, mj_name2id(m, mjOBJ_KEY, "home"));
      {
        BridgeCore core(std::make_unique<MujocoBackend>(mujoco_view_from_model(m, d)), BridgeConfig{});
        const long n = count_allocs_while_running(core);
        std::printf("mujoco: %ld allocations in 2000 ticks\n", n);
        CHECK(n == 0);
      }
      mj_deleteData(d);
      mj_deleteModel(m);
    }
  }
  // The counter itself works (so a zero above means something).
  g_allocs.store(0);
  g_counting.store(true);
  auto* probe = new int(3);
  g_counting.store(false);
  delete probe;
  CHECK(g_allocs.load() == 1);
  TEST_MAIN_END();
}
