// Test-only controls of the fake ur_rtde robot (not part of the real SDK).
//
// The toy robot: each waitPeriod() advances one period (2 ms at 500 Hz, 8 ms at 125 Hz);
// the TCP moves to the last servoL pose with a first-order lag; joints mirror the TCP pose
// (q = pose), so getInverseKinematics(pose) = pose and servoJ(q) moves the TCP to q. A silent connection
// loss keeps isConnected() true but freezes the timestamp, as the real library does
// when the data stream stops.
#pragma once

#include <vector>

namespace ur_fake {

void reset(const std::vector<double>& tcp_pose);
void set_connected(bool connected);   // isConnected() false, reconnect() fails while false
void freeze_stream(bool frozen);      // timestamp and state stop updating silently
void set_tcp_force(const std::vector<double>& wrench);
/// isProtectiveStopped() true, servoL/servoJ refused; recover() fails until cleared.
void set_protective_stop(bool stopped);
/// getInverseKinematics returns no solution (an empty vector) while set.
void set_ik_fails(bool fails);
int servoj_count();
int ik_count();
int servo_count();
int servo_stop_count();
int reconnect_count();
std::vector<double> last_servo_pose();
std::vector<double> tcp_pose();

}  // namespace ur_fake
