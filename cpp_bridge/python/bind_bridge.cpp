// The loop object. Every call that can block releases the GIL; long waits run in slices
// and re-acquire the GIL briefly between slices to poll PyErr_CheckSignals, so Ctrl-C
// interrupts them.
#include <chrono>
#include <thread>

#include "common.hpp"

#include "cpp_bridge/bridge_core.hpp"
#include "cpp_bridge/mujoco_backend.hpp"
#include "cpp_bridge/test_plant.hpp"
#ifdef SILRI_HAVE_FRANKA
#include "cpp_bridge/franka_backend.hpp"
#endif
#ifdef SILRI_HAVE_UR
#include "cpp_bridge/ur_backend.hpp"
#endif

namespace cpp_bridge::py_bind {

namespace {

// Ticks run between two signal checks in step(n): a few milliseconds of work.
constexpr std::int64_t kStepSlice = 200;

void check_signals() {
  py::gil_scoped_acquire gil;
  if (PyErr_CheckSignals() != 0) throw py::error_already_set();
}

py::dict snapshot_to_dict(const StateSnapshot& s, std::uint64_t intervened,
                          std::uint64_t ticks_since) {
  py::dict d;
  d["time"] = s.time_s;
  d["tick"] = s.tick;
  d["ee_position"] = Eigen::Vector3d(s.ee.p);
  d["ee_quat"] = quat_to_wxyz(s.ee.q);
  d["ee_twist"] = Eigen::Matrix<double, 6, 1>(s.ee_twist);
  d["wrench"] = Eigen::Matrix<double, 6, 1>(s.wrench);
  d["q"] = to_dyn(s.q);
  d["dq"] = to_dyn(s.dq);
  d["tau"] = to_dyn(s.tau);
  d["target_position"] = Eigen::Vector3d(s.target.p);
  d["target_quat"] = quat_to_wxyz(s.target.q);
  d["mode"] = s.mode;
  d["intervention"] = s.intervention;
  d["intervened_ticks"] = intervened;
  d["intervention_total"] = s.intervention_total;
  d["ticks_since_last_read"] = ticks_since;
  d["policy_stale"] = s.policy_stale;
  d["teleop_stale"] = s.teleop_stale;
  d["gripper"] = s.gripper;
  d["rejected_targets"] = s.rejected_targets;
  d["near_joint_limit"] = s.near_joint_limit;
  d["fault"] = s.fault;
  d["fault_message"] = std::string(s.fault_message);
  return d;
}

py::dict metrics_to_dict(const Metrics& m) {
  py::dict d;
  d["ticks"] = m.ticks;
  d["overruns"] = m.overruns;
  d["box_violations"] = m.box_violations;
  d["torque_violations"] = m.torque_violations;
  d["clipped_ticks"] = m.clipped_ticks;
  d["policy_stale_ticks"] = m.policy_stale_ticks;
  d["teleop_stale_ticks"] = m.teleop_stale_ticks;
  d["intervention_ticks"] = m.intervention_ticks;
  d["rejected_ticks"] = m.rejected_ticks;
  d["rejected_targets"] = m.rejected_targets;
  d["joint_limit_ticks"] = m.joint_limit_ticks;
  d["max_dtau"] = m.max_dtau;
  d["max_abs_tau_ratio"] = m.max_abs_tau_ratio;
  d["compute_us_last"] = m.compute_us_last;
  d["compute_us_max"] = m.compute_us_max;
  d["wake_late_us_max"] = m.wake_late_us_max;
  return d;
}

py::array_t<float> to_array(const std::vector<float>& v) {
  py::array_t<float> a(static_cast<py::ssize_t>(v.size()));
  std::copy(v.begin(), v.end(), a.mutable_data());
  return a;
}

}  // namespace

void bind_bridge(py::module_& m) {
  py::class_<BridgeCore>(m, "BridgeCore")
      .def_static(
          "create_test",
          [](const BridgeConfig& cfg, const TestPlantConfig& plant) {
            return std::make_unique<BridgeCore>(std::make_unique<TestPlant>(plant), cfg);
          },
          py::arg("config"), py::arg("plant"))
      .def_static(
          "create_mujoco",
          [](const MujocoView& view, const MujocoConfig& mc, const BridgeConfig& cfg) {
            return std::make_unique<BridgeCore>(std::make_unique<MujocoBackend>(view, mc), cfg);
          },
          py::arg("view"), py::arg("mujoco"), py::arg("config"))
#ifdef SILRI_HAVE_FRANKA
      .def_static(
          "create_franka",
          [](const FrankaConfig& fc, const BridgeConfig& cfg) {
            return std::make_unique<BridgeCore>(std::make_unique<FrankaBackend>(fc), cfg);
          },
          py::arg("franka"), py::arg("config"), py::call_guard<py::gil_scoped_release>())
#endif
#ifdef SILRI_HAVE_UR
      .def_static(
          "create_ur",
          [](const URConfig& uc, const BridgeConfig& cfg) {
            return std::make_unique<BridgeCore>(std::make_unique<URBackend>(uc), cfg);
          },
          py::arg("ur"), py::arg("config"), py::call_guard<py::gil_scoped_release>())
#endif
      .def(
          "set_policy_target",
          [](BridgeCore& b, const Eigen::Vector3d& p, const Eigen::Vector4d& q, double gripper) {
            Pose pose;
            pose.p = p;
            pose.q = quat_from_wxyz(q);
            b.set_policy_target(pose, gripper);
          },
          py::arg("position"), py::arg("quat"), py::arg("gripper") = 0.0)
      .def(
          "set_teleop",
          [](BridgeCore& b, const Eigen::Matrix<double, 6, 1>& twist, bool engaged,
             double gripper) { b.set_teleop(twist, engaged, gripper); },
          py::arg("twist"), py::arg("engaged"), py::arg("gripper") = -1.0)
      .def("set_mode", &BridgeCore::set_mode, py::arg("mode"))
      .def("reset", &BridgeCore::reset)
      .def_property_readonly("mode", &BridgeCore::mode)
      .def("set_gains", &BridgeCore::set_gains, py::arg("gains"))
      .def_property_readonly("gains", &BridgeCore::gains)
      .def("set_safety_limits", &BridgeCore::set_safety_limits, py::arg("limits"))
      .def_property_readonly("safety_limits", &BridgeCore::safety_limits)
      .def("state",
           [](BridgeCore& b) {
             std::uint64_t intervened = 0, since = 0;
             StateSnapshot s = b.state(&intervened, &since);
             return snapshot_to_dict(s, intervened, since);
           })
      .def("metrics", [](BridgeCore& b) { return metrics_to_dict(b.metrics()); })
      .def("compute_us_samples", [](const BridgeCore& b) { return to_array(b.compute_us_samples()); })
      .def("wake_late_us_samples",
           [](const BridgeCore& b) { return to_array(b.wake_late_us_samples()); })
      .def("clear_samples", &BridgeCore::clear_samples)
      .def_property_readonly("fault", &BridgeCore::fault)
      .def("check", &BridgeCore::check)
      .def("recover",
           [](BridgeCore& b) {
             py::gil_scoped_release release;
             if (!b.running()) return b.recover();
             // The control thread performs the recovery; wait for it, staying
             // interruptible.
             const std::uint64_t ticket = b.request_recover();
             int r;
             int polls = 0;
             while ((r = b.poll_recover(ticket)) < 0) {
               if (!b.running()) return false;
               std::this_thread::sleep_for(std::chrono::microseconds(200));
               if (++polls % 25 == 0) check_signals();
             }
             return r == 1;
           })
      .def(
          "step",
          [](BridgeCore& b, std::int64_t n) {
            if (n < 0) throw std::invalid_argument("step(n): n must be >= 0");
            py::gil_scoped_release release;
            for (std::int64_t done = 0; done < n;) {
              const std::int64_t k = std::min(kStepSlice, n - done);
              b.step(k);
              done += k;
              if (done < n) check_signals();
            }
          },
          py::arg("n"))
      .def("start", &BridgeCore::start, py::call_guard<py::gil_scoped_release>())
      .def("stop", &BridgeCore::stop, py::call_guard<py::gil_scoped_release>())
      .def(
          "wait",
          [](BridgeCore& b, double seconds) {
            if (!(seconds >= 0)) throw std::invalid_argument("wait(seconds): seconds must be >= 0");
            py::gil_scoped_release release;
            const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
            while (std::chrono::steady_clock::now() < end) {
              b.check();
              std::this_thread::sleep_for(std::chrono::milliseconds(5));
              check_signals();
            }
            b.check();
          },
          py::arg("seconds"))
      .def(
          "wait_ticks",
          [](BridgeCore& b, std::uint64_t n, double timeout) {
            py::gil_scoped_release release;
            const std::uint64_t goal = b.metrics().ticks + n;
            const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout);
            while (b.metrics().ticks < goal) {
              b.check();
              if (std::chrono::steady_clock::now() > end) return false;
              std::this_thread::sleep_for(std::chrono::microseconds(500));
              check_signals();
            }
            return true;
          },
          py::arg("n"), py::arg("timeout") = 10.0)
      .def_property_readonly("running", &BridgeCore::running)
      .def_property_readonly("realtime", &BridgeCore::realtime)
      .def_property_readonly("period", &BridgeCore::period)
      .def_property_readonly("dof", &BridgeCore::dof)
      .def_property_readonly("backend_name", [](const BridgeCore& b) { return b.backend().name(); })
      .def(
          "test_plant",
          [](BridgeCore& b) -> TestPlant& {
            auto* p = dynamic_cast<TestPlant*>(&b.backend());
            if (!p) throw std::invalid_argument("test_plant(): this bridge's backend is not 'test'");
            return *p;
          },
          py::return_value_policy::reference_internal);
}

}  // namespace cpp_bridge::py_bind
