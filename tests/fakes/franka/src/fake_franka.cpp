// The toy robot behind the fake libfranka headers.
#include <franka/exception.h>
#include <franka/fake.h>
#include <franka/gripper.h>
#include <franka/model.h>
#include <franka/robot.h>

#include <cmath>

namespace {
// Inside the FR3 and Panda joint limits (joint 4 < 0, joint 6 > 0.55).
constexpr std::array<double, 7> kHome = {0.0, 0.0, 0.0, -1.5, 0.0, 1.5, 0.0};
struct Sim {
  franka::RobotState state;
  std::array<double, 7> tau{};
  int reflex_in = -1;
  std::string reflex_what;
  bool reflex = false;
  bool network_down = false;
  bool finished = false;
  int recoveries = 0;
  int writes = 0;
  int starts = 0;
  int drop_in = -1;
  uint64_t ms = 0;
  // gripper
  double g_width = 0.0;
  double g_max = 0.08;
  double g_object = 0.0;
  bool g_grasped = false;
  std::string g_fail;
  int g_homings = 0;
  int g_stops = 0;
};
Sim& sim() {
  static Sim s;
  return s;
}

void update_pose(franka::RobotState& st) {
  const double c = std::cos(st.q[3]), s = std::sin(st.q[3]);
  st.O_T_EE = {c, s, 0, 0, -s, c, 0, 0, 0, 0, 1, 0, 0.3 + st.q[0], st.q[1], 0.5 + st.q[2], 1};
}

void check_network() {
  if (sim().network_down) throw franka::NetworkException("libfranka: connection timeout");
}

class FakeActiveControl final : public franka::ActiveControlBase {
 public:
  std::pair<franka::RobotState, franka::Duration> readOnce() override {
    check_network();
    Sim& s = sim();
    if (s.drop_in == 0) {
      s.drop_in = -1;
      s.network_down = true;
      check_network();
    }
    if (s.drop_in > 0) --s.drop_in;
    if (s.reflex) throw franka::ControlException("libfranka: robot is in reflex mode");
    if (s.reflex_in == 0) {
      s.reflex_in = -1;
      s.reflex = true;
      s.state.robot_mode = franka::RobotMode::kReflex;
      throw franka::ControlException(s.reflex_what);
    }
    if (s.reflex_in > 0) --s.reflex_in;
    // Advance the toy dynamics by 1 ms with the last torque.
    for (int i = 0; i < 7; ++i) {
      s.state.dq[i] += s.tau[i] * 0.001;
      s.state.q[i] += s.state.dq[i] * 0.001;
      s.state.tau_J[i] = s.tau[i];
    }
    s.ms += 1;
    s.state.time = franka::Duration(s.ms);
    update_pose(s.state);
    return {s.state, franka::Duration(1)};
  }
  void writeOnce(const franka::Torques& t) override {
    check_network();
    Sim& s = sim();
    if (s.reflex) throw franka::ControlException("libfranka: writeOnce in reflex mode");
    s.tau = t.tau_J;
    s.writes += 1;
    if (t.motion_finished) s.finished = true;
  }
};
}  // namespace

