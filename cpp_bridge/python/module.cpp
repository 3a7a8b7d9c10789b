// _bridge: the compiled half of silri_jax.bridge. C++ errors become the typed Python
// exceptions defined in silri_jax.bridge.errors (imported lazily when first raised).
#include "common.hpp"

#include "cpp_bridge/bridge_core.hpp"

namespace cpp_bridge::py_bind {

namespace {

void raise_typed(const char* cls_name, py::tuple args) {
  py::object errors = py::module_::import("silri_jax.bridge.errors");
  py::object cls = errors.attr(cls_name);
  PyErr_SetObject(cls.ptr(), args.ptr());
}

}  // namespace

}  // namespace cpp_bridge::py_bind

PYBIND11_MODULE(_bridge, m) {
  namespace py = pybind11;
  using namespace cpp_bridge;
  using namespace cpp_bridge::py_bind;
  m.doc() = "C++ real-time robot bridge (impedance loop, teleop mixing, safety, backends)";
  bind_types(m);
  bind_backends(m);
  bind_bridge(m);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const FaultError& e) {
      const char* cls = (e.fault == Fault::kDisconnected || e.fault == Fault::kBackendStale)
                            ? "ConnectionLost"
                            : "ControlFault";
      raise_typed(cls, py::make_tuple(e.what(), fault_name(e.fault), e.tick));
    } catch (const SafetyError& e) {
      raise_typed("SafetyViolation", py::make_tuple(e.what()));
    } catch (const SdkError& e) {
      raise_typed(e.network ? "SdkConnectionError" : "SdkError", py::make_tuple(e.what()));
    }
  });
#ifdef SILRI_HAVE_FRANKA
  m.attr("HAVE_FRANKA") = true;
#else
  m.attr("HAVE_FRANKA") = false;
#endif
#ifdef SILRI_HAVE_UR
  m.attr("HAVE_UR") = true;
#else
  m.attr("HAVE_UR") = false;
#endif
}
