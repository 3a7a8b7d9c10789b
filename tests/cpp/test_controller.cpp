// Impedance torques against hand-computed values on the test plant (J = I), the
// nullspace projection on a 7-joint Jacobian, and a converging step response.
#include <cmath>
#include <memory>

#include "check.hpp"
#include "cpp_bridge/bridge_core.hpp"
#include "cpp_bridge/controller.hpp"
#include "cpp_bridge/math.hpp"
#include "cpp_bridge/test_plant.hpp"

using namespace cpp_bridge;

static RobotState plant_state(const Pose& ee, const Vec6& vel) {
  RobotState s;
  s.dof = 6;
  s.q = VecJ::Zero(6);
  s.dq = vel;
  s.coriolis = VecJ::Zero(6);
  s.jacobian = Jac::Identity(6, 6);
  s.ee = ee;
  return s;
}

static Gains exact_gains() {
  Gains g;
  g.stiffness << 1000, 1500, 2000, 100, 120, 150;
  g.damping << 50, 60, 70, 5, 6, 7;
  g.error_clip = Vec6::Constant(10.0);
  g.nullspace_stiffness = 0;
  g.nullspace_damping = 0;
  g.target_filter = 1.0;
  g.gain_filter = 1.0;
  return g;
}

int main() {
  // 1) Pure position error plus velocity: tau = -K e - D v exactly.
  {
    Pose ee;
    ee.p = Vec3(0.30, -0.10, 0.50);
    Vec6 v;
    v << 0.1, -0.2, 0.05, 0.0, 0.0, 0.0;
    const RobotState s = plant_state(ee, v);
    Pose target;
    target.p = Vec3(0.31, -0.12, 0.50);
    ImpedanceController c;
    c.reset(s, exact_gains(), VecJ());
    VecJ tau(6);
    c.compute(s, target, tau);
    // e = measured - desired = (-0.01, 0.02, 0); hand-computed:
    CHECK_NEAR(tau[0], -1000 * -0.01 - 50 * 0.1, 1e-9);   // 10 - 5 = 5
    CHECK_NEAR(tau[1], -1500 * 0.02 - 60 * -0.2, 1e-9);   // -30 + 12 = -18
    CHECK_NEAR(tau[2], -2000 * 0.0 - 70 * 0.05, 1e-9);    // -3.5
    CHECK_NEAR(tau[3], 0.0, 1e-12);
    CHECK_NEAR(tau[0], 5.0, 1e-9);
    CHECK_NEAR(tau[1], -18.0, 1e-9);
    CHECK_NEAR(tau[2], -3.5, 1e-9);
  }
  // 2) Rotation error: target rotated +0.02 rad about z -> error -0.02 -> tau_z = +150*0.02.
  {
    Pose ee;
    const RobotState s = plant_state(ee, Vec6::Zero());
    Pose target;
    target.q = rotvec_to_quat(Vec3(0, 0, 0.02));
    ImpedanceController c;
    c.reset(s, exact_gains(), VecJ());
    VecJ tau(6);
    c.compute(s, target, tau);
    CHECK_NEAR(tau[5], 3.0, 1e-9);
    CHECK_NEAR(tau[3], 0.0, 1e-9);
    CHECK_NEAR(tau[0], 0.0, 1e-12);
  }
  // 3) Per-axis error clip: 5 cm error with a 1 cm clip gives K * 1 cm.
  {
    Pose ee;
    const RobotState s = plant_state(ee, Vec6::Zero());
    Pose target;
    target.p = Vec3(0.05, 0.0, -0.002);
    Gains g = exact_gains();
    g.error_clip << 0.01, 0.01, 0.01, 0.05, 0.05, 0.05;
    ImpedanceController c;
    c.reset(s, g, VecJ());
    VecJ tau(6);
    c.compute(s, target, tau);
    CHECK_NEAR(tau[0], 1000 * 0.01, 1e-9);
    CHECK_NEAR(tau[2], -2000 * 0.002, 1e-9);  // inside the clip: untouched
  }
  // 4) Target filter: with alpha = 0.5 the first tick sees half the step.
  {
    Pose ee;
    const RobotState s = plant_state(ee, Vec6::Zero());
    Pose target;
    target.p = Vec3(0.004, 0, 0);
    Gains g = exact_gains();
    g.target_filter = 0.5;
    ImpedanceController c;
    c.reset(s, g, VecJ());
    VecJ tau(6);
    c.compute(s, target, tau);
    CHECK_NEAR(tau[0], 1000 * 0.002, 1e-9);
    c.compute(s, target, tau);
    CHECK_NEAR(tau[0], 1000 * 0.003, 1e-9);
  }
  // 5) Nullspace posture torque does not disturb the task: J * tau_null ~ 0.
  {
    RobotState s;
    s.dof = 7;
    s.jacobian = Jac::Zero(6, 7);
    for (int r = 0; r < 6; ++r)
      for (int c = 0; c < 7; ++c) s.jacobian(r, c) = std::sin(1.0 + r * r * 0.7 + c * c * 1.3 + r * c);  // full rank
    s.q = VecJ::Zero(7);
    s.dq = VecJ::Zero(7);
    s.coriolis = VecJ::Zero(7);
    VecJ qn = VecJ::Constant(7, 0.3);
    Gains g = exact_gains();
    g.nullspace_stiffness = 10;
    g.nullspace_damping = 0;
    ImpedanceController c;
    c.reset(s, g, qn);
    VecJ tau(7);
    c.compute(s, s.ee, tau);  // zero task error: only posture torque remains
    CHECK(tau.norm() > 1e-3);
    // Dynamically consistent with identity metric: the task-space force of tau is zero.
    Eigen::Matrix<double, 6, 6> jjt = s.jacobian * s.jacobian.transpose();
    const Vec6 f = jjt.ldlt().solve(s.jacobian * tau);
    CHECK(std::abs(jjt.determinant()) > 1e-3);
    CHECK(f.norm() < 1e-4 * tau.norm());
  }
  // 6) Step response on the test plant converges without a fault.
  {
    BridgeConfig cfg;
    cfg.gains.nullspace_stiffness = 0;
    cfg.gains.nullspace_damping = 0;
    cfg.watchdog.policy_timeout_s = 10.0;
    TestPlantConfig pc;
    pc.initial.p = Vec3(0.4, 0.0, 0.3);
    BridgeCore core(std::make_unique<TestPlant>(pc), cfg);
    Pose goal;
    goal.p = Vec3(0.45, 0.02, 0.28);
    core.step(1);
    core.set_policy_target(goal, 0.0);
    core.step(3000);
    const StateSnapshot s = core.state();
    CHECK((s.ee.p - goal.p).norm() < 1e-3);
    CHECK(s.ee_twist.norm() < 1e-2);
    CHECK(core.metrics().torque_violations == 0);
    CHECK(core.metrics().max_dtau <= 1.0 + 1e-12);
  }
  TEST_MAIN_END();
}
