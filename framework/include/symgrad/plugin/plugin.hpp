#pragma once
/// @file
/// The plugin SDK: include this one header, write a registration function, and export it with
/// SYMGRAD_PLUGIN. Build with symgrad_add_plugin() from the installed CMake package.
///
/// @code
/// #include <symgrad/plugin/plugin.hpp>
/// void register_components(symgrad::PluginRegistrar& r) {
///   r.add_optimizer("my_sgd", "plain SGD", {symgrad::real_param("lr", 0.01, "step size")}, ...);
/// }
/// SYMGRAD_PLUGIN("my_sgd", "1.0.0", register_components)
/// @endcode

#include <cstdint>

#include "symgrad/plugin/components.hpp"
#include "symgrad/plugin/hyperparams.hpp"
#include "symgrad/plugin/layers.hpp"
#include "symgrad/plugin/op_helpers.hpp"
#include "symgrad/plugin/registrar.hpp"
#include "symgrad/plugin/registry.hpp"
#include "symgrad/autodiff/gradcheck.hpp"
#include "symgrad/autodiff/gradients.hpp"
#include "symgrad/core/error.hpp"
#include "symgrad/core/tensor.hpp"
#include "symgrad/graph/graph.hpp"
#include "symgrad/graph/op_registry.hpp"
#include "symgrad/ops/ops.hpp"
#include "symgrad/runtime/kernel.hpp"
#include "symgrad/runtime/plan.hpp"
#include "symgrad/runtime/threads.hpp"
#include "symgrad/runtime/variable_store.hpp"
#include "symgrad/version.hpp"

/// Version of the plugin ABI: the descriptor's layout and the SDK's C++ interfaces. A plugin built
/// against another version is refused.
/// What each version changed: framework/src/plugin/registry.cpp (abi_changes, which the loader's
/// refusal quotes) and docs/writing-plugins.md.
#define SYMGRAD_PLUGIN_ABI_VERSION 5u

#define SYMGRAD_STR_(x) #x
#define SYMGRAD_STR(x) SYMGRAD_STR_(x)
#if defined(__clang__)
#define SYMGRAD_COMPILER_ID "clang " SYMGRAD_STR(__clang_major__)
#elif defined(__GNUC__)
#define SYMGRAD_COMPILER_ID "gcc " SYMGRAD_STR(__GNUC__)
#else
#define SYMGRAD_COMPILER_ID "unknown compiler"
#endif
#if defined(_GLIBCXX_RELEASE)
#define SYMGRAD_STDLIB_ID "libstdc++ " SYMGRAD_STR(_GLIBCXX_RELEASE) " cxx11-abi=" SYMGRAD_STR(_GLIBCXX_USE_CXX11_ABI)
#else
#define SYMGRAD_STDLIB_ID "unknown standard library"
#endif
/// The toolchain a plugin was built with; the host refuses another one (C++ types cross the
/// boundary, so compiler family and standard library ABI must agree).
#define SYMGRAD_TOOLCHAIN SYMGRAD_COMPILER_ID ", " SYMGRAD_STDLIB_ID

namespace symgrad {

/// What a plugin's entry symbol returns. The first field stays first in every ABI version, so
/// that the host can refuse a mismatch before reading anything else.
struct PluginDescriptor {
  std::uint32_t abi_version;
  const char* framework_version;  ///< SYMGRAD_VERSION the plugin was built against
  const char* toolchain;          ///< SYMGRAD_TOOLCHAIN of the plugin's build
  const char* name;               ///< the plugin's name (by convention its file is symgrad-<name>.so)
  const char* version;            ///< the plugin's own version
  void (*register_components)(PluginRegistrar&);
};

}  // namespace symgrad

/// The name of the one symbol a plugin exports.
#define SYMGRAD_PLUGIN_ENTRY_NAME "symgrad_plugin_entry"

/// Exports the plugin's entry: its name, version and registration function.
#define SYMGRAD_PLUGIN(NAME, VERSION, REGISTER)                                                  \
  extern "C" __attribute__((visibility("default"))) const ::symgrad::PluginDescriptor*           \
  symgrad_plugin_entry() {                                                                       \
    static const ::symgrad::PluginDescriptor descriptor{SYMGRAD_PLUGIN_ABI_VERSION, SYMGRAD_VERSION, \
                                                        SYMGRAD_TOOLCHAIN, NAME, VERSION, REGISTER};  \
    return &descriptor;                                                                          \
  }
