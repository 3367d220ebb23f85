#pragma once
// The boundary between the host and plugin code: every function a plugin hands over is wrapped so
// that what it throws reaches the caller as a PluginError naming the plugin, its file and what it
// was doing. Shape errors from an op's type inference are ordinary bad input and pass unchanged.
// Internal to framework/src/plugin.

#include <memory>
#include <string>

#include "symgrad/graph/op_def.hpp"
#include "symgrad/plugin/components.hpp"
#include "symgrad/plugin/registrar.hpp"

namespace symgrad::plugin_detail {

/// Who: "optimizer 'sgd' of plugin 'sgd' (/path/symgrad-sgd.so)".
[[noreturn]] void rethrow_from_plugin(const std::string& who, const std::string& what);

/// Runs f(), turning anything it throws (except ShapeError and PluginError) into a PluginError.
template <class F>
auto guarded(const std::string& who, const std::string& what, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (...) {
    rethrow_from_plugin(who, what);
  }
}

/// The op's functions (infer, pullback, samples, kernels, factories and the kernels they make),
/// each wrapped.
void guard_op(OpDef& op, StagedKernels& kernels, const std::string& who);

std::unique_ptr<Initializer> guard(std::unique_ptr<Initializer> x, const std::string& who);
std::unique_ptr<UpdateRule> guard(std::unique_ptr<UpdateRule> x, const std::string& who);
std::unique_ptr<HostOptimizer> guard(std::unique_ptr<HostOptimizer> x, const std::string& who);
std::unique_ptr<Regularizer> guard(std::unique_ptr<Regularizer> x, const std::string& who);
std::unique_ptr<Strategy> guard(std::unique_ptr<Strategy> x, const std::string& who);
std::unique_ptr<Loss> guard(std::unique_ptr<Loss> x, const std::string& who);

}  // namespace symgrad::plugin_detail
