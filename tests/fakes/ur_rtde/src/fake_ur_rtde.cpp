// The toy robot behind the fake ur_rtde headers.
#include <ur_rtde/fake.h>
#include <ur_rtde/rtde_control_interface.h>
#include <ur_rtde/rtde_receive_interface.h>

#include <stdexcept>

namespace {
struct Sim {
  std::vector<double> tcp = std::vector<double>(6, 0.0);
  std::vector<double> speed = std::vector<double>(6, 0.0);
  std::vector<double> force = std::vector<double>(6, 0.0);
  std::vector<double> servo;
  double t = 0.0;
  double dt = 0.002;
  bool connected = true;
  bool protective = false;
  bool ik_fails = false;
  int servojs = 0;
  int iks = 0;
  bool frozen = false;
  int servos = 0;
  int stops = 0;
  int reconnects = 0;
};
Sim& sim() {
  static Sim s;
  return s;
}
void advance() {
  Sim& s = sim();
  if (s.frozen || !s.connected || s.protective) return;
  const double dt = s.dt;
  constexpr double lag = 0.3;  // fraction of the remaining error per cycle
  for (int i = 0; i < 6; ++i) {
    const double next = s.servo.empty() ? s.tcp[i] : s.tcp[i] + lag * (s.servo[i] - s.tcp[i]);
    s.speed[i] = (next - s.tcp[i]) / dt;
    s.tcp[i] = next;
  }
  s.t += dt;
}
}  // namespace

namespace ur_rtde {

RTDEControlInterface::RTDEControlInterface(std::string hostname, double frequency, uint16_t,
                                           int, int) {
  if (hostname.empty() || !sim().connected)
    throw std::runtime_error("ur_rtde: could not connect to " + hostname);
  if (frequency > 0) sim().dt = 1.0 / frequency;
}
RTDEControlInterface::~RTDEControlInterface() = default;
bool RTDEControlInterface::servoL(const std::vector<double>& pose, double, double, double, double,
                                  double) {
  if (!sim().connected || sim().protective || pose.size() != 6) return false;
  sim().servo = pose;
  sim().servos += 1;
  return true;
}
bool RTDEControlInterface::servoJ(const std::vector<double>& q, double, double, double, double,
                                  double) {
  if (!sim().connected || sim().protective || q.size() != 6) return false;
  sim().servo = q;  // q = pose on the toy robot
  sim().servojs += 1;
  return true;
}
std::vector<double> RTDEControlInterface::getInverseKinematics(const std::vector<double>& x,
                                                               const std::vector<double>&,
                                                               double, double) {
  sim().iks += 1;
  if (sim().ik_fails || x.size() != 6) return {};
  return x;
}
bool RTDEControlInterface::servoStop(double) {
  sim().stops += 1;
  sim().servo.clear();
  return sim().connected;
}
std::chrono::steady_clock::time_point RTDEControlInterface::initPeriod() {
  return std::chrono::steady_clock::now();
}
void RTDEControlInterface::waitPeriod(const std::chrono::steady_clock::time_point&) { advance(); }
bool RTDEControlInterface::isConnected() { return sim().connected; }
bool RTDEControlInterface::reconnect() {
  sim().reconnects += 1;
  return sim().connected;
}
void RTDEControlInterface::stopScript() {}
bool RTDEControlInterface::isProgramRunning() { return sim().connected; }

RTDEReceiveInterface::RTDEReceiveInterface(std::string hostname, double,
                                           std::vector<std::string>, bool, bool, int) {
  if (hostname.empty() || !sim().connected)
    throw std::runtime_error("ur_rtde: could not connect to " + hostname);
}
RTDEReceiveInterface::~RTDEReceiveInterface() = default;
bool RTDEReceiveInterface::isConnected() { return sim().connected; }
bool RTDEReceiveInterface::reconnect() {
  sim().reconnects += 1;
  if (sim().connected) sim().frozen = false;
  return sim().connected;
}
double RTDEReceiveInterface::getTimestamp() { return sim().t; }
std::vector<double> RTDEReceiveInterface::getActualQ() { return sim().tcp; }
std::vector<double> RTDEReceiveInterface::getActualQd() { return sim().speed; }
std::vector<double> RTDEReceiveInterface::getActualTCPPose() { return sim().tcp; }
std::vector<double> RTDEReceiveInterface::getActualTCPSpeed() { return sim().speed; }
std::vector<double> RTDEReceiveInterface::getActualTCPForce() { return sim().force; }
bool RTDEReceiveInterface::isProtectiveStopped() { return sim().protective; }

}  // namespace ur_rtde

namespace ur_fake {
void reset(const std::vector<double>& tcp_pose) {
  sim() = Sim();
  sim().tcp = tcp_pose;
}
void set_connected(bool connected) { sim().connected = connected; }
void freeze_stream(bool frozen) { sim().frozen = frozen; }
void set_tcp_force(const std::vector<double>& wrench) { sim().force = wrench; }
void set_protective_stop(bool stopped) { sim().protective = stopped; }
void set_ik_fails(bool fails) { sim().ik_fails = fails; }
int servoj_count() { return sim().servojs; }
int ik_count() { return sim().iks; }
int servo_count() { return sim().servos; }
int servo_stop_count() { return sim().stops; }
int reconnect_count() { return sim().reconnects; }
std::vector<double> last_servo_pose() { return sim().servo; }
std::vector<double> tcp_pose() { return sim().tcp; }
}  // namespace ur_fake
