#include "symgrad/graph/graph.hpp"

#include <fmt/format.h>

#include "symgrad/core/error.hpp"
#include "symgrad/graph/op_def.hpp"
#include "symgrad/graph/op_registry.hpp"

namespace symgrad {

const Node& Value::producer() const {
  if (!valid()) throw UsageError("use of an invalid (default-constructed) Value");
  return graph->node(node);
}

const TensorType& Value::type() const {
  return producer().outputs.at(static_cast<std::size_t>(index));
}

std::string Node::op_name() const {
  switch (kind) {
    case NodeKind::op: return op->name;
    case NodeKind::input: return "input";
    case NodeKind::variable: return "variable";
    case NodeKind::constant: return "constant";
  }
  return "?";
}

std::string Node::label() const {
  if (kind != NodeKind::op && !name.empty()) return fmt::format("#{} {} '{}'", id, op_name(), name);
  if (!name.empty()) return fmt::format("#{} {} ({})", id, op_name(), name);
  return fmt::format("#{} {}", id, op_name());
}

void InferContext::fail(const std::string& message) const {
  throw ShapeError(fmt::format("op '{}': {}", op.name, message));
}

Node& Graph::append(NodeKind kind) {
  auto n = std::make_unique<Node>();
  n->id = static_cast<std::int32_t>(nodes_.size());
  n->kind = kind;
  n->gradient = in_gradient_;
  nodes_.push_back(std::move(n));
  return *nodes_.back();
}

Value Graph::leaf(NodeKind kind, const std::string& name, const TensorType& type) {
  if (name.empty()) throw UsageError("inputs and variables need a name");
  if (find_leaf(kind, name).valid()) {
    throw UsageError(fmt::format("the graph already has a {} named '{}'",
                                 kind == NodeKind::input ? "input" : "variable", name));
  }
  Node& n = append(kind);
  n.name = name;
  n.outputs = {type};
  return Value{this, n.id, 0};
}

Value Graph::input(const std::string& name, const TensorType& type) {
  return leaf(NodeKind::input, name, type);
}

Value Graph::variable(const std::string& name, const TensorType& type) {
  if (!type.shape.is_static()) {
    throw ShapeError(fmt::format("variable '{}' must have a static shape, got {}", name,
                                 type.to_string()));
  }
  return leaf(NodeKind::variable, name, type);
}

Value Graph::constant(const Tensor& value, const std::string& name) {
  Node& n = append(NodeKind::constant);
  n.name = name;
  n.value = value;
  n.outputs = {value.type()};
  return Value{this, n.id, 0};
}

Value Graph::scalar(double v, DType dtype) { return constant(Tensor::scalar(dtype, v)); }

std::vector<Value> Graph::apply(const std::string& op_name, const std::vector<Value>& inputs,
                                const Attrs& attrs) {
  const OpDef& op = OpRegistry::global().get(op_name);
  const auto next_label = fmt::format("#{} {}", nodes_.size(), op.name);
  if (op.arity >= 0 && static_cast<int>(inputs.size()) != op.arity) {
    throw UsageError(fmt::format("op '{}' at node {}: takes {} inputs, got {}", op.name,
                                 next_label, op.arity, inputs.size()));
  }
  if (op.arity < 0 && inputs.empty()) {
    throw UsageError(fmt::format("op '{}' at node {}: needs at least one input", op.name, next_label));
  }
  std::vector<TensorType> in_types;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].graph != this) {
      throw UsageError(fmt::format("op '{}' at node {}: input {} belongs to another graph or is "
                                   "invalid",
                                   op.name, next_label, i));
    }
    in_types.push_back(inputs[i].type());
  }
  std::vector<TensorType> out_types;
  try {
    out_types = op.infer(InferContext{op, attrs, in_types});
  } catch (const ShapeError& e) {
    std::string shapes;
    for (const auto& t : in_types) shapes += (shapes.empty() ? "" : ", ") + t.to_string();
    throw ShapeError(fmt::format("{} (at node {}, inputs {})", e.what(), next_label, shapes));
  }
  Node& n = append(NodeKind::op);
  n.op = &op;
  n.attrs = attrs;
  n.inputs = inputs;
  n.outputs = std::move(out_types);
  std::vector<Value> outs;
  for (std::size_t i = 0; i < n.outputs.size(); ++i) {
    outs.push_back(Value{this, n.id, static_cast<std::int32_t>(i)});
  }
  return outs;
}

Value Graph::apply1(const std::string& op, const std::vector<Value>& inputs, const Attrs& attrs) {
  auto outs = apply(op, inputs, attrs);
  if (outs.size() != 1) {
    throw UsageError(fmt::format("op '{}' has {} outputs; apply1 needs exactly one", op, outs.size()));
  }
  return outs[0];
}

Value Graph::find_leaf(NodeKind kind, const std::string& name) const {
  for (const auto& n : nodes_) {
    if (n->kind == kind && n->name == name) return Value{const_cast<Graph*>(this), n->id, 0};
  }
  return {};
}

Value Graph::name(Value v, const std::string& label) {
  nodes_.at(static_cast<std::size_t>(v.node))->name = label;
  return v;
}

std::string to_string(const Graph& graph) {
  std::string s;
  for (std::size_t i = 0; i < graph.size(); ++i) {
    const Node& n = graph.node(static_cast<std::int32_t>(i));
    std::string outs;
    for (const auto& t : n.outputs) outs += fmt::format("{}{}", outs.empty() ? "" : ", ", t.to_string());
    std::string args;
    for (const auto& v : n.inputs) {
      args += fmt::format("{}%{}", args.empty() ? "" : ", ", v.node);
      if (v.index) args += fmt::format(".{}", v.index);
    }
    std::string line = fmt::format("%{} = {}", n.id, n.op_name());
    if (n.kind == NodeKind::op) {
      line += fmt::format("({})", args);
      if (!n.attrs.items().empty()) line += fmt::format(" {{{}}}", n.attrs.to_string());
      if (!n.name.empty()) line += fmt::format(" \"{}\"", n.name);
    } else {
      if (!n.name.empty()) line += fmt::format(" '{}'", n.name);
      if (n.kind == NodeKind::constant && n.value.numel() == 1) {
        line += fmt::format(" = {}", n.value.get(0));
      }
    }
    line += " : " + outs;
    if (n.gradient) line += "  [grad]";
    s += line + "\n";
  }
  return s;
}

}  // namespace symgrad
