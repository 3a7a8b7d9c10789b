// Plain value types shared by the control thread and the API threads.
//
// Everything here is fixed-capacity (no heap) so that copying a state or a command in the
// real-time thread never allocates: joint vectors use Eigen's "dynamic size, static
// capacity" matrices bounded by kMaxDof.
#pragma once

#include <Eigen/Core>
#include <Eigen/Geometry>
#include <cstdint>

namespace cpp_bridge {

constexpr int kMaxDof = 7;

using Vec3 = Eigen::Vector3d;
using Vec6 = Eigen::Matrix<double, 6, 1>;
using Quat = Eigen::Quaterniond;
using VecJ = Eigen::Matrix<double, Eigen::Dynamic, 1, Eigen::ColMajor, kMaxDof, 1>;
using Jac = Eigen::Matrix<double, 6, Eigen::Dynamic, Eigen::ColMajor, 6, kMaxDof>;
using MatJ = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor, kMaxDof,
                           kMaxDof>;

/// End-effector pose: position in metres, unit quaternion orientation.
struct Pose {
  Vec3 p = Vec3::Zero();
  Quat q = Quat::Identity();
};

/// Who drives the commanded target.
enum class Mode : int { kPolicy = 0, kTeleop = 1, kShared = 2 };

/// Latched faults. Only an explicit recover() clears them.
enum class Fault : int {
  kNone = 0,
  kBackendStale = 1,    // the backend's state stopped advancing
  kDisconnected = 2,    // the backend reports the link is down
  kNonFiniteState = 3,  // the backend delivered NaN/inf
  kBackendError = 4,    // the SDK reported an error (e.g. a Franka reflex)
  kJointLimit = 5,      // a measured joint position left [q_min, q_max]
  kWatchdogStop = 6,    // no set-point and no engaged teleop for too long: stopped
};

const char* fault_name(Fault f);

/// The latest policy goal: an absolute end-effector pose.
struct PolicyTarget {
  Pose pose;
  double gripper = 0.0;  // opening command forwarded to the backend, [0, 1]; < 0: none
  std::int64_t stamp_ns = -1;  // clock time at which it was written (-1: never)
  std::uint64_t seq = 0;
};

/// The latest teleop input: a twist in the base frame plus the "engaged" button.
struct TeleopInput {
  Vec6 twist = Vec6::Zero();  // (vx, vy, vz, wx, wy, wz) in m/s and rad/s
  bool engaged = false;
  double gripper = -1.0;  // the human's gripper command in [0, 1]; negative: none
  std::int64_t stamp_ns = -1;
  std::uint64_t seq = 0;
};

/// What a backend measures each tick.
struct RobotState {
  int dof = 0;
  VecJ q, dq;
  VecJ coriolis;  // Coriolis/centrifugal torque the controller feeds forward
  Jac jacobian;   // base-frame geometric Jacobian of the end effector (linear; angular)
  Pose ee;
  Vec6 ee_twist = Vec6::Zero();
  Vec6 wrench = Vec6::Zero();  // measured external wrench (used by admittance backends)
  double stamp_s = 0.0;  // backend's own time stamp; must advance every tick
  bool connected = true;
};

/// What the controller sends to a backend each tick.
struct Command {
  VecJ tau;          // joint torques (torque backends)
  Pose target;       // filtered, clipped Cartesian target (admittance backends)
  Vec6 stiffness = Vec6::Zero();
  Vec6 damping = Vec6::Zero();
  double gripper = 0.0;
  bool stop = false;  // fault: bring the robot to rest
};

}  // namespace cpp_bridge
