// The triple buffer hands over the newest complete value, never a torn one, without waits.
#include <atomic>
#include <cstdint>
#include <thread>

#include "check.hpp"
#include "cpp_bridge/triple_buffer.hpp"

struct Payload {
  std::uint64_t seq = 0;
  std::uint64_t copy[16] = {0};  // every entry equals seq when the value is whole
};

int main() {
  using cpp_bridge::TripleBuffer;
  {
    TripleBuffer<int> b(0);
    CHECK(!b.update());
    b.write(1);
    b.write(2);
    CHECK(b.update());
    CHECK(b.read() == 2);  // newest wins; 1 was overwritten
    CHECK(!b.update());
    CHECK(b.read() == 2);
    b.write(3);
    CHECK(b.latest() == 3);
  }
  {
    TripleBuffer<Payload> b;
    constexpr std::uint64_t kN = 2000000;
    std::atomic<bool> done{false};
    std::thread writer([&] {
      for (std::uint64_t i = 1; i <= kN; ++i) {
        Payload& p = b.write_slot();
        p.seq = i;
        for (auto& c : p.copy) c = i;
        b.publish();
      }
      done = true;
    });
    std::uint64_t last = 0, reads = 0;
    bool torn = false, backwards = false;
    while (!done || b.update()) {
      if (!b.update()) continue;
      const Payload& p = b.read();
      for (auto c : p.copy) torn |= (c != p.seq);
      backwards |= p.seq < last;
      last = p.seq;
      ++reads;
    }
    writer.join();
    CHECK(!torn);
    CHECK(!backwards);
    CHECK(reads > 0);
    CHECK(b.latest().seq == kN);
  }
  TEST_MAIN_END();
}
