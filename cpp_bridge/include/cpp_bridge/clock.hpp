// Injectable clocks: the watchdogs read time through this interface so tests can drive a
// virtual clock and lockstep runs stay deterministic (time = ticks * period).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace cpp_bridge {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::int64_t now_ns() const = 0;
};

/// Monotonic wall clock for real-time mode.
class SteadyClock final : public Clock {
 public:
  std::int64_t now_ns() const override {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
};

/// A clock that only moves when told to (tests, lockstep).
class ManualClock final : public Clock {
 public:
  std::int64_t now_ns() const override { return t_.load(std::memory_order_acquire); }
  void set_ns(std::int64_t t) { t_.store(t, std::memory_order_release); }
  void advance_ns(std::int64_t dt) { t_.fetch_add(dt, std::memory_order_acq_rel); }

 private:
  std::atomic<std::int64_t> t_{0};
};

}  // namespace cpp_bridge
