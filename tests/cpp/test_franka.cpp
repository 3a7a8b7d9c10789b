// Franka backend against the fake libfranka: state mapping, our low-pass filter and rate
// limit, tracking through the loop, reflex recovery, disconnect detection, clean stop.
#include <franka/exception.h>
#include <franka/fake.h>
#include <franka/gripper.h>

#include <cmath>
#include <memory>
#include <string>

#include "check.hpp"
#include "cpp_bridge/bridge_core.hpp"
#include "cpp_bridge/franka_backend.hpp"
#include "cpp_bridge/math.hpp"

using namespace cpp_bridge;

static FrankaConfig cfg() {
  FrankaConfig c;
  c.robot_ip = "172.16.0.2";
  c.enforce_realtime = false;
  return c;
}

int main() {
  // State mapping: column-major O_T_EE and Jacobian, Coriolis, time stamp.
  {
    franka_fake::reset();
    franka_fake::set_q({0.1, -0.05, 0.02, 0.3, 0, 0, 0});
    FrankaBackend b(cfg());
    b.start();
    RobotState s;
    CHECK(b.read(s));
    CHECK(s.dof == 7);
    CHECK_NEAR(s.ee.p.x(), 0.4, 1e-12);
    CHECK_NEAR(s.ee.p.y(), -0.05, 1e-12);
    CHECK_NEAR(s.ee.p.z(), 0.52, 1e-12);
    const Vec3 r = quat_to_rotvec(s.ee.q);
    CHECK_NEAR(r.z(), 0.3, 1e-12);
    CHECK_NEAR(r.x(), 0.0, 1e-12);
    CHECK(s.jacobian(0, 0) == 1.0 && s.jacobian(1, 1) == 1.0 && s.jacobian(5, 3) == 1.0);
    CHECK(s.jacobian(0, 1) == 0.0 && s.jacobian(3, 3) == 0.0);
    CHECK_NEAR(s.stamp_s, 0.001, 1e-12);
    CHECK_NEAR(s.q[3], 0.3, 1e-12);
    // Filter then rate limit: a 10 Nm step leaves at most 1 Nm after one packet.
    Command c;
    c.tau = VecJ::Zero(7);
    c.tau[0] = 10.0;
    c.tau[1] = 0.5;
    CHECK(b.write(c));
    const double k = 0.001 / (0.001 + 1.0 / (2.0 * M_PI * 100.0));
    CHECK_NEAR(franka_fake::last_torque()[0], 1.0, 1e-12);
    CHECK_NEAR(franka_fake::last_torque()[1], k * 0.5, 1e-12);  // filtered, not limited
    b.stop();
    CHECK(franka_fake::finished());  // motion_finished sent on stop
  }
  // Tracking through the loop; a reflex faults, recover() restarts control.
  {
    franka_fake::reset();
    BridgeConfig bc;
    bc.watchdog.policy_timeout_s = 100.0;
    BridgeCore core(std::make_unique<FrankaBackend>(cfg()), bc);
    core.step(10);
    Pose goal = core.state().ee;
    goal.p += Vec3(0.02, -0.01, 0.01);
    core.set_policy_target(goal, 0.0);
    core.step(3000);
    CHECK((core.state().ee.p - goal.p).norm() < 1e-3);
    CHECK(franka_fake::start_count() == 1);

    franka_fake::inject_reflex_after(3, "communication_constraints_violation");
    bool thrown = false;
    try {
      core.step(10);
    } catch (const FaultError& e) {
      thrown = true;
      CHECK(e.fault == Fault::kBackendError);
      CHECK(std::string(e.what()).find("communication_constraints_violation") !=
            std::string::npos);
    }
    CHECK(thrown);
    CHECK(core.fault() == Fault::kBackendError);
    CHECK(core.recover());
    CHECK(franka_fake::recovery_count() == 1);
    CHECK(franka_fake::start_count() == 2);
    core.step(100);
    CHECK(core.fault() == Fault::kNone);
    CHECK(core.metrics().torque_violations == 0);
  }
  // Disconnect: NetworkException -> Disconnected fault; recovery fails until the link is back.
  {
    franka_fake::reset();
    BridgeCore core(std::make_unique<FrankaBackend>(cfg()), BridgeConfig{});
    core.step(5);
    franka_fake::set_network_down(true);
    CHECK_THROWS(core.step(5), FaultError);
    CHECK(core.fault() == Fault::kDisconnected);
    CHECK(!core.recover());
    CHECK(core.fault() == Fault::kDisconnected);
    franka_fake::set_network_down(false);
    CHECK(core.recover());
    core.step(5);
    CHECK(core.fault() == Fault::kNone);
  }
  // Models: FR3 (default) and Panda datasheet joint limits become the loop's defaults;
  // an unknown model is refused before connecting, naming the field and the choices.
  {
    franka_fake::reset();
    BridgeCore fr3(std::make_unique<FrankaBackend>(cfg()), BridgeConfig{});
    CHECK(fr3.safety_limits().q_min.size() == 7);
    CHECK_NEAR(fr3.safety_limits().q_max[3], -0.1518, 1e-12);
    CHECK_NEAR(fr3.safety_limits().q_min[5], 0.5445, 1e-12);
    CHECK_NEAR(fr3.safety_limits().tau_max[4], 12.0, 1e-12);
    FrankaConfig pc = cfg();
    pc.model = "panda";
    BridgeCore panda(std::make_unique<FrankaBackend>(pc), BridgeConfig{});
    CHECK_NEAR(panda.safety_limits().q_max[0], 2.8973, 1e-12);
    CHECK_NEAR(panda.safety_limits().q_min[5], -0.0175, 1e-12);
    CHECK_NEAR(panda.safety_limits().tau_max[0], 87.0, 1e-12);
    pc.model = "fr2";
    bool named = false;
    try {
      FrankaBackend b(pc);
    } catch (const std::invalid_argument& e) {
      const std::string w = e.what();
      named = w.find("FrankaConfig.model") != std::string::npos &&
              w.find("fr3") != std::string::npos && w.find("panda") != std::string::npos;
    }
    CHECK(named);
  }
  // External wrench reaches the state; a joint driven beyond its limit latches JOINT_LIMIT.
  {
    franka_fake::reset();
    franka_fake::set_external_wrench({1, 2, 3, 0.1, 0.2, 0.3});
    BridgeCore core(std::make_unique<FrankaBackend>(cfg()), BridgeConfig{});
    core.step(3);
    CHECK_NEAR(core.state().wrench[2], 3.0, 1e-12);
    CHECK_NEAR(core.state().wrench[5], 0.3, 1e-12);
    CHECK(!core.state().near_joint_limit);
    franka_fake::set_q({0.0, 0.0, 0.0, -0.1, 0.0, 1.5, 0.0});  // joint 4 above -0.1518
    CHECK_THROWS(core.step(2), FaultError);
    CHECK(core.fault() == Fault::kJointLimit);
    CHECK(std::string(core.state().fault_message).find("joint 4") != std::string::npos);
  }
  // The link drops mid-run (NetworkException from readOnce): DISCONNECTED, no more torque
  // writes (the robot holds itself with its brakes), recovery only once the link is back.
  {
    franka_fake::reset();
    BridgeConfig bc;
    bc.watchdog.policy_timeout_s = 100.0;
    BridgeCore core(std::make_unique<FrankaBackend>(cfg()), bc);
    core.step(5);
    Pose goal = core.state().ee;
    goal.p.x() += 0.01;
    core.set_policy_target(goal, 0.0);
    franka_fake::drop_network_after(20);
    bool thrown = false;
    try {
      core.step(100);
    } catch (const FaultError& e) {
      thrown = true;
      CHECK(e.fault == Fault::kDisconnected);
      CHECK(e.tick == 25);
    }
    CHECK(thrown);
    const int writes = franka_fake::write_count();
    franka_fake::set_network_down(false);  // even with the link back: latched
    CHECK(core.fault() == Fault::kDisconnected);
    franka_fake::set_network_down(true);
    for (int i = 0; i < 50; ++i) core.tick();
    CHECK(franka_fake::write_count() == writes);
    CHECK(core.fault() == Fault::kDisconnected);
    CHECK(!core.recover());
    franka_fake::set_network_down(false);
    CHECK(core.recover());
    core.step(10);
    CHECK(core.fault() == Fault::kNone);
    CHECK(franka_fake::write_count() > writes);
  }
  // A reflex mid-run: BACKEND_ERROR, no further writes while latched.
  {
    franka_fake::reset();
    BridgeCore core(std::make_unique<FrankaBackend>(cfg()), BridgeConfig{});
    core.step(5);
    franka_fake::inject_reflex_after(2, "cartesian_reflex");
    CHECK_THROWS(core.step(10), FaultError);
    CHECK(core.fault() == Fault::kBackendError);
    const int writes = franka_fake::write_count();
    for (int i = 0; i < 20; ++i) core.tick();
    CHECK(franka_fake::write_count() == writes);
    CHECK(core.recover());
  }
  // franka::Gripper fake: homing, move, grasp on an object, errors.
  {
    franka_fake::reset();
    franka::Gripper g("172.16.0.2");
    CHECK(g.homing());
    CHECK(franka_fake::gripper_homing_count() == 1);
    franka::GripperState st = g.readOnce();
    CHECK_NEAR(st.width, 0.08, 1e-12);
    CHECK_NEAR(st.max_width, 0.08, 1e-12);
    CHECK(g.move(0.05, 0.1));
    CHECK_NEAR(g.readOnce().width, 0.05, 1e-12);
    CHECK(!g.move(0.2, 0.1));  // wider than the hand
    franka_fake::gripper_set_object(0.03);
    CHECK(g.grasp(0.03, 0.1, 40.0, 0.005, 0.005));
    st = g.readOnce();
    CHECK(st.is_grasped);
    CHECK_NEAR(st.width, 0.03, 1e-12);
    CHECK(!g.grasp(0.01, 0.1, 40.0, 0.005, 0.005));  // object wider than the window
    CHECK(!g.readOnce().is_grasped);
    CHECK(g.stop());
    franka_fake::gripper_fail_next("Grasp command rejected");
    CHECK_THROWS(g.grasp(0.03, 0.1, 40.0), franka::CommandException);
    franka_fake::set_network_down(true);
    CHECK_THROWS(g.readOnce(), franka::NetworkException);
    CHECK_THROWS(franka::Gripper("172.16.0.2"), franka::NetworkException);
    franka_fake::set_network_down(false);
  }
  // Unreachable robot: the constructor reports the SDK's error.
  {
    franka_fake::reset();
    franka_fake::set_network_down(true);
    bool thrown = false;
    try {
      FrankaBackend b(cfg());
    } catch (const std::exception&) {
      thrown = true;
    }
    CHECK(thrown);
    franka_fake::set_network_down(false);
  }
  TEST_MAIN_END();
}
