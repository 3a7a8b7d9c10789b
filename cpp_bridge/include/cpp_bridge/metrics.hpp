// What the loop reports about itself. Counters are published every tick through a triple
// buffer; per-tick timings go to a preallocated ring of relaxed atomics that a reader may
// copy at any time.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

namespace cpp_bridge {

struct Metrics {
  std::uint64_t ticks = 0;
  std::uint64_t overruns = 0;            // ticks that finished after the next deadline
  std::uint64_t box_violations = 0;      // commanded target outside the limits (must be 0)
  std::uint64_t torque_violations = 0;   // |tau| above its limit or |dtau| above max_dtau
  std::uint64_t clipped_ticks = 0;       // the target was speed/box/orientation clipped
  std::uint64_t policy_stale_ticks = 0;
  std::uint64_t teleop_stale_ticks = 0;
  std::uint64_t intervention_ticks = 0;
  std::uint64_t rejected_ticks = 0;      // non-finite inputs seen inside the loop
  std::uint64_t rejected_targets = 0;    // policy targets rejected (NaN at the API, jumps)
  std::uint64_t joint_limit_ticks = 0;   // ticks with a joint inside its limit margin
  double max_dtau = 0.0;                 // largest |tau change| in one tick, any joint
  double max_abs_tau_ratio = 0.0;        // largest |tau| / tau_max (<= 1)
  double compute_us_last = 0.0;
  double compute_us_max = 0.0;
  double wake_late_us_max = 0.0;
};

/// Fixed-size ring of float samples; writing never allocates.
class SampleRing {
 public:
  explicit SampleRing(std::size_t capacity = 0) { resize(capacity); }
  void resize(std::size_t capacity) {
    cap_ = capacity;
    data_.reset(capacity ? new std::atomic<float>[capacity] : nullptr);
    count_.store(0);
  }
  void push(float v) {
    if (!cap_) return;
    const std::uint64_t i = count_.load(std::memory_order_relaxed);
    data_[i % cap_].store(v, std::memory_order_relaxed);
    count_.store(i + 1, std::memory_order_release);
  }
  /// The retained samples, oldest first.
  std::vector<float> snapshot() const {
    const std::uint64_t n = count_.load(std::memory_order_acquire);
    const std::uint64_t k = n < cap_ ? n : cap_;
    std::vector<float> out(k);
    for (std::uint64_t j = 0; j < k; ++j) out[j] = data_[(n - k + j) % cap_].load(std::memory_order_relaxed);
    return out;
  }
  void clear() { count_.store(0); }

 private:
  std::size_t cap_ = 0;
  std::unique_ptr<std::atomic<float>[]> data_;
  std::atomic<std::uint64_t> count_{0};
};

}  // namespace cpp_bridge
