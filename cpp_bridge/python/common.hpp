// Helpers shared by the binding units.
#pragma once

#include <pybind11/eigen.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <stdexcept>
#include <string>

#include "cpp_bridge/types.hpp"

namespace cpp_bridge::py_bind {

namespace py = pybind11;

/// Quaternion from a (w, x, y, z) array, which is the API convention.
inline Quat quat_from_wxyz(const Eigen::Vector4d& v) { return Quat(v[0], v[1], v[2], v[3]); }
inline Eigen::Vector4d quat_to_wxyz(const Quat& q) {
  return Eigen::Vector4d(q.w(), q.x(), q.y(), q.z());
}
inline Eigen::VectorXd to_dyn(const VecJ& v) { return Eigen::VectorXd(v); }
inline VecJ from_dyn(const Eigen::VectorXd& v, const char* what) {
  if (v.size() > kMaxDof)
    throw std::invalid_argument(std::string(what) + ": at most 7 entries");
  VecJ out(v.size());
  for (int i = 0; i < v.size(); ++i) out[i] = v[i];
  return out;
}

/// A vendor SDK call failed (e.g. franka::CommandException); raised in Python as
/// silri_jax.bridge.errors.SdkError, or SdkConnectionError when `network` is set.
class SdkError : public std::runtime_error {
 public:
  SdkError(const std::string& what, bool network) : std::runtime_error(what), network(network) {}
  bool network;
};

void bind_types(py::module_& m);
void bind_franka_gripper(py::module_& m);  // HAVE_FRANKA builds only
void bind_fake_sdks(py::module_& m);       // builds against tests/fakes only
void bind_backends(py::module_& m);
void bind_bridge(py::module_& m);

}  // namespace cpp_bridge::py_bind
