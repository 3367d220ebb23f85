#pragma once
/// @file
/// The kinds of plugin component and their factories. Each kind's interface has its own header:
/// initializer.hpp, optimizer.hpp (UpdateRule, HostOptimizer), regularizer.hpp and strategy.hpp
/// (both Extensions, extension.hpp), loss.hpp; ops are OpDefs (graph/op_def.hpp). Each component is made
/// by its factory from checked hyperparameters (hyperparams.hpp) and registered by a plugin
/// (plugin.hpp).

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "symgrad/plugin/extension.hpp"
#include "symgrad/plugin/hyperparams.hpp"
#include "symgrad/plugin/initializer.hpp"
#include "symgrad/plugin/loss.hpp"
#include "symgrad/plugin/optimizer.hpp"
#include "symgrad/plugin/regularizer.hpp"
#include "symgrad/plugin/strategy.hpp"

namespace symgrad {

/// What a plugin contributes.
enum class ComponentKind { op, initializer, optimizer, regularizer, strategy, loss };

/// "op", "initializer", "optimizer", "regularizer", "strategy", "loss".
const char* to_string(ComponentKind k);
/// The kind named `s`, or nullopt.
std::optional<ComponentKind> parse_component_kind(const std::string& s);

using InitializerFactory = std::function<std::unique_ptr<Initializer>(const Hyperparams&)>;
using UpdateRuleFactory = std::function<std::unique_ptr<UpdateRule>(const Hyperparams&)>;
using HostOptimizerFactory = std::function<std::unique_ptr<HostOptimizer>(const Hyperparams&)>;
using RegularizerFactory = std::function<std::unique_ptr<Regularizer>(const Hyperparams&)>;
using StrategyFactory = std::function<std::unique_ptr<Strategy>(const Hyperparams&)>;
using LossFactory = std::function<std::unique_ptr<Loss>(const Hyperparams&)>;

}  // namespace symgrad
