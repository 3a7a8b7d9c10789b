// Staleness checks on the injected clock. Kept separate from the loop so the rules are
// testable on a virtual clock.
#pragma once

#include <cstdint>

namespace cpp_bridge {

/// An input is fresh when it was written and is at most `timeout_ns` old.
inline bool is_fresh(std::int64_t stamp_ns, std::int64_t now_ns, std::int64_t timeout_ns) {
  return stamp_ns >= 0 && now_ns - stamp_ns <= timeout_ns;
}

/// Trips when the backend's own time stamp stops advancing for longer than the timeout.
class BackendWatchdog {
 public:
  void reset(double stamp, std::int64_t now_ns) {
    last_stamp_ = stamp;
    last_change_ns_ = now_ns;
  }
  /// Returns true when the backend is stale.
  bool update(double stamp, std::int64_t now_ns, std::int64_t timeout_ns) {
    if (stamp != last_stamp_) {
      last_stamp_ = stamp;
      last_change_ns_ = now_ns;
      return false;
    }
    return now_ns - last_change_ns_ > timeout_ns;
  }

 private:
  double last_stamp_ = -1.0;
  std::int64_t last_change_ns_ = 0;
};

}  // namespace cpp_bridge
