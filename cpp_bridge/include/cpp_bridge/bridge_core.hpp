// The loop that owns the robot. One tick: read the backend, take the newest policy
// target / teleop input / settings from wait-free buffers, run the watchdogs, mix, clip
// to the safety limits, compute impedance torques, limit them, write, publish state and
// metrics. It runs either in the caller's thread (lockstep, `step(n)`) or in its own
// thread at the backend's rate (real-time mode). Nothing in a tick allocates or locks.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <mutex>
#include <thread>

#include "cpp_bridge/backend.hpp"
#include "cpp_bridge/clock.hpp"
#include "cpp_bridge/config.hpp"
#include "cpp_bridge/controller.hpp"
#include "cpp_bridge/metrics.hpp"
#include "cpp_bridge/mixer.hpp"
#include "cpp_bridge/safety.hpp"
#include "cpp_bridge/triple_buffer.hpp"
#include "cpp_bridge/watchdog.hpp"

namespace cpp_bridge {

/// Published once per tick for readers.
struct StateSnapshot {
  double time_s = 0.0;
  std::uint64_t tick = 0;
  int dof = 0;
  Pose ee;
  Vec6 ee_twist = Vec6::Zero();
  Vec6 wrench = Vec6::Zero();  // measured external wrench, base frame (zeros: none)
  VecJ q, dq, tau;
  Pose target;           // commanded target after mixing and safety
  Mode mode = Mode::kShared;
  bool intervention = false;
  std::uint64_t intervention_total = 0;
  bool policy_stale = true;
  bool teleop_stale = true;
  double gripper = 0.0;
  std::uint64_t rejected_targets = 0;  // policy targets rejected so far (NaN, jumps)
  bool near_joint_limit = false;       // a joint is inside its limit margin
  Fault fault = Fault::kNone;
  char fault_message[160] = {0};
};

/// Thrown by API calls when a fault is latched; carries the fault and the tick.
class FaultError : public std::runtime_error {
 public:
  FaultError(Fault f, std::uint64_t tick, const std::string& msg)
      : std::runtime_error(msg), fault(f), tick(tick) {}
  Fault fault;
  std::uint64_t tick;
};

/// Thrown for rejected inputs (non-finite targets, bad limits).
class SafetyError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

class BridgeCore {
 public:
  /// `clock`: optional injected clock (not owned). Default: simulated time in lockstep,
  /// the steady clock in real-time mode.
  BridgeCore(std::unique_ptr<Backend> backend, const BridgeConfig& cfg, Clock* clock = nullptr);
  ~BridgeCore();
  BridgeCore(const BridgeCore&) = delete;
  BridgeCore& operator=(const BridgeCore&) = delete;

  // ---- API side (one API thread at a time) ----
  /// Throws SafetyError on non-finite input, FaultError when a fault is latched.
  void set_policy_target(const Pose& pose, double gripper = 0.0);
  void set_teleop(const Vec6& twist, bool engaged, double gripper = -1.0);
  void set_mode(Mode m);
  void set_gains(const Gains& g);
  void set_safety_limits(const SafetyLimits& l);
  /// Re-initialises the commanded target at the measured pose on the next tick (after the
  /// caller moved the robot or the simulation, e.g. an episode reset); policy goals sent
  /// before this call are not pursued. Throws FaultError when a fault is latched.
  void reset();
  const Gains& gains() const { return api_gains_; }
  const SafetyLimits& safety_limits() const { return api_limits_; }
  Mode mode() const { return api_mode_; }

  /// Newest state. `intervened_ticks`/`ticks_since` count since the previous call.
  StateSnapshot state(std::uint64_t* intervened_ticks = nullptr,
                      std::uint64_t* ticks_since = nullptr);
  Metrics metrics();
  std::vector<float> compute_us_samples() const { return compute_ring_.snapshot(); }
  std::vector<float> wake_late_us_samples() const { return late_ring_.snapshot(); }
  void clear_samples();

