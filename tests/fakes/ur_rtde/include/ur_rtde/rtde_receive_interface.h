// Fake ur_rtde (test double): the RTDEReceiveInterface getters the bridge calls.
#pragma once

#include <string>
#include <vector>

namespace ur_rtde {

class RTDEReceiveInterface {
 public:
  explicit RTDEReceiveInterface(std::string hostname, double frequency = -1.0,
                                std::vector<std::string> variables = {}, bool verbose = false,
                                bool use_upper_range_registers = false, int rt_priority = 0);
  virtual ~RTDEReceiveInterface();

  bool isConnected();
  bool reconnect();
  double getTimestamp();
  std::vector<double> getActualQ();
  std::vector<double> getActualQd();
  std::vector<double> getActualTCPPose();
  std::vector<double> getActualTCPSpeed();
  std::vector<double> getActualTCPForce();
  bool isProtectiveStopped();
};

}  // namespace ur_rtde
