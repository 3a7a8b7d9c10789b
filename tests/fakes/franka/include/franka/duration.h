// Fake libfranka (test double): franka::Duration, as in libfranka's duration.h.
#pragma once

#include <chrono>
#include <cstdint>

namespace franka {

class Duration {
 public:
  Duration() noexcept = default;
  explicit Duration(uint64_t milliseconds) noexcept : ms_(milliseconds) {}
  double toSec() const noexcept { return static_cast<double>(ms_) / 1000.0; }
  uint64_t toMSec() const noexcept { return ms_; }
  Duration operator+(const Duration& o) const noexcept { return Duration(ms_ + o.ms_); }

 private:
  uint64_t ms_ = 0;
};

}  // namespace franka
