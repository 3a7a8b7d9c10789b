// A million random targets and teleop inputs (NaN and infinities included) never put the
// commanded target outside the box, never change a torque by more than max_dtau per
// tick and never exceed the torque limits.
#include <cmath>
#include <limits>
#include <memory>
#include <random>

#include "check.hpp"
#include "cpp_bridge/bridge_core.hpp"
#include "cpp_bridge/math.hpp"
#include "cpp_bridge/test_plant.hpp"

using namespace cpp_bridge;

namespace {
double wild(std::mt19937_64& rng) {
  std::uniform_int_distribution<int> kind(0, 19);
  std::uniform_real_distribution<double> u(-3.0, 3.0);
  switch (kind(rng)) {
    case 0: return std::numeric_limits<double>::quiet_NaN();
    case 1: return std::numeric_limits<double>::infinity();
    case 2: return -std::numeric_limits<double>::infinity();
    case 3: return u(rng) * 1e6;
    default: return u(rng);
  }
}
}  // namespace

int main() {
  std::mt19937_64 rng(1234);
  // 1) Safety alone on a million random (prev, desired) pairs.
  {
    Safety s;
    SafetyLimits l;
    l.box_min = Vec3(-0.3, -0.2, 0.0);
    l.box_max = Vec3(0.4, 0.2, 0.5);
    l.orientation_ref = rotvec_to_quat(Vec3(3.14159, 0, 0));
    l.max_orientation_error = 0.5;
    l.tau_max = VecJ::Constant(7, 12.0);
    s.configure(l);
    Pose prev;
    prev.p = Vec3(0.0, 0.0, 0.2);
    prev.q = l.orientation_ref;
    VecJ tau_prev = VecJ::Zero(7), tau(7), des(7);
    std::uint64_t outside = 0, rate = 0, mag = 0;
    for (int i = 0; i < 1000000; ++i) {
      Pose d;
      d.p = Vec3(wild(rng), wild(rng), wild(rng));
      d.q = Quat(wild(rng), wild(rng), wild(rng), wild(rng));
      Pose out;
      s.clip_target(prev, d, 0.001, out);
      if (!s.target_inside(out)) ++outside;
      prev = out;
      for (int j = 0; j < 7; ++j) des[j] = wild(rng) * 50;
      s.limit_torque(des, tau_prev, tau);
      for (int j = 0; j < 7; ++j) {
        if (!(std::abs(tau[j] - tau_prev[j]) <= 1.0 + 1e-12)) ++rate;
        if (!(std::abs(tau[j]) <= 12.0 + 1e-12)) ++mag;
      }
      tau_prev = tau;
    }
    CHECK(outside == 0);
    CHECK(rate == 0);
    CHECK(mag == 0);
  }
  // 2) The whole loop, a million ticks of random inputs through the API.
  {
    BridgeConfig cfg;
    cfg.timing_capacity = 0;
    cfg.limits.box_min = Vec3(-0.2, -0.2, 0.0);
    cfg.limits.box_max = Vec3(0.2, 0.2, 0.4);
    cfg.limits.max_orientation_error = 0.6;
    cfg.limits.max_lin_speed = 2.0;
    cfg.limits.max_ang_speed = 5.0;
    TestPlantConfig pc;
    pc.initial.p = Vec3(0.0, 0.0, 0.2);
    pc.tau_max = 30.0;
    pc.damping = 2.0;
    BridgeCore core(std::make_unique<TestPlant>(pc), cfg);
    std::uniform_int_distribution<int> pick(0, 9);
    std::uint64_t rejected = 0, outside = 0, rate = 0, mag = 0;
    VecJ last_tau = VecJ::Zero(6);
    for (int i = 0; i < 1000000; ++i) {
      const int what = pick(rng);
      if (what == 0) {
        Pose p;
        p.p = Vec3(wild(rng), wild(rng), wild(rng));
        p.q = Quat(wild(rng), wild(rng), wild(rng), wild(rng));
        try {
          core.set_policy_target(p, 0.5);
        } catch (const SafetyError&) {
          ++rejected;
        }
      } else if (what == 1) {
        Vec6 t;
        for (int j = 0; j < 6; ++j) t[j] = wild(rng);
        try {
          core.set_teleop(t, pick(rng) < 7);
        } catch (const SafetyError&) {
          ++rejected;
        }
      } else if (what == 2 && pick(rng) == 0) {
        core.set_mode(static_cast<Mode>(pick(rng) % 3));
      }
      core.step(1);
      const StateSnapshot s = core.state();
      if (!core.safety_limits().box_min.isApprox(cfg.limits.box_min)) ++outside;
      if ((s.target.p.array() < cfg.limits.box_min.array() - 1e-9).any() ||
          (s.target.p.array() > cfg.limits.box_max.array() + 1e-9).any() ||
          !s.target.p.allFinite())
        ++outside;
      for (int j = 0; j < 6; ++j) {
        if (!(std::abs(s.tau[j] - last_tau[j]) <= 1.0 + 1e-12)) ++rate;
        if (!(std::abs(s.tau[j]) <= 30.0 + 1e-12)) ++mag;
      }
      last_tau = s.tau;
    }
    CHECK(rejected > 0);  // the fuzzer did produce bad input
    CHECK(outside == 0);
    CHECK(rate == 0);
    CHECK(mag == 0);
    const Metrics m = core.metrics();
    CHECK(m.box_violations == 0);
    CHECK(m.torque_violations == 0);
    CHECK(m.ticks == 1000000);
  }
  TEST_MAIN_END();
}
