#include "cpp_bridge/test_plant.hpp"

#include <chrono>
#include <limits>
#include <thread>

#include "cpp_bridge/math.hpp"

namespace cpp_bridge {

TestPlant::TestPlant(const TestPlantConfig& cfg) : cfg_(cfg), pose_(cfg.initial) {
  pose_.q.normalize();
}

bool TestPlant::read(RobotState& s) {
  if (delay_n_.load() > 0) {
    delay_n_.fetch_sub(1);
    std::this_thread::sleep_for(std::chrono::duration<double>(delay_s_.load()));
  }
  if (sdk_error_.load()) {
    error_ = "injected SDK error";
    return false;
  }
  s.dof = 6;
  s.connected = connected_.load();
  if (drop_.load() > 0) return true;  // stale: the previous state (and stamp) stays
  s.q.resize(6);
  s.q.head<3>() = pose_.p;
  s.q.tail<3>() = quat_to_rotvec(pose_.q);
  s.dq = vel_;
  s.coriolis = VecJ::Zero(6);
  s.jacobian = Jac::Identity(6, 6);
  s.ee = pose_;
  s.ee_twist = vel_;
  s.wrench.setZero();
  s.stamp_s = time_;
  if (nan_.exchange(false)) s.q[0] = std::numeric_limits<double>::quiet_NaN();
  return true;
}

bool TestPlant::write(const Command& c) {
  if (drop_.load() > 0) return true;
  for (int i = 0; i < 6; ++i) applied_[i] = c.tau[i];
  return true;
}

void TestPlant::advance(double dt) {
  if (drop_.load() > 0) {
    drop_.fetch_sub(1);
    return;
  }
  // Semi-implicit Euler: velocity first, then pose with the new velocity.
  const Vec3 f = applied_.head<3>() - cfg_.damping * vel_.head<3>();
  const Vec3 t = applied_.tail<3>() - cfg_.damping * vel_.tail<3>();
  vel_.head<3>() += f / cfg_.mass * dt;
  vel_.tail<3>() += t / cfg_.inertia * dt;
  pose_.p += vel_.head<3>() * dt;
  pose_.q = (rotvec_to_quat(vel_.tail<3>() * dt) * pose_.q).normalized();
  time_ += dt;
}

bool TestPlant::recover() {
  recover_calls_.fetch_add(1);
  if (!connected_.load()) {
    error_ = "still disconnected";
    return false;
  }
  sdk_error_.store(false);
  error_ = "";
  return true;
}

}  // namespace cpp_bridge