namespace franka {

Torques::Torques(std::initializer_list<double> torques) {
  if (torques.size() != 7) throw ControlException("Torques: invalid size");
  std::copy(torques.begin(), torques.end(), tau_J.begin());
}

Robot::Robot(const std::string& franka_address, RealtimeConfig, size_t) {
  if (franka_address.empty()) throw NetworkException("libfranka: empty address");
  check_network();
}
Robot::~Robot() = default;
Model Robot::loadModel() {
  check_network();
  return Model();
}
void Robot::automaticErrorRecovery() {
  check_network();
  sim().reflex = false;
  sim().state.robot_mode = RobotMode::kIdle;
  sim().recoveries += 1;
}
std::unique_ptr<ActiveControlBase> Robot::startTorqueControl() {
  check_network();
  if (sim().reflex) throw ControlException("libfranka: cannot start control in reflex mode");
  sim().starts += 1;
  sim().finished = false;
  sim().state.robot_mode = RobotMode::kMove;
  return std::make_unique<FakeActiveControl>();
}
RobotState Robot::readOnce() {
  check_network();
  return sim().state;
}
void Robot::stop() {}

std::array<double, 42> Model::zeroJacobian(Frame, const RobotState& st) const {
  std::array<double, 42> j{};  // column-major 6x7
  j[0 * 6 + 0] = 1.0;          // q0 -> x
  j[1 * 6 + 1] = 1.0;          // q1 -> y
  j[2 * 6 + 2] = 1.0;          // q2 -> z
  j[3 * 6 + 5] = 1.0;          // q3 -> rotation about z
  (void)st;
  return j;
}
std::array<double, 7> Model::coriolis(const RobotState& st) const noexcept {
  std::array<double, 7> c{};
  for (int i = 0; i < 7; ++i) c[i] = 0.01 * st.dq[i];
  return c;
}

}  // namespace franka

namespace {
void gripper_command() {
  check_network();
  Sim& s = sim();
  if (!s.g_fail.empty()) {
    const std::string what = s.g_fail;
    s.g_fail.clear();
    throw franka::CommandException(what);
  }
}
}  // namespace

namespace franka {

Gripper::Gripper(const std::string& franka_address) {
  if (franka_address.empty()) throw NetworkException("libfranka gripper: empty address");
  check_network();
}
Gripper::~Gripper() = default;
bool Gripper::homing() const {
  gripper_command();
  sim().g_homings += 1;
  sim().g_width = sim().g_max;
  sim().g_grasped = false;
  return true;
}
bool Gripper::move(double width, double speed) const {
  gripper_command();
  Sim& s = sim();
  if (width < 0.0 || width > s.g_max || !(speed > 0.0)) return false;
  if (s.g_object > 0.0 && width < s.g_object) {  // blocked by the object
    s.g_width = s.g_object;
    s.g_grasped = false;
    return false;
  }
  s.g_width = width;
  s.g_grasped = false;
  return true;
}
bool Gripper::grasp(double width, double speed, double force, double epsilon_inner,
                    double epsilon_outer) const {
  gripper_command();
  Sim& s = sim();
  if (width < 0.0 || width > s.g_max || !(speed > 0.0) || !(force > 0.0)) return false;
  s.g_width = s.g_object > width ? s.g_object : width;
  s.g_grasped = s.g_width >= width - epsilon_inner && s.g_width <= width + epsilon_outer;
  return s.g_grasped;
}
bool Gripper::stop() const {
  check_network();
  sim().g_stops += 1;
  return true;
}
GripperState Gripper::readOnce() const {
  check_network();
  GripperState st;
  st.width = sim().g_width;
  st.max_width = sim().g_max;
  st.is_grasped = sim().g_grasped;
  st.temperature = 31;
  st.time = Duration(sim().ms);
  return st;
}

}  // namespace franka

namespace franka_fake {
void drop_network_after(int n) { sim().drop_in = n; }
void set_external_wrench(const std::array<double, 6>& wrench) {
  sim().state.O_F_ext_hat_K = wrench;
}
void gripper_set_object(double width) { sim().g_object = width; }
void gripper_fail_next(const std::string& what) { sim().g_fail = what; }
int gripper_homing_count() { return sim().g_homings; }
int gripper_stop_count() { return sim().g_stops; }
void reset() {
  sim() = Sim();
  sim().state.q = kHome;
  update_pose(sim().state);
}
void inject_reflex_after(int n, const std::string& what) {
  sim().reflex_in = n;
  sim().reflex_what = what;
}
void set_network_down(bool down) { sim().network_down = down; }
int recovery_count() { return sim().recoveries; }
int write_count() { return sim().writes; }
int start_count() { return sim().starts; }
bool finished() { return sim().finished; }
std::array<double, 7> last_torque() { return sim().tau; }
void set_q(const std::array<double, 7>& q) {
  sim().state.q = q;
  update_pose(sim().state);
}
}  // namespace franka_fake
