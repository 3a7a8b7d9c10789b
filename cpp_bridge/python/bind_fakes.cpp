// Test controls of the fake libfranka / ur_rtde (tests/fakes), as _bridge._fake_sdk. Only
// in builds configured with -DSILRI_USE_FAKE_SDKS=ON (never against the real SDKs).
#include "common.hpp"

#ifdef SILRI_HAVE_FRANKA
#include <franka/fake.h>
#endif
#ifdef SILRI_HAVE_UR
#include <ur_rtde/fake.h>
#endif

namespace cpp_bridge::py_bind {

void bind_fake_sdks(py::module_& m) {
  py::module_ f = m.def_submodule("_fake_sdk", "Controls of the fake vendor SDKs (tests).");
#ifdef SILRI_HAVE_FRANKA
  f.def("franka_reset", &franka_fake::reset);
  f.def("franka_set_network_down", &franka_fake::set_network_down, py::arg("down"));
  f.def("franka_drop_network_after", &franka_fake::drop_network_after, py::arg("n"));
  f.def("franka_inject_reflex_after", &franka_fake::inject_reflex_after, py::arg("n"),
        py::arg("what"));
  f.def("franka_write_count", &franka_fake::write_count);
  f.def("franka_recovery_count", &franka_fake::recovery_count);
  f.def("franka_set_q", &franka_fake::set_q, py::arg("q"));
  f.def("franka_set_external_wrench", &franka_fake::set_external_wrench, py::arg("wrench"));
  f.def("gripper_set_object", &franka_fake::gripper_set_object, py::arg("width"));
  f.def("gripper_fail_next", &franka_fake::gripper_fail_next, py::arg("what"));
  f.def("gripper_homing_count", &franka_fake::gripper_homing_count);
  f.def("gripper_stop_count", &franka_fake::gripper_stop_count);
#endif
#ifdef SILRI_HAVE_UR
  f.def("ur_reset", &ur_fake::reset, py::arg("tcp_pose"));
  f.def("ur_set_connected", &ur_fake::set_connected, py::arg("connected"));
  f.def("ur_set_protective_stop", &ur_fake::set_protective_stop, py::arg("stopped"));
  f.def("ur_set_tcp_force", &ur_fake::set_tcp_force, py::arg("wrench"));
  f.def("ur_set_ik_fails", &ur_fake::set_ik_fails, py::arg("fails"));
  f.def("ur_servo_count", &ur_fake::servo_count);
  f.def("ur_servoj_count", &ur_fake::servoj_count);
  f.def("ur_servo_stop_count", &ur_fake::servo_stop_count);
  f.def("ur_tcp_pose", &ur_fake::tcp_pose);
#endif
}

}  // namespace cpp_bridge::py_bind
