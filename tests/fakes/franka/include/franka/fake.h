// Test-only controls of the fake libfranka robot (not part of the real SDK).
//
// The toy robot: unit joint inertia driven by the commanded torques (1 ms per readOnce);
// end effector at (0.3 + q0, q1, 0.5 + q2) rotated by q3 about z; Coriolis = 0.01 * dq.
// reset() puts it at q = (0, 0, 0, -1.5, 0, 1.5, 0), inside the FR3 and Panda limits.
#pragma once

#include <array>
#include <string>

namespace franka_fake {

void reset();
/// The n-th readOnce from now throws ControlException(what); the robot is then in reflex
/// mode until automaticErrorRecovery().
void inject_reflex_after(int n, const std::string& what);
/// Every call throws NetworkException while down (robot and gripper).
void set_network_down(bool down);
/// The link drops after n more successful readOnce calls of the control loop.
void drop_network_after(int n);
int recovery_count();
int write_count();
int start_count();
bool finished();
std::array<double, 7> last_torque();
void set_q(const std::array<double, 7>& q);
void set_external_wrench(const std::array<double, 6>& wrench);

// ---- franka::Gripper (max width 0.08 m after homing) ----
/// An object of this width between the fingers (0: none); grasp stops on it.
void gripper_set_object(double width);
/// The next gripper command throws CommandException(what).
void gripper_fail_next(const std::string& what);
int gripper_homing_count();
int gripper_stop_count();

}  // namespace franka_fake
