#include "cpp_bridge/bridge_core.hpp"

#include <pthread.h>
#include <sched.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "cpp_bridge/math.hpp"

namespace cpp_bridge {

namespace {

// Joint damping (Nm s/rad) of the stop command issued while a fault is latched.
constexpr double kStopDamping = 5.0;

std::int64_t seconds_to_ns(double s) { return static_cast<std::int64_t>(std::llround(s * 1e9)); }

std::int64_t wall_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

void copy_msg(char* dst, std::size_t n, const char* src) {
  std::strncpy(dst, src ? src : "", n - 1);
  dst[n - 1] = '\0';
}

void validate_limits(const SafetyLimits& l, int dof) {
  if (!l.box_min.allFinite() || !l.box_max.allFinite())
    throw SafetyError("safety limits: box bounds must be finite");
  if ((l.box_min.array() > l.box_max.array()).any())
    throw SafetyError("safety limits: box_min must be <= box_max on every axis");
  if (!l.orientation_ref.coeffs().allFinite() || l.orientation_ref.norm() < 1e-6)
    throw SafetyError("safety limits: orientation_ref must be a finite non-zero quaternion");
  if (!(l.max_orientation_error >= 0) || !(l.max_lin_speed > 0) || !(l.max_ang_speed > 0) ||
      !(l.max_dtau > 0) || !std::isfinite(l.max_lin_speed) || !std::isfinite(l.max_ang_speed) ||
      !std::isfinite(l.max_dtau))
    throw SafetyError(
        "safety limits: max_orientation_error >= 0 and finite positive max_lin_speed, "
        "max_ang_speed, max_dtau required");
  if (l.tau_max.size() != 0 && l.tau_max.size() != dof)
    throw SafetyError("safety limits: tau_max needs one entry per joint (" +
                      std::to_string(dof) + ")");
  if (l.tau_max.size() && (!l.tau_max.allFinite() || (l.tau_max.array() < 0).any()))
    throw SafetyError("safety limits: tau_max must be finite and >= 0");
  if (l.q_min.size() != l.q_max.size())
    throw SafetyError("safety limits: q_min and q_max must both be given or both empty");
  if (l.q_min.size() != 0 && l.q_min.size() != dof)
    throw SafetyError("safety limits: q_min and q_max need one entry per joint (" +
                      std::to_string(dof) + ")");
  if (!(l.joint_margin >= 0) || !std::isfinite(l.joint_margin) ||
      !(l.joint_limit_stiffness >= 0) || !std::isfinite(l.joint_limit_stiffness) ||
      !(l.joint_limit_damping >= 0) || !std::isfinite(l.joint_limit_damping))
    throw SafetyError(
        "safety limits: joint_margin, joint_limit_stiffness and joint_limit_damping must be "
        "finite and >= 0");
  if (l.q_min.size() &&
      (!l.q_min.allFinite() || !l.q_max.allFinite() ||
       (l.q_max.array() - l.q_min.array() <= 2.0 * l.joint_margin).any()))
    throw SafetyError(
        "safety limits: q_min and q_max must be finite with q_max - q_min > 2 * joint_margin");
  if (!(l.max_target_jump_m > 0) || !(l.max_target_jump_rad > 0))
    throw SafetyError(
        "safety limits: max_target_jump_m and max_target_jump_rad must be > 0 (inf: no check)");
}

// Fills empty per-joint limits from the backend's defaults.
void fill_defaults(SafetyLimits& l, const Backend& b) {
  if (l.tau_max.size() == 0) l.tau_max = b.default_tau_max();
  if (l.q_min.size() == 0 && l.q_max.size() == 0) {
    l.q_min = b.default_q_min();
    l.q_max = b.default_q_max();
  }
}

void validate_gains(const Gains& g) {
  if (!g.stiffness.allFinite() || !g.damping.allFinite() || !g.error_clip.allFinite() ||
      (g.stiffness.array() < 0).any() || (g.damping.array() < 0).any() ||
      (g.error_clip.array() < 0).any())
    throw SafetyError("gains: stiffness, damping and error_clip must be finite and >= 0");
  if (!(g.nullspace_stiffness >= 0) || !(g.nullspace_damping >= 0) ||
      !std::isfinite(g.nullspace_stiffness) || !std::isfinite(g.nullspace_damping))
    throw SafetyError("gains: nullspace gains must be finite and >= 0");
  if (!(g.target_filter > 0 && g.target_filter <= 1) || !(g.gain_filter > 0 && g.gain_filter <= 1))
    throw SafetyError("gains: target_filter and gain_filter must be in (0, 1]");
}

}  // namespace

BridgeCore::BridgeCore(std::unique_ptr<Backend> backend, const BridgeConfig& cfg, Clock* clock)
    : backend_(std::move(backend)), cfg_(cfg) {
  if (!backend_) throw std::invalid_argument("BridgeCore needs a backend");
  if (!(cfg_.period_s > 0 && cfg_.period_s < 1))
    throw std::invalid_argument("period_s must be in (0, 1) seconds");
  dof_ = backend_->dof();
  if (dof_ < 1 || dof_ > kMaxDof) throw std::invalid_argument("backend dof out of range");
  fill_defaults(cfg_.limits, *backend_);
  validate_limits(cfg_.limits, dof_);
  if (!(cfg_.watchdog.stop_timeout_s >= 0) || !std::isfinite(cfg_.watchdog.stop_timeout_s))
    throw std::invalid_argument("watchdog.stop_timeout_s must be finite and >= 0 (0: never)");
  validate_gains(cfg_.gains);
  if (cfg_.q_nominal.size() != 0 && cfg_.q_nominal.size() != dof_)
    throw std::invalid_argument("q_nominal needs one entry per joint");
  if (clock) {
    clock_ = clock;
  } else if (cfg_.realtime) {
    clock_ = &steady_clock_;
  } else {
    clock_ = &sim_clock_;
    owns_sim_clock_ = true;
  }
  api_gains_ = cfg_.gains;
  api_limits_ = cfg_.limits;
  api_mode_ = cfg_.mode;
  mode_.store(static_cast<int>(cfg_.mode));
  gains_buf_.write(api_gains_);
  limits_buf_.write(api_limits_);
  controller_.set_gains(cfg_.gains);
  safety_.configure(cfg_.limits);
  mixer_.configure(cfg_.mixer);
  tau_prev_ = VecJ::Zero(dof_);
  tau_des_ = VecJ::Zero(dof_);
  cmd_.tau = VecJ::Zero(dof_);
  snap_.dof = dof_;
  snap_.q = snap_.dq = snap_.tau = VecJ::Zero(dof_);
  state_buf_.reset(snap_);
  rs_.dof = dof_;
  rs_.q = rs_.dq = rs_.coriolis = VecJ::Zero(dof_);
  rs_.jacobian = Jac::Zero(6, dof_);
  compute_ring_.resize(cfg_.timing_capacity);
  late_ring_.resize(cfg_.timing_capacity);
}

BridgeCore::~BridgeCore() {
  try {
    stop();
  } catch (...) {
  }
}

// ---------------------------------------------------------------- API side

void BridgeCore::check() const {
  const Fault f = fault();  // acquire: the message written before the latch is visible
  if (f != Fault::kNone) {
    // The message is only rewritten after an API-side recover(), never while latched.
    throw FaultError(f, fault_tick_.load(),
                     std::string("control fault latched (") + fault_name(f) + "): " + fault_msg_);
  }
}

void BridgeCore::set_policy_target(const Pose& pose, double gripper) {
  std::lock_guard<std::mutex> lk(api_mutex_);
  if (!Safety::pose_ok(pose) || !std::isfinite(gripper)) {
    api_rejected_.fetch_add(1, std::memory_order_relaxed);
    throw SafetyError("policy target rejected: position and quaternion must be finite and the "
                      "quaternion non-zero");
  }
  check();
  api_policy_.pose.p = pose.p;
  api_policy_.pose.q = pose.q.normalized();
  api_policy_.gripper = gripper;
  api_policy_.stamp_ns = clock_->now_ns();
  api_policy_.seq += 1;
  policy_buf_.write(api_policy_);
}

void BridgeCore::set_teleop(const Vec6& twist, bool engaged, double gripper) {
  std::lock_guard<std::mutex> lk(api_mutex_);
  if (!twist.allFinite()) throw SafetyError("teleop twist rejected: values must be finite");
  if (!std::isfinite(gripper) || gripper > 1.0)
    throw SafetyError("teleop gripper rejected: must be in [0, 1], or negative for none");
  api_teleop_.twist = twist;
  api_teleop_.engaged = engaged;
  api_teleop_.gripper = gripper < 0.0 ? -1.0 : gripper;
  api_teleop_.stamp_ns = clock_->now_ns();
  api_teleop_.seq += 1;
  teleop_buf_.write(api_teleop_);
}

void BridgeCore::set_mode(Mode m) {
  std::lock_guard<std::mutex> lk(api_mutex_);
  api_mode_ = m;
  mode_.store(static_cast<int>(m), std::memory_order_release);
}

void BridgeCore::set_gains(const Gains& g) {
  std::lock_guard<std::mutex> lk(api_mutex_);
  validate_gains(g);
  api_gains_ = g;
  gains_buf_.write(g);
}

void BridgeCore::set_safety_limits(const SafetyLimits& l) {
  std::lock_guard<std::mutex> lk(api_mutex_);
  SafetyLimits lim = l;
  fill_defaults(lim, *backend_);
  validate_limits(lim, dof_);
  api_limits_ = lim;
  limits_buf_.write(lim);
}

void BridgeCore::reset() {
  std::lock_guard<std::mutex> lk(api_mutex_);
  check();
  reset_seq_.store(api_policy_.seq, std::memory_order_relaxed);
  reset_req_.fetch_add(1, std::memory_order_release);
}

std::uint64_t BridgeCore::rejected_targets() const {
  return api_rejected_.load(std::memory_order_relaxed);
}

StateSnapshot BridgeCore::state(std::uint64_t* intervened_ticks, std::uint64_t* ticks_since) {
  std::lock_guard<std::mutex> lk(api_mutex_);
  StateSnapshot s = state_buf_.latest();
  s.rejected_targets += api_rejected_.load(std::memory_order_relaxed);
  if (intervened_ticks) *intervened_ticks = s.intervention_total - last_read_interventions_;
  if (ticks_since) *ticks_since = s.tick - last_read_tick_;
  last_read_interventions_ = s.intervention_total;
  last_read_tick_ = s.tick;
  return s;
}

Metrics BridgeCore::metrics() {
  std::lock_guard<std::mutex> lk(api_mutex_);
  Metrics m = metrics_buf_.latest();
  m.rejected_targets += api_rejected_.load(std::memory_order_relaxed);
  return m;
}

void BridgeCore::clear_samples() {
  compute_ring_.clear();
  late_ring_.clear();
}

bool BridgeCore::recover() {
  if (!running()) {
    if (fault() == Fault::kNone) return false;
    if (!backend_->recover()) return false;
    started_ = false;
    ignore_old_goal_ = true;
    fault_.store(0, std::memory_order_release);
    return true;
  }
  const std::uint64_t ticket = request_recover();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  int r;
  while ((r = poll_recover(ticket)) < 0) {
    if (std::chrono::steady_clock::now() > deadline || !running()) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return r == 1;
}

std::uint64_t BridgeCore::request_recover() { return recover_req_.fetch_add(1) + 1; }

int BridgeCore::poll_recover(std::uint64_t ticket) const {
  if (recover_done_.load(std::memory_order_acquire) < ticket) return -1;
  return recover_ok_.load() != 0 ? 1 : 0;
}

void BridgeCore::handle_recover_request() {
  const std::uint64_t req = recover_req_.load(std::memory_order_acquire);
  if (recover_done_.load(std::memory_order_relaxed) >= req) return;
  int ok = 0;
  if (fault() != Fault::kNone && backend_->recover()) {
    started_ = false;
    ignore_old_goal_ = true;
    fault_.store(0, std::memory_order_release);
    ok = 1;
  }
  recover_ok_.store(ok);
  recover_done_.store(req, std::memory_order_release);
}

// ---------------------------------------------------------------- lockstep

void BridgeCore::step(std::int64_t n) {
  if (cfg_.realtime) throw std::logic_error("step(n) is for lockstep mode; this bridge is real-time");
  check();
  if (!backend_started_) {
    backend_->start();
    backend_started_ = true;
  }
  for (std::int64_t i = 0; i < n; ++i) {
    tick();
    if (fault() != Fault::kNone) check();
  }
}

// ---------------------------------------------------------------- real-time

void BridgeCore::start() {
  if (!cfg_.realtime) throw std::logic_error("start() is for real-time mode; use step(n)");
  if (running()) return;
  stop_req_.store(false);
  running_.store(true, std::memory_order_release);
  thread_ = std::thread([this] { rt_loop(); });
}

void BridgeCore::stop() {
  if (thread_.joinable()) {
    stop_req_.store(true, std::memory_order_release);
    thread_.join();
  }
  running_.store(false, std::memory_order_release);
}

void BridgeCore::rt_loop() {
  if (cfg_.try_realtime_priority) {
    sched_param sp{};
    sp.sched_priority = 80;
    // Best effort: without CAP_SYS_NICE this fails and the loop runs at normal priority.
    pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
  }
  if (!backend_started_) {
    backend_->start();
    backend_started_ = true;
  }
  const std::int64_t period = seconds_to_ns(cfg_.period_s);
  std::int64_t next = wall_ns();
  while (!stop_req_.load(std::memory_order_acquire)) {
    handle_recover_request();
    if (backend_->self_paced() && fault() != Fault::kNone) {
      // A faulted self-paced backend may no longer block in read(): pace the loop here.
      timespec ts{0, static_cast<long>(period)};
      nanosleep(&ts, nullptr);
    }
    if (!backend_->self_paced()) {
      next += period;
      timespec ts{static_cast<time_t>(next / 1000000000LL), static_cast<long>(next % 1000000000LL)};
      while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
      }
      wake_late_us_ = static_cast<double>(wall_ns() - next) * 1e-3;
      late_ring_.push(static_cast<float>(wake_late_us_));
    }
    tick();
    if (!backend_->self_paced()) {
      const std::int64_t now = wall_ns();
      if (now > next + period) {
        m_.overruns += 1;
        next = now;  // resynchronise instead of bursting to catch up
      }
    }
  }
  backend_->stop();
  backend_started_ = false;
  running_.store(false, std::memory_order_release);
}

// ---------------------------------------------------------------- the tick

void BridgeCore::latch(Fault f, const char* msg) {
  if (fault() != Fault::kNone) return;
  copy_msg(fault_msg_, sizeof(fault_msg_), msg);
  fault_tick_.store(tick_);
  fault_.store(static_cast<int>(f), std::memory_order_release);
}

void BridgeCore::latch_joint_limit(int joint, double q) {
  char msg[160];
  const SafetyLimits& l = safety_.limits();
  std::snprintf(msg, sizeof(msg), "joint %d at %.4f rad is outside its limits [%.4f, %.4f]",
                joint + 1, q, l.q_min[joint], l.q_max[joint]);
  latch(Fault::kJointLimit, msg);
}

void BridgeCore::first_tick(const RobotState& s) {
  commanded_ = s.ee;
  commanded_.q.normalize();
  last_safe_ = commanded_;
  controller_.reset(s, gains_buf_.read(), cfg_.q_nominal);
  controller_.set_gains(gains_buf_.read());
  // After a recovery the last goal is history; at start-up a goal written before the
  // first tick is pursued; after reset() the goals sent before it are history.
  if (ignore_old_goal_) ignore_seq_ = policy_buf_.latest().seq;
  mixer_.reset(commanded_, -1.0, false);  // gripper: no command yet
  mixer_.ignore_through(ignore_seq_);
  last_engaged_ns_ = -1;
  backend_wd_.reset(s.stamp_s, clock_->now_ns());
  ignore_old_goal_ = false;
  started_ = true;
}

void BridgeCore::stop_command(const RobotState& s) {
  for (int i = 0; i < dof_; ++i) {
    const double v = i < s.dq.size() && std::isfinite(s.dq[i]) ? s.dq[i] : 0.0;
    tau_des_[i] = -kStopDamping * v;
  }
  safety_.limit_torque(tau_des_, tau_prev_, cmd_.tau);
  cmd_.target = commanded_;
  cmd_.stop = true;
  backend_->write(cmd_);
}

void BridgeCore::tick() {
  const std::int64_t t0 = wall_ns();
  const double dt = cfg_.period_s;
  const bool read_ok = backend_->read(rs_);
  const std::int64_t now = clock_->now_ns();

  if (gains_buf_.update()) controller_.set_gains(gains_buf_.read());
  if (limits_buf_.update()) safety_.configure(limits_buf_.read());
  mixer_.configure(cfg_.mixer);

  // reset(): start over from the measured pose (never clears a fault).
  const std::uint64_t reset_req = reset_req_.load(std::memory_order_acquire);
  if (reset_req != reset_done_) {
    reset_done_ = reset_req;
    if (fault() == Fault::kNone) {
      started_ = false;
      ignore_old_goal_ = false;
      ignore_seq_ = reset_seq_.load(std::memory_order_relaxed);
    }
  }

  near_limit_ = false;
  if (fault() == Fault::kNone) {
    if (!read_ok) {
      latch(backend_->connected() ? Fault::kBackendError : Fault::kDisconnected,
            backend_->last_error());
    } else if (!rs_.connected) {
      latch(Fault::kDisconnected, "backend reports the connection is lost");
    } else if (!rs_.q.allFinite() || !rs_.dq.allFinite() || !Safety::pose_ok(rs_.ee) ||
               !rs_.jacobian.allFinite() || !rs_.coriolis.allFinite()) {
      latch(Fault::kNonFiniteState, "backend delivered a non-finite state");
    } else {
      const int j = safety_.has_joint_limits() ? safety_.joint_beyond_limit(rs_.q) : -1;
      if (j >= 0) {
        latch_joint_limit(j, rs_.q[j]);
      } else if (!started_) {
        first_tick(rs_);
      } else if (backend_wd_.update(rs_.stamp_s, now,
                                    seconds_to_ns(cfg_.watchdog.backend_timeout_s))) {
        latch(Fault::kBackendStale, "backend state stopped advancing");
      }
    }
  }

  const Mode mode = static_cast<Mode>(mode_.load(std::memory_order_acquire));
  const PolicyTarget& pol = policy_buf_.latest();
  const TeleopInput& tel = teleop_buf_.latest();
  bool intervention = false;

  bool policy_fresh = is_fresh(pol.stamp_ns, now, seconds_to_ns(cfg_.watchdog.policy_timeout_s));
  bool teleop_fresh = is_fresh(tel.stamp_ns, now, seconds_to_ns(cfg_.watchdog.teleop_timeout_s));
  if (fault() == Fault::kNone && started_) {
    // Hold, then stop: the policy went quiet and no human is holding the button.
    if (tel.engaged && teleop_fresh && tel.twist.allFinite()) last_engaged_ns_ = now;
    const double stop_s = cfg_.watchdog.stop_timeout_s;
    if (stop_s > 0.0 && mode != Mode::kTeleop && pol.stamp_ns >= 0 && pol.seq > ignore_seq_) {
      const std::int64_t last = std::max(pol.stamp_ns, last_engaged_ns_);
      if (now - last > seconds_to_ns(cfg_.watchdog.policy_timeout_s + stop_s))
        latch(Fault::kWatchdogStop,
              "watchdog stop: no policy set-point and no engaged teleop for "
              "policy_timeout_s + stop_timeout_s");
    }
  }

  if (fault() != Fault::kNone || !started_) {
    stop_command(rs_);
  } else {
    // Defence in depth: the API already rejects non-finite input.
    if (!Safety::pose_ok(pol.pose) || !tel.twist.allFinite()) m_.rejected_ticks += 1;
    if (!Safety::pose_ok(pol.pose) || !std::isfinite(pol.gripper)) policy_fresh = false;
    if (!tel.twist.allFinite()) teleop_fresh = false;
    // A new goal too far from the commanded target is rejected once and then held.
    if (pol.seq != checked_seq_ && pol.seq > ignore_seq_ && pol.stamp_ns >= 0) {
      checked_seq_ = pol.seq;
      if (!Safety::pose_ok(pol.pose) || !safety_.target_jump_ok(commanded_, pol.pose)) {
        rejected_seq_ = pol.seq;
        m_.rejected_targets += 1;
      }
    }
    if (rejected_seq_ != 0 && pol.seq == rejected_seq_) policy_fresh = false;
    if (!policy_fresh && pol.stamp_ns >= 0) m_.policy_stale_ticks += 1;
    if (!teleop_fresh && tel.stamp_ns >= 0) m_.teleop_stale_ticks += 1;
    snap_.policy_stale = !policy_fresh;
    snap_.teleop_stale = !teleop_fresh;

    const bool pose_backend = backend_->command_kind() == CommandKind::kCartesianPose;
    near_limit_ = safety_.has_joint_limits() && safety_.joints_in_margin(rs_.q);
    if (near_limit_) m_.joint_limit_ticks += 1;
    if (!near_limit_) last_safe_ = rs_.ee;

    mixer_.set_measured(rs_.ee);
    const MixerOutput mix = mixer_.update(mode, pol, policy_fresh, tel, teleop_fresh, dt);
    intervention = mix.intervention;
    Pose next;
    if (pose_backend && near_limit_) {
      // No joint torques to push back with: return toward the last pose at which every
      // joint was outside its margin (speed limited like any target).
      safety_.clip_target(commanded_, last_safe_, dt, next);
      m_.clipped_ticks += 1;
    } else if (safety_.clip_target(commanded_, mix.target, dt, next)) {
      m_.clipped_ticks += 1;
    }
    mixer_.commit(next);
    commanded_ = next;
    if (!safety_.target_inside(commanded_)) m_.box_violations += 1;
    snap_.gripper = mix.gripper;

    controller_.compute(rs_, commanded_, tau_des_);
    if (pose_backend) {
      tau_des_.setZero();  // pose-commanded backends take the target, not torques
    } else if (near_limit_) {
      safety_.add_joint_repulsion(rs_.q, rs_.dq, tau_des_);
    }
    safety_.limit_torque(tau_des_, tau_prev_, cmd_.tau);
    cmd_.target = controller_.filtered_target();
    cmd_.stiffness = controller_.gains().stiffness;
    cmd_.damping = controller_.gains().damping;
    cmd_.gripper = mix.gripper;
    cmd_.stop = false;
    if (!backend_->write(cmd_))
      latch(backend_->connected() ? Fault::kBackendError : Fault::kDisconnected,
            backend_->last_error());
  }

  // Independent check of the torque invariants on what was actually sent.
  const SafetyLimits& lim = safety_.limits();
  for (int i = 0; i < dof_; ++i) {
    const double d = std::abs(cmd_.tau[i] - tau_prev_[i]);
    if (d > m_.max_dtau) m_.max_dtau = d;
    if (d > lim.max_dtau + 1e-9) m_.torque_violations += 1;
    const double tm = lim.tau_max[i];
    if (std::abs(cmd_.tau[i]) > tm + 1e-9) m_.torque_violations += 1;
    if (tm > 0) {
      const double r = std::abs(cmd_.tau[i]) / tm;
      if (r > m_.max_abs_tau_ratio) m_.max_abs_tau_ratio = r;
    }
  }
  tau_prev_ = cmd_.tau;

  const std::int64_t t1 = wall_ns();
  backend_->advance(dt);
  if (owns_sim_clock_) sim_clock_.advance_ns(seconds_to_ns(dt));
  tick_ += 1;
  if (intervention) m_.intervention_ticks += 1;
  m_.ticks = tick_;
  m_.compute_us_last = static_cast<double>(t1 - t0) * 1e-3;
  if (m_.compute_us_last > m_.compute_us_max) m_.compute_us_max = m_.compute_us_last;
  if (wake_late_us_ > m_.wake_late_us_max) m_.wake_late_us_max = wake_late_us_;
  compute_ring_.push(static_cast<float>(m_.compute_us_last));
  publish(rs_, intervention);
}

void BridgeCore::publish(const RobotState& s, bool intervention) {
  StateSnapshot& o = state_buf_.write_slot();
  o.time_s = static_cast<double>(clock_->now_ns()) * 1e-9;
  o.tick = tick_;
  o.dof = dof_;
  o.ee = s.ee;
  o.ee_twist = s.ee_twist;
  o.wrench = s.wrench.allFinite() ? s.wrench : Vec6::Zero();
  o.q = s.q;
  o.dq = s.dq;
  o.tau = cmd_.tau;
  o.target = commanded_;
  o.mode = static_cast<Mode>(mode_.load(std::memory_order_relaxed));
  o.intervention = intervention;
  o.intervention_total = m_.intervention_ticks;
  o.policy_stale = snap_.policy_stale;
  o.teleop_stale = snap_.teleop_stale;
  o.gripper = snap_.gripper;
  o.rejected_targets = m_.rejected_targets;
  o.near_joint_limit = near_limit_;
  o.fault = fault();
  if (o.fault != Fault::kNone) {
    copy_msg(o.fault_message, sizeof(o.fault_message), fault_msg_);
  } else {
    o.fault_message[0] = '\0';
  }
  state_buf_.publish();
  metrics_buf_.write(m_);
}

}  // namespace cpp_bridge
