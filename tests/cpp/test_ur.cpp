// UR backend against the fake ur_rtde: state mapping, servoL tracking at 500 Hz,
// admittance under an external wrench, silent stream loss and disconnect detection.
#include <ur_rtde/fake.h>

#include <memory>

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
  TEST_MAIN_END();
}
