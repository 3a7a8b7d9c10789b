// Watchdogs on a virtual clock: a stale policy holds, a stale teleop input stops, a stale
// or disconnected backend faults; recover() clears only an explicit fault.
#include <memory>

#include "check.hpp"
#include "cpp_bridge/bridge_core.hpp"
#include "cpp_bridge/test_plant.hpp"

using namespace cpp_bridge;

namespace {
constexpr std::int64_t kTickNs = 1000000;

struct Rig {
  ManualClock clock;
  TestPlant* plant = nullptr;
  std::unique_ptr<BridgeCore> core;
  explicit Rig(Mode mode) {
    BridgeConfig cfg;
    cfg.mode = mode;
    cfg.watchdog.policy_timeout_s = 0.1;
    cfg.watchdog.teleop_timeout_s = 0.05;
    cfg.watchdog.backend_timeout_s = 0.01;
    cfg.mixer.policy_period_s = 0.5;  // slow interpolation so a hold is visible
    auto p = std::make_unique<TestPlant>();
    plant = p.get();
    core = std::make_unique<BridgeCore>(std::move(p), cfg, &clock);
  }
  void ticks(int n) {
    for (int i = 0; i < n; ++i) {
      core->tick();
      clock.advance_ns(kTickNs);
    }
  }
};
}  // namespace

int main() {
  // Stale policy: the target moves toward the goal while fresh, then holds.
  {
    Rig r(Mode::kPolicy);
    r.ticks(1);
    Pose goal;
    goal.p = Vec3(0.1, 0, 0);
    r.core->set_policy_target(goal, 0.0);
    r.ticks(50);
    const double x50 = r.core->state().target.p.x();
    CHECK(x50 > 0.0);
    CHECK(!r.core->state().policy_stale);
    r.ticks(60);  // now 110 ms old > 100 ms timeout
    const StateSnapshot a = r.core->state();
    CHECK(a.policy_stale);
    r.ticks(100);
    const StateSnapshot b = r.core->state();
    CHECK(b.target.p.x() == a.target.p.x());  // held exactly
    CHECK(b.target.p.x() < 0.1);              // did not reach the goal
    CHECK(r.core->fault() == Fault::kNone);
    // A fresh goal restarts from the held target (no jump).
    r.core->set_policy_target(goal, 0.0);
    r.ticks(1);
    CHECK(std::abs(r.core->state().target.p.x() - b.target.p.x()) < 0.5 * 0.001 + 1e-12);
  }
  // Stale teleop: motion stops when the input is older than the timeout.
  {
    Rig r(Mode::kTeleop);
    r.ticks(1);
    Vec6 tw;
    tw << 0.1, 0, 0, 0, 0, 0;
    r.core->set_teleop(tw, true);
    r.ticks(40);
    const double moving = r.core->state().target.p.x();
    CHECK(moving > 0.003);
    CHECK(r.core->state().intervention);
    r.ticks(20);  // 60 ms old > 50 ms
    const StateSnapshot a = r.core->state();
    CHECK(a.teleop_stale);
    CHECK(!a.intervention);
    r.ticks(50);
    CHECK(r.core->state().target.p.x() == a.target.p.x());
    CHECK(r.core->fault() == Fault::kNone);
  }
  // Stale backend: dropped ticks beyond 10 ms latch a fault; recover clears it.
  {
    Rig r(Mode::kShared);
    r.ticks(5);
    CHECK(!r.core->recover());  // nothing to clear
    r.plant->drop_ticks(5);     // shorter than the timeout: tolerated
    r.ticks(20);
    CHECK(r.core->fault() == Fault::kNone);
    r.plant->drop_ticks(50);
    r.ticks(30);
    CHECK(r.core->fault() == Fault::kBackendStale);
    const std::uint64_t tick_at = r.core->state().tick;
    CHECK_THROWS(r.core->check(), FaultError);
    Pose goal;
    CHECK_THROWS(r.core->set_policy_target(goal, 0.0), FaultError);
    r.ticks(10);
    CHECK(r.core->fault() == Fault::kBackendStale);  // latched even though ticks continue
    CHECK(r.core->state().tick > tick_at);
    r.ticks(30);  // plant back to normal
    CHECK(r.core->recover());
    CHECK(r.core->fault() == Fault::kNone);
    r.ticks(20);
    CHECK(r.core->fault() == Fault::kNone);
  }
  // Disconnected backend: fault; recover fails while still disconnected.
  {
    Rig r(Mode::kShared);
    r.ticks(5);
    r.plant->set_connected(false);
    r.ticks(1);
    CHECK(r.core->fault() == Fault::kDisconnected);
    CHECK(!r.core->recover());
    CHECK(r.core->fault() == Fault::kDisconnected);
    r.plant->set_connected(true);
    CHECK(r.core->recover());
    r.ticks(5);
    CHECK(r.core->fault() == Fault::kNone);
  }
  // NaN state and SDK errors fault too; while faulted the commanded torque decays to rest.
  {
    Rig r(Mode::kShared);
    r.ticks(5);
    r.plant->inject_nan();
    r.ticks(1);
    CHECK(r.core->fault() == Fault::kNonFiniteState);
    CHECK(r.core->recover());
    r.ticks(2);
    r.plant->inject_error();
    r.ticks(1);
    CHECK(r.core->fault() == Fault::kBackendError);
    CHECK(std::string(r.core->state().fault_message) == "injected SDK error");
    CHECK(r.core->recover());
    CHECK(r.plant->recover_calls() >= 2);
  }
  TEST_MAIN_END();
}
