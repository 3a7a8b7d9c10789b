// Test-only controls of the fake ur_rtde robot (not part of the real SDK).
//
// The toy robot: each waitPeriod() advances 2 ms; the TCP moves to the last servoL pose
// with a first-order lag; joints mirror the TCP pose (q = pose). A silent connection
// loss keeps isConnected() true but freezes the timestamp, as the real library does
// when the data stream stops.
#pragma once

#include <vector>

namespace ur_fake {

void reset(const std::vector<double>& tcp_pose);
void set_connected(bool connected);   // isConnected() false, reconnect() fails while false
void freeze_stream(bool frozen);      // timestamp and state stop updating silently
void set_tcp_force(const std::vector<double>& wrench);
int servo_count();
int servo_stop_count();
int reconnect_count();
std::vector<double> last_servo_pose();
std::vector<double> tcp_pose();

}  // namespace ur_fake
