// Wait-free single-producer / single-consumer triple buffer.
//
// The real-time thread must never wait for a Python thread (nor the reverse), so values
// cross threads through three slots: the writer owns one, the reader owns one, and the
// third ("middle") is swapped atomically. Neither side ever blocks or retries; the reader
// always gets the most recent complete value. One writer thread and one reader thread per
// buffer (API writers are serialised by the bridge's API lock or the GIL).
#pragma once

#include <atomic>
#include <cstdint>

namespace cpp_bridge {

template <typename T>
class TripleBuffer {
 public:
  TripleBuffer() = default;
  explicit TripleBuffer(const T& init) {
    for (auto& s : slots_) s = init;
  }

  /// Fills all slots; only before any other thread uses the buffer.
  void reset(const T& init) {
    for (auto& s : slots_) s = init;
    write_ = 0;
    read_ = 1;
    middle_.store(2);
  }

  /// Writer: slot to fill in place, then publish().
  T& write_slot() { return slots_[write_]; }

  /// Writer: make the filled slot the newest value.
  void publish() {
    const std::uint8_t prev = middle_.exchange(static_cast<std::uint8_t>(write_ | kDirty),
                                               std::memory_order_acq_rel);
    write_ = prev & kIndex;
  }

  void write(const T& v) {
    write_slot() = v;
    publish();
  }

  /// Reader: take the newest value if one was published since the last call.
  /// Returns true when the value changed.
  bool update() {
    if (!(middle_.load(std::memory_order_relaxed) & kDirty)) return false;
    const std::uint8_t prev = middle_.exchange(read_, std::memory_order_acq_rel);
    read_ = prev & kIndex;
    return true;
  }

  /// Reader: the value obtained by the last update().
  const T& read() const { return slots_[read_]; }

  /// Reader convenience: update() then read().
  const T& latest() {
    update();
    return read();
  }

 private:
  static constexpr std::uint8_t kDirty = 0x4;
  static constexpr std::uint8_t kIndex = 0x3;
  T slots_[3]{};
  std::uint8_t write_ = 0;
  std::uint8_t read_ = 1;
  std::atomic<std::uint8_t> middle_{2};
};

}  // namespace cpp_bridge
