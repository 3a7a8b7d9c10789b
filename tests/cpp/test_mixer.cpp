// Teleop takeover flags exactly the ticks it should; hand-back has no jump; policy goals
// are interpolated from the previous goal.
#include <memory>
#include <vector>

#include "check.hpp"
#include "cpp_bridge/bridge_core.hpp"
#include "cpp_bridge/math.hpp"
#include "cpp_bridge/mixer.hpp"
#include "cpp_bridge/test_plant.hpp"

using namespace cpp_bridge;

int main() {
  // Mixer alone: interpolation over policy_period_s from the current target.
  {
    Mixer m;
    MixerConfig c;
    c.policy_period_s = 0.1;
    m.configure(c);
    Pose start;
    m.reset(start, 0.0, false);
    PolicyTarget p;
    p.pose.p = Vec3(0.1, 0, 0);
    p.stamp_ns = 0;
    p.seq = 1;
    TeleopInput t;
    MixerOutput o;
    for (int i = 0; i < 50; ++i) {
      o = m.update(Mode::kShared, p, true, t, false, 0.001);
      m.commit(o.target);
    }
    CHECK_NEAR(o.target.p.x(), 0.05, 1e-12);
    for (int i = 0; i < 60; ++i) {
      o = m.update(Mode::kShared, p, true, t, false, 0.001);
      m.commit(o.target);
    }
    CHECK_NEAR(o.target.p.x(), 0.1, 1e-12);
    CHECK(!o.intervention);
    // Deadband and button.
    t.twist << 0.004, 0, 0, 0, 0, 0;
    t.engaged = true;
    CHECK(!m.teleop_active(t, true));
    t.twist << 0.02, 0, 0, 0, 0, 0;
    CHECK(m.teleop_active(t, true));
    CHECK(!m.teleop_active(t, false));
    t.engaged = false;
    CHECK(!m.teleop_active(t, true));
  }
  // The loop: intervention flags on exactly the ticks the human acts, counts per read.
  {
    BridgeConfig cfg;
    cfg.mode = Mode::kShared;
    cfg.watchdog.policy_timeout_s = 100.0;
    cfg.watchdog.teleop_timeout_s = 100.0;
    TestPlantConfig pc;
    pc.initial.p = Vec3(0.3, 0.0, 0.3);
    BridgeCore core(std::make_unique<TestPlant>(pc), cfg);
    core.step(1);
    Pose goal;
    goal.p = Vec3(0.35, 0.0, 0.3);
    core.set_policy_target(goal, 1.0);
    core.step(199);
    std::uint64_t iv = 0, since = 0;
    core.state(&iv, &since);
    std::vector<int> flags;
    std::uint64_t iv_sum = 0;
    std::vector<Pose> targets;
    Vec6 tw;
    tw << 0.0, 0.05, 0.0, 0.0, 0.0, 0.2;
    for (int i = 0; i < 400; ++i) {
      if (i == 100) core.set_teleop(tw, true);
      if (i == 150) core.set_teleop(tw, false);   // button released: hand back
      if (i == 250) core.set_teleop(tw, true);
      if (i == 300) core.set_teleop(Vec6::Zero(), true);  // inside the deadband
      core.step(1);
      const StateSnapshot s = core.state(&iv, &since);
      CHECK(iv == (s.intervention ? 1u : 0u));  // per-tick reads count that tick only
      CHECK(since == 1);
      iv_sum += iv;
      flags.push_back(s.intervention ? 1 : 0);
      targets.push_back(s.target);
    }
    for (int i = 0; i < 400; ++i) {
      const bool expect = (i >= 100 && i < 150) || (i >= 250 && i < 300);
      if (flags[i] != (expect ? 1 : 0)) {
        std::fprintf(stderr, "tick %d: intervention %d, expected %d\n", i, flags[i], expect);
        CHECK(false);
      }
    }
    // No jump anywhere, in particular at takeover (100, 250) and hand-back (150, 300).
    for (int i = 1; i < 400; ++i) {
      const double dp = (targets[i].p - targets[i - 1].p).norm();
      const double dr = rotation_error(targets[i].q, targets[i - 1].q).norm();
      CHECK(dp <= 0.05 * 0.001 * 1.0001 + 1e-12 || (i < 100 && dp <= 0.5 * 0.001 + 1e-12));
      CHECK(dr <= 0.2 * 0.001 * 1.0001 + 1e-12);
    }
    // After hand-back the target holds where the human left it (old goal not pursued).
    CHECK((targets[200].p - targets[151].p).norm() < 1e-12);
    // A new policy goal after hand-back is approached smoothly from there.
    core.set_policy_target(goal, 1.0);
    core.step(1);
    CHECK((core.state().target.p - targets[399].p).norm() <= 0.5 * 0.001 + 1e-12);
    CHECK(iv_sum == 100);
    // Counts cover the whole window between reads (an env step of many ticks).
    core.state(&iv, &since);
    core.set_teleop(tw, true);
    core.step(30);
    core.set_teleop(tw, false);
    core.step(20);
    core.state(&iv, &since);
    CHECK(iv == 30);
    CHECK(since == 50);
    core.step(10);
    core.state(&iv, &since);
    CHECK(iv == 0);
    CHECK(since == 10);
    // Policy mode ignores the human entirely.
    core.set_mode(Mode::kPolicy);
    core.set_teleop(tw, true);
    core.step(5);
    CHECK(!core.state().intervention);
  }
  // The human's gripper command: an intervention on its own, applied to the gripper,
  // and the policy's gripper again after hand-back with its next goal.
  {
    Mixer m;
    MixerConfig c;
    m.configure(c);
    m.reset(Pose(), 0.0, false);
    PolicyTarget p;
    p.stamp_ns = 0;
    p.seq = 1;
    p.gripper = 0.0;
    TeleopInput t;
    t.engaged = true;
    t.gripper = 1.0;  // inside the deadband, but a gripper press
    MixerOutput o = m.update(Mode::kShared, p, true, t, true, 0.001);
    CHECK(o.intervention);
    CHECK_NEAR(o.gripper, 1.0, 0.0);
    t.gripper = -1.0;  // released: no motion, no gripper command -> policy again
    o = m.update(Mode::kShared, p, true, t, true, 0.001);
    CHECK(!o.intervention);
    CHECK_NEAR(o.gripper, 1.0, 0.0);  // the human's command stays until a new goal
    p.seq = 2;
    o = m.update(Mode::kShared, p, true, t, true, 0.001);
    CHECK_NEAR(o.gripper, 0.0, 0.0);
    t.engaged = false;
    t.gripper = 1.0;  // the button is required: a press without it is ignored
    CHECK(!m.teleop_active(t, true));
  }
  // Clutch semantics: engaged with a still hand holds the target against the policy.
  {
    Mixer m;
    MixerConfig c;
    c.hold_when_engaged = true;
    m.configure(c);
    m.reset(Pose(), 0.0, false);
    PolicyTarget p;
    p.pose.p = Vec3(0.1, 0, 0);
    p.stamp_ns = 0;
    p.seq = 1;
    TeleopInput t;
    t.engaged = true;
    MixerOutput o;
    for (int i = 0; i < 50; ++i) {
      o = m.update(Mode::kShared, p, true, t, true, 0.001);
      m.commit(o.target);
      CHECK(o.intervention);
    }
    CHECK_NEAR(o.target.p.x(), 0.0, 0.0);  // held, not drawn to the policy's goal
    t.engaged = false;
    o = m.update(Mode::kShared, p, true, t, true, 0.001);
    CHECK(!o.intervention);
  }
  // The human's target leads the measured arm by at most max_teleop_lead.
  {
    Mixer m;
    MixerConfig c;
    c.max_teleop_lead = 0.02;
    m.configure(c);
    m.reset(Pose(), 0.0, false);
    PolicyTarget p;
    TeleopInput t;
    t.engaged = true;
    t.twist << 1.0, 0, 0, 0, 0, 0;
    Pose arm;  // the arm does not move
    MixerOutput o;
    for (int i = 0; i < 100; ++i) {
      m.set_measured(arm);
      o = m.update(Mode::kShared, p, true, t, true, 0.001);
      m.commit(o.target);
      CHECK(o.target.p.x() <= 0.02 + 1e-12);
    }
    CHECK_NEAR(o.target.p.x(), 0.02, 1e-12);
    arm.p.x() = 0.05;  // the arm catches up: the target may lead it again
    m.set_measured(arm);
    o = m.update(Mode::kShared, p, true, t, true, 0.001);
    CHECK(o.target.p.x() > 0.02);
  }
  TEST_MAIN_END();
}
