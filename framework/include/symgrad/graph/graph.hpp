#pragma once
/// @file
/// The static computational graph: nodes `outputs = op(inputs)` in an append-only arena, with
/// types inferred when each node is made.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "symgrad/core/tensor.hpp"
#include "symgrad/graph/attrs.hpp"

namespace symgrad {

class Graph;
struct Node;
struct OpDef;

/// A handle to one output of one node: (graph, node id, output index).
struct Value {
  Graph* graph = nullptr;
  std::int32_t node = -1;
  std::int32_t index = 0;

  bool valid() const { return graph != nullptr && node >= 0; }
  /// The node that produces this value.
  const Node& producer() const;
  /// Static type (dtype and shape, possibly with open dimensions).
  const TensorType& type() const;
  const Shape& shape() const { return type().shape; }
  DType dtype() const { return type().dtype; }
  bool operator==(const Value& o) const {
    return graph == o.graph && node == o.node && index == o.index;
  }
};

/// What a node is: an op application, or a leaf the plan provides.
enum class NodeKind : std::uint8_t {
  op,        ///< outputs = op(inputs)
  input,     ///< a placeholder fed at run time
  variable,  ///< named state read from a VariableStore
  constant,  ///< a tensor stored in the graph
};

/// One node of the graph. Immutable once made.
struct Node {
  std::int32_t id = -1;
  NodeKind kind = NodeKind::op;
  const OpDef* op = nullptr;  ///< set when kind == op
  Attrs attrs;
  std::vector<Value> inputs;
  std::vector<TensorType> outputs;
  std::string name;       ///< inputs and variables: their name; ops: optional label
  bool gradient = false;  ///< made by autodiff
  Tensor value;           ///< constants: the value

  /// "matmul" for ops, "input", "variable" or "constant" for leaves.
  std::string op_name() const;
  /// "#12 matmul" or "#3 input 'x'": how errors name a node.
  std::string label() const;
};

/// A static computational graph. Values refer to it by address: a Graph is neither copied nor
/// moved. Nodes are only ever appended, so node ids are a topological order.
class Graph {
 public:
  Graph() = default;
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  /// A placeholder fed by name when a plan runs. Dimensions may be Shape::kOpen (e.g. batch).
  Value input(const std::string& name, const TensorType& type);
  /// Named state (a parameter, an optimizer slot); its value comes from a VariableStore.
  Value variable(const std::string& name, const TensorType& type);
  /// A constant tensor stored in the graph.
  Value constant(const Tensor& value, const std::string& name = "");
  /// A scalar constant of the given dtype.
  Value scalar(double v, DType dtype);

  /// Applies a registered op: checks arity, infers output types (ShapeError names op and node)
  /// and appends the node. Returns its outputs.
  std::vector<Value> apply(const std::string& op, const std::vector<Value>& inputs,
                           const Attrs& attrs = {});
  /// apply() for an op with exactly one output.
  Value apply1(const std::string& op, const std::vector<Value>& inputs, const Attrs& attrs = {});

  std::size_t size() const { return nodes_.size(); }
  const Node& node(std::int32_t id) const { return *nodes_.at(static_cast<std::size_t>(id)); }
  /// Output `i` of node `id`.
  Value value(std::int32_t id, std::int32_t i = 0) { return Value{this, id, i}; }

  /// The input or variable leaf of that name, or an invalid Value.
  Value find_leaf(NodeKind kind, const std::string& name) const;
  /// Labels the producer of `v` (shown by to_string). Returns v.
  Value name(Value v, const std::string& label);

  /// While a GradientScope lives, new nodes are marked as gradient nodes.
  class GradientScope {
   public:
    explicit GradientScope(Graph& g) : g_(g), prev_(g.in_gradient_) { g.in_gradient_ = true; }
    ~GradientScope() { g_.in_gradient_ = prev_; }
    GradientScope(const GradientScope&) = delete;
    GradientScope& operator=(const GradientScope&) = delete;

   private:
    Graph& g_;
    bool prev_;
  };

 private:
  Node& append(NodeKind kind);
  Value leaf(NodeKind kind, const std::string& name, const TensorType& type);
  std::vector<std::unique_ptr<Node>> nodes_;
  bool in_gradient_ = false;
};

/// A readable dump, one node a line: `%5 = matmul(%1, %2) : f64[?, 10]`, gradient nodes marked
/// `[grad]`.
std::string to_string(const Graph& graph);

}  // namespace symgrad