  Fault fault() const { return static_cast<Fault>(fault_.load(std::memory_order_acquire)); }
  /// Policy targets rejected so far: non-finite ones at the API, jumps in the loop.
  std::uint64_t rejected_targets() const;
  /// Throws FaultError if a fault is latched.
  void check() const;
  /// Clears a latched fault through the backend's recovery. Returns false when there was
  /// no fault to clear or the backend could not recover (the fault then stays).
  bool recover();
  /// Non-blocking form for callers that must stay responsive (the Python binding polls
  /// for Ctrl-C): request_recover() returns a ticket, poll_recover(ticket) returns -1 while
  /// pending, then 1 (cleared) or 0 (not cleared). Real-time mode only.
  std::uint64_t request_recover();
  int poll_recover(std::uint64_t ticket) const;

  // ---- lockstep ----
  /// Runs `n` ticks in the calling thread; stops early and throws FaultError on a fault.
  void step(std::int64_t n);

  // ---- real-time ----
  void start();
  void stop();
  bool running() const { return running_.load(std::memory_order_acquire); }
  bool realtime() const { return cfg_.realtime; }
  double period() const { return cfg_.period_s; }
  int dof() const { return dof_; }
  const Backend& backend() const { return *backend_; }
  Backend& backend() { return *backend_; }
  Clock& clock() { return *clock_; }

  /// One tick (public so tests can drive the loop tick by tick).
  void tick();

 private:
  void first_tick(const RobotState& s);
  void latch(Fault f, const char* msg);
  void stop_command(const RobotState& s);
  void publish(const RobotState& s, bool intervention);
  void rt_loop();
  void handle_recover_request();
  void latch_joint_limit(int joint, double q);

  std::unique_ptr<Backend> backend_;
  BridgeConfig cfg_;
  int dof_ = 0;
  ManualClock sim_clock_;
  SteadyClock steady_clock_;
  Clock* clock_ = nullptr;
  bool owns_sim_clock_ = false;

  // inputs (API -> loop)
  TripleBuffer<PolicyTarget> policy_buf_;
  TripleBuffer<TeleopInput> teleop_buf_;
  TripleBuffer<Gains> gains_buf_;
  TripleBuffer<SafetyLimits> limits_buf_;
  std::atomic<int> mode_{0};
  PolicyTarget api_policy_;
  TeleopInput api_teleop_;
  Gains api_gains_;
  SafetyLimits api_limits_;
  Mode api_mode_ = Mode::kShared;

  // outputs (loop -> API)
  TripleBuffer<StateSnapshot> state_buf_;
  TripleBuffer<Metrics> metrics_buf_;
  std::uint64_t last_read_interventions_ = 0;
  std::uint64_t last_read_tick_ = 0;
  SampleRing compute_ring_;
  SampleRing late_ring_;

  // loop-owned
  ImpedanceController controller_;
  Mixer mixer_;
  Safety safety_;
  BackendWatchdog backend_wd_;
  RobotState rs_;
  Command cmd_;
  VecJ tau_prev_, tau_des_;
  Pose commanded_;
  Metrics m_;
  StateSnapshot snap_;
  bool started_ = false;
  bool backend_started_ = false;
  bool ignore_old_goal_ = false;
  mutable std::mutex api_mutex_;
  std::uint64_t tick_ = 0;
  double wake_late_us_ = 0.0;
  char fault_msg_[160] = {0};

  // safety bookkeeping (loop-owned)
  std::uint64_t ignore_seq_ = 0;     // policy goals up to this seq are history
  std::uint64_t checked_seq_ = 0;    // last policy seq checked for a jump
  std::uint64_t rejected_seq_ = 0;   // last policy seq rejected (0: none)
  std::int64_t last_engaged_ns_ = -1;
  Pose last_safe_;                   // last measured pose with every joint outside its margin
  bool near_limit_ = false;
  std::uint64_t reset_done_ = 0;

  std::atomic<std::uint64_t> api_rejected_{0};
  std::atomic<std::uint64_t> reset_req_{0};
  std::atomic<std::uint64_t> reset_seq_{0};
  std::atomic<int> fault_{0};
  std::atomic<std::uint64_t> fault_tick_{0};
  std::atomic<std::uint64_t> recover_req_{0};
  std::atomic<std::uint64_t> recover_done_{0};
  std::atomic<int> recover_ok_{0};
  std::atomic<bool> running_{false};
  std::atomic<bool> stop_req_{false};
  std::thread thread_;
};

}  // namespace cpp_bridge
