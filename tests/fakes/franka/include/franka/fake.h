// Test-only controls of the fake libfranka robot (not part of the real SDK).
//
// The toy robot: unit joint inertia driven by the commanded torques (1 ms per readOnce);
// end effector at (0.3 + q0, q1, 0.5 + q2) rotated by q3 about z; Coriolis = 0.01 * dq.
#pragma once

#include <array>
#include <string>

namespace franka_fake {

void reset();
/// The n-th readOnce from now throws ControlException(what); the robot is then in reflex
/// mode until automaticErrorRecovery().
void inject_reflex_after(int n, const std::string& what);
/// Every call throws NetworkException while down.
void set_network_down(bool down);
int recovery_count();
int write_count();
int start_count();
bool finished();
std::array<double, 7> last_torque();
void set_q(const std::array<double, 7>& q);

}  // namespace franka_fake
