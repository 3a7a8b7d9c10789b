#include "cpp_bridge/types.hpp"

namespace cpp_bridge {

const char* fault_name(Fault f) {
  switch (f) {
    case Fault::kNone: return "none";
    case Fault::kBackendStale: return "backend_stale";
    case Fault::kDisconnected: return "disconnected";
    case Fault::kNonFiniteState: return "non_finite_state";
    case Fault::kBackendError: return "backend_error";
    case Fault::kJointLimit: return "joint_limit";
    case Fault::kWatchdogStop: return "watchdog_stop";
  }
  return "unknown";
}

}  // namespace cpp_bridge
