// Fake ur_rtde (test double): the RTDEControlInterface calls the bridge makes, with
// ur_rtde's signatures.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace ur_rtde {

class RTDEControlInterface {
 public:
  enum Flags {
    FLAG_UPLOAD_SCRIPT = 0x01,
    FLAG_USE_EXT_UR_CAP = 0x02,
    FLAG_VERBOSE = 0x04,
    FLAG_UPPER_RANGE_REGISTERS = 0x08,
    FLAG_NO_WAIT = 0x10,
    FLAG_CUSTOM_SCRIPT = 0x20,
    FLAG_NO_EXT_FT = 0x40,
    FLAGS_DEFAULT = FLAG_UPLOAD_SCRIPT
  };

  explicit RTDEControlInterface(std::string hostname, double frequency = -1.0,
                                uint16_t flags = FLAGS_DEFAULT, int ur_cap_port = 50002,
                                int rt_priority = 0);
  virtual ~RTDEControlInterface();

  bool servoL(const std::vector<double>& pose, double speed, double acceleration, double time,
              double lookahead_time, double gain);
  bool servoJ(const std::vector<double>& q, double speed, double acceleration, double time,
              double lookahead_time, double gain);
  bool servoStop(double a = 10.0);
  std::vector<double> getInverseKinematics(const std::vector<double>& x,
                                           const std::vector<double>& qnear = {},
                                           double max_position_error = 1e-10,
                                           double max_orientation_error = 1e-10);
  std::chrono::steady_clock::time_point initPeriod();
  void waitPeriod(const std::chrono::steady_clock::time_point& t_cycle_start);
  bool isConnected();
  bool reconnect();
  void stopScript();
  bool isProgramRunning();
};

}  // namespace ur_rtde
