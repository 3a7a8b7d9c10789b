// The safety rules of the issue "Real Franka and UR arms", on a virtual clock and the test
// plant (q = [position; rotation vector], so joint limits are limits on those numbers):
// joint limits (margin repulsion, fault beyond), target jump and NaN rejection, the
// hold-then-stop watchdog, reset(), and that no fault ever clears without recover().
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <string>

#include "check.hpp"
#include "cpp_bridge/bridge_core.hpp"
#include "cpp_bridge/math.hpp"
#include "cpp_bridge/test_plant.hpp"

using namespace cpp_bridge;

namespace {
constexpr std::int64_t kTickNs = 1000000;

struct Rig {
  ManualClock clock;
  TestPlant* plant = nullptr;
  std::unique_ptr<BridgeCore> core;
  explicit Rig(BridgeConfig cfg = {}, Vec3 start = Vec3(0.3, 0.0, 0.3)) {
    TestPlantConfig pc;
    pc.initial.p = start;
    pc.damping = 5.0;
    auto p = std::make_unique<TestPlant>(pc);
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

BridgeConfig joint_cfg() {
  BridgeConfig c;
  c.mode = Mode::kPolicy;
  c.watchdog.policy_timeout_s = 100.0;
  c.limits.q_min = VecJ::Constant(6, -1.0);
  c.limits.q_max = VecJ::Constant(6, 1.0);
  c.limits.q_max[0] = 0.35;
  c.limits.joint_margin = 0.05;
  c.limits.joint_limit_stiffness = 100.0;
  c.limits.joint_limit_damping = 0.0;
  c.gains.stiffness = (Vec6() << 50, 50, 50, 10, 10, 10).finished();
  c.gains.error_clip = (Vec6() << 0.1, 0.1, 0.1, 0.1, 0.1, 0.1).finished();
  c.gains.nullspace_stiffness = 0.0;
  c.gains.nullspace_damping = 0.0;
  return c;
}

Pose at(double x, double y, double z) {
  Pose p;
  p.p = Vec3(x, y, z);
  return p;
}
}  // namespace

int main() {
  // Joint margin: a repulsive torque pushes joint 1 back out of its margin.
  {
    Rig r(joint_cfg(), Vec3(0.32, 0.0, 0.3));  // 2 cm into the 5 cm margin of q_max = 0.35
    r.ticks(1);
    const StateSnapshot s1 = r.core->state();
    CHECK(s1.near_joint_limit);
    CHECK(s1.tau[0] < 0.0);                      // pushed away from q_max
    CHECK_NEAR(s1.tau[0], -1.0, 1e-9);           // -2 Nm wanted, rate limited to 1 Nm/tick
    CHECK_NEAR(s1.tau[1], 0.0, 1e-12);
    r.ticks(3000);
    // Equilibrium of the 50 N/m spring (target 0.32) and the 100 N/m margin spring.
    const double x = r.plant->pose().p.x();
    CHECK_NEAR(x, 0.32 - 100.0 * 0.02 / 150.0, 5e-4);
    CHECK(r.core->metrics().joint_limit_ticks > 0);
    CHECK(r.core->metrics().torque_violations == 0);
    CHECK(r.core->fault() == Fault::kNone);
    // Outside every margin nothing is added.
    Rig free_rig(joint_cfg(), Vec3(0.1, 0.0, 0.3));
    free_rig.ticks(5);
    CHECK(!free_rig.core->state().near_joint_limit);
    CHECK(free_rig.core->metrics().joint_limit_ticks == 0);
  }
  // A measured joint beyond its limit latches JOINT_LIMIT naming the joint.
  {
    Rig r(joint_cfg(), Vec3(0.2, 0.0, 0.3));
    r.ticks(5);
    Pose p = r.plant->pose();
    p.p.x() = 0.36;
    r.plant->set_pose(p);
    r.ticks(1);
    CHECK(r.core->fault() == Fault::kJointLimit);
    const std::string msg = r.core->state().fault_message;
    CHECK(msg.find("joint 1") != std::string::npos);
    CHECK(std::strcmp(fault_name(Fault::kJointLimit), "joint_limit") == 0);
    CHECK(r.core->state().tau.cwiseAbs().maxCoeff() <= 1.0 + 1e-9);  // stop: rate limited
    // Still beyond after recover(): latches again at the next tick.
    CHECK(r.core->recover());
    r.ticks(1);
    CHECK(r.core->fault() == Fault::kJointLimit);
    p.p.x() = 0.2;
    r.plant->set_pose(p);
    CHECK(r.core->recover());
    r.ticks(5);
    CHECK(r.core->fault() == Fault::kNone);
  }
  // Bad joint limits are refused.
  {
    Rig r;
    SafetyLimits l = r.core->safety_limits();
    l.q_min = VecJ::Constant(6, -1.0);
    CHECK_THROWS(r.core->set_safety_limits(l), SafetyError);  // q_max missing
    l.q_max = VecJ::Constant(6, -0.95);
    CHECK_THROWS(r.core->set_safety_limits(l), SafetyError);  // narrower than 2 margins
    l.q_max = VecJ::Constant(5, 1.0);
    CHECK_THROWS(r.core->set_safety_limits(l), SafetyError);  // wrong size
    l.q_min = VecJ();
    l.q_max = VecJ();
    l.max_target_jump_m = 0.0;
    CHECK_THROWS(r.core->set_safety_limits(l), SafetyError);
    l.max_target_jump_m = std::numeric_limits<double>::infinity();  // inf: no check
    r.core->set_safety_limits(l);
  }
  // Target jumps: rejected once, counted, the target holds; a near goal is followed.
  {
    BridgeConfig c;
    c.mode = Mode::kPolicy;
    c.watchdog.policy_timeout_s = 100.0;
    Rig r(c);
    r.ticks(2);
    const Pose start = r.core->state().target;
    r.core->set_policy_target(at(0.3, 0.15, 0.3), 0.0);  // 15 cm > 10 cm
    r.ticks(300);
    StateSnapshot s = r.core->state();
    CHECK(s.rejected_targets == 1);
    CHECK(r.core->metrics().rejected_targets == 1);
    CHECK((s.target.p - start.p).norm() < 1e-12);  // held
    Pose rot = start;
    rot.q = rotvec_to_quat(Vec3(0.0, 0.0, 0.6));  // 0.6 rad > 0.5 rad
    r.core->set_policy_target(rot, 0.0);
    r.ticks(10);
    CHECK(r.core->state().rejected_targets == 2);
    CHECK(rotation_error(r.core->state().target.q, start.q).norm() < 1e-12);
    r.core->set_policy_target(at(0.3, 0.05, 0.3), 0.0);  // 5 cm: followed
    r.ticks(500);
    s = r.core->state();
    CHECK(s.rejected_targets == 2);
    CHECK_NEAR(s.target.p.y(), 0.05, 1e-9);
    // NaN is refused at the call and counted too.
    Pose bad = start;
    bad.p.x() = std::nan("");
    CHECK_THROWS(r.core->set_policy_target(bad, 0.0), SafetyError);
    CHECK(r.core->rejected_targets() == 1);
    CHECK(r.core->state().rejected_targets == 3);
    CHECK(r.core->metrics().rejected_targets == 3);
    CHECK(r.core->fault() == Fault::kNone);
  }
  // Hold, then stop: policy_timeout 0.1 s + stop_timeout 0.2 s without a set-point.
  {
    BridgeConfig c;
    c.mode = Mode::kShared;
    c.watchdog.policy_timeout_s = 0.1;
    c.watchdog.teleop_timeout_s = 0.05;
    c.watchdog.stop_timeout_s = 0.2;
    {
      Rig r(c);
      r.ticks(500);  // no policy set-point yet: never stops
      CHECK(r.core->fault() == Fault::kNone);
      r.core->set_policy_target(at(0.31, 0.0, 0.3), 0.0);
      r.ticks(150);
      CHECK(r.core->state().policy_stale);  // holding
      CHECK(r.core->fault() == Fault::kNone);
      r.ticks(140);  // 290 ms after the set-point
      CHECK(r.core->fault() == Fault::kNone);
      r.ticks(20);
      CHECK(r.core->fault() == Fault::kWatchdogStop);
      CHECK(std::string(r.core->state().fault_message).find("watchdog stop") == 0);
      CHECK_THROWS(r.core->check(), FaultError);
      // The stop command brings the plant to rest.
      r.ticks(2000);
      CHECK(r.plant->velocity().norm() < 1e-3);
      CHECK(r.core->fault() == Fault::kWatchdogStop);
      // recover(): the old set-point does not re-arm the watchdog; a new one does.
      CHECK(r.core->recover());
      r.ticks(1000);
      CHECK(r.core->fault() == Fault::kNone);
      r.core->set_policy_target(r.core->state().ee, 0.0);
      r.ticks(350);
      CHECK(r.core->fault() == Fault::kWatchdogStop);
    }
    {
      // An engaged human keeps it alive; releasing the button starts the clock.
      Rig r(c);
      r.ticks(1);
      r.core->set_policy_target(at(0.3, 0.0, 0.3), 0.0);
      for (int i = 0; i < 100; ++i) {
        r.core->set_teleop(Vec6::Zero(), true);
        r.ticks(10);
      }
      CHECK(r.core->fault() == Fault::kNone);
      r.core->set_teleop(Vec6::Zero(), false);
      r.ticks(250);
      CHECK(r.core->fault() == Fault::kNone);
      r.ticks(100);
      CHECK(r.core->fault() == Fault::kWatchdogStop);
    }
    {
      // Teleop mode (the policy is not expected to send) and stop_timeout_s = 0: never.
      Rig r(c);
      r.ticks(1);
      r.core->set_policy_target(at(0.3, 0.0, 0.3), 0.0);
      r.core->set_mode(Mode::kTeleop);
      r.ticks(1000);
      CHECK(r.core->fault() == Fault::kNone);
      BridgeConfig never = c;
      never.watchdog.stop_timeout_s = 0.0;
      Rig q(never);
      q.ticks(1);
      q.core->set_policy_target(at(0.3, 0.0, 0.3), 0.0);
      q.ticks(5000);
      CHECK(q.core->fault() == Fault::kNone);
      never.watchdog.stop_timeout_s = -1.0;
      CHECK_THROWS(Rig bad(never), std::invalid_argument);
    }
  }
  // reset(): after the plant was moved by other means the target starts over there, so a
  // goal near the new pose is not a jump; goals sent before reset() are history.
  {
    BridgeConfig c;
    c.mode = Mode::kPolicy;
    c.watchdog.policy_timeout_s = 100.0;
    Rig r(c);
    r.ticks(5);
    r.core->set_policy_target(at(0.35, 0.0, 0.3), 0.0);
    r.plant->set_pose(at(0.6, 0.2, 0.4));  // "teleported" by an episode reset
    r.core->reset();
    r.ticks(1);
    CHECK((r.core->state().target.p - Vec3(0.6, 0.2, 0.4)).norm() < 1e-9);
    r.ticks(200);
    CHECK((r.core->state().target.p - Vec3(0.6, 0.2, 0.4)).norm() < 1e-9);  // old goal ignored
    r.core->reset();
    r.core->set_policy_target(at(0.62, 0.2, 0.4), 0.0);  // sent after reset(): followed
    r.ticks(300);
    CHECK_NEAR(r.core->state().target.p.x(), 0.62, 1e-9);
    CHECK(r.core->state().rejected_targets == 0);
  }
  // No fault clears on its own: not when the cause goes away, nor on a new target, a mode
  // change, a teleop input or reset(); only recover() does.
  {
    enum Kind { kStale, kDisc, kNan, kSdk, kJoint, kStop, kN };
    for (int k = 0; k < kN; ++k) {
      BridgeConfig c = joint_cfg();
      c.mode = Mode::kShared;
      c.watchdog.policy_timeout_s = 0.1;
      c.watchdog.stop_timeout_s = 0.1;
      c.watchdog.backend_timeout_s = 0.01;
      Rig r(c, Vec3(0.2, 0.0, 0.3));
      r.ticks(2);
      Pose p = r.plant->pose();
      Fault want = Fault::kNone;
      switch (k) {
        case kStale: r.plant->drop_ticks(30); r.ticks(30); want = Fault::kBackendStale; break;
        case kDisc: r.plant->set_connected(false); r.ticks(1); want = Fault::kDisconnected; break;
        case kNan: r.plant->inject_nan(); r.ticks(1); want = Fault::kNonFiniteState; break;
        case kSdk: r.plant->inject_error(); r.ticks(1); want = Fault::kBackendError; break;
        case kJoint: {
          Pose q = p;
          q.p.x() = 0.4;
          r.plant->set_pose(q);
          r.ticks(1);
          want = Fault::kJointLimit;
          break;
        }
        case kStop:
          r.core->set_policy_target(p, 0.0);
          r.ticks(250);
          want = Fault::kWatchdogStop;
          break;
      }
      CHECK(r.core->fault() == want);
      // The cause goes away.
      r.plant->set_connected(true);
      r.plant->set_pose(p);
      r.ticks(50);
      CHECK(r.core->fault() == want);
      CHECK_THROWS(r.core->set_policy_target(p, 0.0), FaultError);
      r.ticks(5);
      CHECK(r.core->fault() == want);
      r.core->set_mode(Mode::kPolicy);
      r.ticks(5);
      r.core->set_mode(Mode::kShared);
      r.ticks(5);
      CHECK(r.core->fault() == want);
      Vec6 tw;
      tw << 0.05, 0, 0, 0, 0, 0;
      for (int i = 0; i < 20; ++i) {
        r.core->set_teleop(tw, true, 1.0);
        r.ticks(5);
      }
      CHECK(r.core->fault() == want);
      CHECK_THROWS(r.core->reset(), FaultError);
      r.ticks(100);
      CHECK(r.core->fault() == want);
      CHECK(r.core->state().fault == want);
      r.core->set_teleop(Vec6::Zero(), false);
      CHECK(r.core->recover());
      r.ticks(5);
      CHECK(r.core->fault() == Fault::kNone);
    }
  }
  TEST_MAIN_END();
}
