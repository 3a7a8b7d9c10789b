// Fake libfranka (test double): franka::Torques and RealtimeConfig.
#pragma once

#include <array>
#include <initializer_list>

namespace franka {

enum class RealtimeConfig { kEnforce, kIgnore };

struct Finishable {
  bool motion_finished = false;
};

class Torques : public Finishable {
 public:
  Torques(const std::array<double, 7>& torques) noexcept : tau_J(torques) {}  // NOLINT
  Torques(std::initializer_list<double> torques);
  std::array<double, 7> tau_J{};
};

}  // namespace franka
