// UR backend against the fake ur_rtde: state mapping, servoL tracking at 500 Hz,
// admittance under an external wrench, silent stream loss and disconnect detection.
#include <ur_rtde/fake.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>

#include "check.hpp"
#include "cpp_bridge/bridge_core.hpp"
#include "cpp_bridge/math.hpp"
#include "cpp_bridge/ur_backend.hpp"

using namespace cpp_bridge;

static BridgeConfig loop_cfg() {
  BridgeConfig c;
  c.period_s = 0.002;
  c.watchdog.policy_timeout_s = 100.0;
  c.limits.orientation_ref = rotvec_to_quat(Vec3(0, 3.14159, 0));
  c.limits.max_orientation_error = 0.5;
  return c;
}

int main() {
  const std::vector<double> home = {0.4, 0.1, 0.3, 0.0, 3.14159, 0.0};
  // State mapping: TCP pose (rotation vector) -> quaternion, speeds, wrench.
  {
    ur_fake::reset(home);
    ur_fake::set_tcp_force({1, 2, 3, 0.1, 0.2, 0.3});
    URBackend b(URConfig{});
    RobotState s;
    CHECK(b.read(s));
    CHECK(s.connected);
    CHECK_NEAR(s.ee.p.x(), 0.4, 1e-12);
    CHECK_NEAR(s.ee.p.z(), 0.3, 1e-12);
    CHECK(rotation_error(s.ee.q, rotvec_to_quat(Vec3(0, 3.14159, 0))).norm() < 1e-9);
    CHECK_NEAR(s.wrench[2], 3.0, 1e-12);
    CHECK_NEAR(s.wrench[5], 0.3, 1e-12);
  }
  // Tracking: the loop streams servoL poses and the TCP follows.
  {
    ur_fake::reset(home);
    BridgeCore core(std::make_unique<URBackend>(URConfig{}), loop_cfg());
    core.step(5);
    Pose goal = core.state().ee;
    goal.p += Vec3(0.02, 0.0, -0.01);
    core.set_policy_target(goal, 0.0);
    core.step(1000);
    const auto tcp = ur_fake::tcp_pose();
    CHECK((Vec3(tcp[0], tcp[1], tcp[2]) - goal.p).norm() < 1e-3);
    CHECK(ur_fake::servo_count() == 1005);
    // Admittance: a steady 20 N push offsets the servo target by about F / K = 1 cm.
    ur_fake::set_tcp_force({20, 0, 0, 0, 0, 0});
    core.step(1500);
    const auto servo = ur_fake::last_servo_pose();
    CHECK_NEAR(servo[0] - goal.p.x(), 20.0 / 2000.0, 1e-3);
    CHECK_NEAR(servo[1] - goal.p.y(), 0.0, 1e-6);
    ur_fake::set_tcp_force({1.0, 0, 0, 0, 0, 0});  // inside the deadband: offset decays
    core.step(1500);
    CHECK_NEAR(ur_fake::last_servo_pose()[0], goal.p.x(), 1e-4);
  }
  // Silent loss: isConnected() stays true but the timestamp freezes -> stale fault.
  {
    ur_fake::reset(home);
    BridgeCore core(std::make_unique<URBackend>(URConfig{}), loop_cfg());
    core.step(5);
    ur_fake::freeze_stream(true);
    CHECK_THROWS(core.step(50), FaultError);
    CHECK(core.fault() == Fault::kBackendStale);
    CHECK(core.recover());  // reconnect restores the stream
    core.step(20);
    CHECK(core.fault() == Fault::kNone);
  }
  // Disconnect: reported at once; recovery fails until the robot is reachable again.
  {
    ur_fake::reset(home);
    BridgeCore core(std::make_unique<URBackend>(URConfig{}), loop_cfg());
    core.step(5);
    ur_fake::set_connected(false);
    CHECK_THROWS(core.step(1), FaultError);
    CHECK(core.fault() == Fault::kDisconnected);
    CHECK(!core.recover());
    ur_fake::set_connected(true);
    CHECK(core.recover());
    CHECK(ur_fake::reconnect_count() >= 2);
    core.step(10);
    CHECK(core.fault() == Fault::kNone);
  }
  // Models and commands: e-Series 500 Hz, CB3 125 Hz; unknown values are refused naming
  // the field and the choices.
  {
    URConfig u;
    CHECK_NEAR(URBackend::resolve_frequency(u), 500.0, 0.0);
    u.model = "cb3";
    CHECK_NEAR(URBackend::resolve_frequency(u), 125.0, 0.0);
    u.frequency = 250.0;
    CHECK_NEAR(URBackend::resolve_frequency(u), 250.0, 0.0);
    u.model = "cb2";
    bool named = false;
    try {
      URBackend::resolve_frequency(u);
    } catch (const std::invalid_argument& e) {
      const std::string w = e.what();
      named = w.find("URConfig.model") != std::string::npos &&
              w.find("e-series") != std::string::npos && w.find("cb3") != std::string::npos;
    }
    CHECK(named);
    u.model = "e-series";
    u.command = "movel";
    named = false;
    try {
      URBackend b(u);
    } catch (const std::invalid_argument& e) {
      const std::string w = e.what();
      named = w.find("URConfig.command") != std::string::npos &&
              w.find("servoL") != std::string::npos && w.find("servoJ") != std::string::npos;
    }
    CHECK(named);
    // A CB3 cycles at 8 ms.
    ur_fake::reset(home);
    URConfig cb3;
    cb3.model = "cb3";
    URBackend b(cb3);
    CHECK_NEAR(b.frequency(), 125.0, 0.0);
    RobotState s0, s1;
    CHECK(b.read(s0));
    Command c;
    c.target.p = Vec3(0.4, 0.1, 0.3);
    c.target.q = s0.ee.q;
    CHECK(b.write(c));
    CHECK(b.read(s1));
    CHECK_NEAR(s1.stamp_s - s0.stamp_s, 0.008, 1e-12);
    // UR joint limits default to +-360 degrees.
    CHECK_NEAR(b.default_q_max()[0], 2.0 * M_PI, 1e-12);
  }
  // servoJ: the target goes through getInverseKinematics; no IK solution holds.
  {
    ur_fake::reset(home);
    URConfig u;
    u.command = "servoJ";
    auto backend = std::make_unique<URBackend>(u);
    URBackend* ur = backend.get();
    BridgeCore core(std::move(backend), loop_cfg());
    core.step(5);
    Pose goal = core.state().ee;
    goal.p += Vec3(0.02, 0.0, -0.01);
    core.set_policy_target(goal, 0.0);
    core.step(1000);
    auto tcp = ur_fake::tcp_pose();
    CHECK((Vec3(tcp[0], tcp[1], tcp[2]) - goal.p).norm() < 1e-3);
    CHECK(ur_fake::servoj_count() == 1005);
    CHECK(ur_fake::servo_count() == 0);
    CHECK(ur->ik_failures() == 0);
    ur_fake::set_ik_fails(true);
    goal.p.x() -= 0.02;
    core.set_policy_target(goal, 0.0);
    core.step(500);
    tcp = ur_fake::tcp_pose();
    CHECK(ur->ik_failures() == 500);
    CHECK_NEAR(tcp[0], goal.p.x() + 0.02, 1e-3);  // held at the last solvable target
    CHECK(core.fault() == Fault::kNone);
  }
  // Protective stop: BACKEND_ERROR, servoStop; recovery refused until it is unlocked.
  {
    ur_fake::reset(home);
    BridgeCore core(std::make_unique<URBackend>(URConfig{}), loop_cfg());
    core.step(5);
    const int stops = ur_fake::servo_stop_count();
    ur_fake::set_protective_stop(true);
    CHECK_THROWS(core.step(3), FaultError);
    CHECK(core.fault() == Fault::kBackendError);
    CHECK(std::string(core.state().fault_message).find("protective") != std::string::npos);
    CHECK(ur_fake::servo_stop_count() > stops);
    CHECK(!core.recover());
    ur_fake::set_protective_stop(false);
    CHECK(core.recover());
    core.step(5);
    CHECK(core.fault() == Fault::kNone);
  }
  // The link drops mid-run: DISCONNECTED, servoStop, the arm holds where it was.
  {
    ur_fake::reset(home);
    BridgeCore core(std::make_unique<URBackend>(URConfig{}), loop_cfg());
    core.step(5);
    Pose goal = core.state().ee;
    goal.p.x() += 0.05;
    core.set_policy_target(goal, 0.0);
    core.step(20);  // moving
    ur_fake::set_connected(false);
    const auto before = ur_fake::tcp_pose();
    const int stops = ur_fake::servo_stop_count();
    CHECK_THROWS(core.step(1), FaultError);
    CHECK(core.fault() == Fault::kDisconnected);
    for (int i = 0; i < 100; ++i) core.tick();
    CHECK(ur_fake::servo_stop_count() >= stops + 100);
    CHECK(ur_fake::tcp_pose() == before);
    CHECK(core.fault() == Fault::kDisconnected);
  }
  // Joint margin on a pose backend: the target returns to the last pose with every joint
  // outside its margin; the measured joint never crosses its limit.
  {
    ur_fake::reset(home);
    BridgeConfig c = loop_cfg();
    c.limits.q_min = VecJ::Constant(6, -2.0 * M_PI);
    c.limits.q_max = VecJ::Constant(6, 2.0 * M_PI);
    c.limits.q_max[0] = 0.43;  // the toy's q = TCP pose: x may not pass 0.43
    c.limits.joint_margin = 0.01;
    BridgeCore core(std::make_unique<URBackend>(URConfig{}), c);
    core.step(5);
    double max_x = 0.0;
    for (int k = 0; k < 10; ++k) {
      Pose goal = core.state().ee;
      goal.p.x() = std::min(goal.p.x() + 0.05, 0.5);
      core.set_policy_target(goal, 0.0);
      core.step(100);
      max_x = std::max(max_x, ur_fake::tcp_pose()[0]);
    }
    CHECK(max_x < 0.43);
    CHECK(max_x > 0.42);  // it did reach the margin
    CHECK(core.metrics().joint_limit_ticks > 0);
    CHECK(core.fault() == Fault::kNone);
  }
  TEST_MAIN_END();
}
