// An experiment's [model] (the list form, or the graph form of named layers, merges and repeated
// blocks) and its [[loss]] tables: read with errors that name the file, the line and the layer,
// and made into a Model (docs/experiments.md).
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "experiment_reader.hpp"
#include "symgrad/core/error.hpp"
#include "symgrad/core/names.hpp"
#include "symgrad/plugin/registry.hpp"

namespace symgrad {

namespace experiment_detail {

namespace {

const std::vector<std::string>& list_types() {
  static const std::vector<std::string> t = {"dense", "activation", "dropout", "flatten", "conv2d", "max_pool",
                                             "avg_pool", "batch_norm"};
  return t;
}

const std::vector<std::string>& graph_types() {
  static const std::vector<std::string> t = {"dense",    "activation", "dropout",    "flatten", "conv2d",   "max_pool",
                                             "avg_pool", "batch_norm", "layer_norm", "reshape", "add",     "multiply",
                                             "concat",   "block"};
  return t;
}

// One layer table's settings (the keys of every layer type; `graph`: also name, inputs, block, repeat).
GraphLayerSpec read_layer(const std::string& path, const toml::node& node, const std::string& section, bool graph) {
  const toml::table* l = node.as_table();
  if (l == nullptr) throw UsageError(fmt::format("{}: a layer is a table {{ type = \"dense\", ... }}", where(path, node)));
  const Reader r(path, *l, section, path);
  std::vector<std::string> keys = {"type", "units", "activation", "p", "keep_prob", "filters", "kernel", "stride",
                                   "padding", "momentum", "eps", "sync"};
  if (graph) keys.insert(keys.end(), {"name", "inputs", "axis", "shape", "tied", "block", "repeat"});
  r.only(keys);
  GraphLayerSpec g;
  g.where = where(path, node);
  LayerSpec& spec = g.layer;
  r.get("type", spec.type, "a string");
  r.get("units", spec.units, "an integer");
  r.get("activation", spec.activation, "a string");
  r.get("p", spec.p, "a number");
  if (const toml::node* keep = l->get("keep_prob")) {  // the course's name for dropout: p = 1 - keep_prob
    double k = 0;
    r.get("keep_prob", k, "a number");
    if (l->get("p") != nullptr || !(k > 0 && k <= 1)) {
      throw UsageError(fmt::format("{}: keep_prob (the course's: p = 1 - keep_prob) is in (0, 1], and not given with p",
                                   where(path, *keep)));
    }
    spec.p = 1 - k;
  }
  r.get("filters", spec.filters, "an integer");
  r.get("kernel", spec.kernel, "an integer");
  r.get("stride", spec.stride, "an integer");
  r.get("padding", spec.padding, "an integer");
  r.get("momentum", spec.momentum, "a number");
  r.get("eps", spec.eps, "a number");
  r.get("sync", spec.sync, "true or false");
  r.get("axis", spec.axis, "an integer");
  r.get("name", g.name, "a string");
  r.get("block", g.block, "a string");
  r.get("tied", spec.tied, "a string (the name of a dense layer above)");
  r.get("repeat", g.repeat, "an integer");
  r.positive("repeat", g.repeat, 1);
  if (l->get("stride") != nullptr) r.positive("stride", spec.stride, 1);  // left out: 1 (conv2d), the kernel (pooling)
  if (const toml::node* sh = l->get("shape")) {
    const toml::array* a = sh->as_array();
    for (std::size_t i = 0; a != nullptr && i < a->size(); ++i) {
      if (!a->get(i)->is_integer()) break;
      spec.shape.push_back(a->get(i)->as_integer()->get());
    }
    if (a == nullptr || spec.shape.size() != a->size()) {
      throw UsageError(fmt::format("{}: 'shape' must be a list of integers (the example's shape)", where(path, *sh)));
    }
  }
  if (const toml::node* in = l->get("inputs")) {
    const toml::array* a = in->as_array();
    if (a == nullptr) throw UsageError(fmt::format("{}: 'inputs' must be a list of names", where(path, *in)));
    for (const auto& n : *a) {
      auto v = n.value<std::string>();
      if (!v) throw UsageError(fmt::format("{}: 'inputs' must be a list of names", where(path, n)));
      g.inputs.push_back(*v);
    }
  }
  const auto& types = graph ? graph_types() : list_types();
  if (std::find(types.begin(), types.end(), spec.type) == types.end()) {
    throw UsageError(fmt::format("{}: unknown layer type '{}'{} ({})", g.where, spec.type, did_you_mean(spec.type, types),
                                 fmt::join(types, ", ")));
  }
  if (spec.type != "block") {
    try {  // the layer's own checks (units, activation name, p, ...)
      make_layer(graph ? (g.name.empty() ? "layer" : g.name) : "layer", spec);
    } catch (const UsageError& e) {
      throw UsageError(fmt::format("{}: {}", g.where, e.what()));
    }
  }
  return g;
}

// Each layer's name is new, and every value it reads is `known` or a layer above it.
void check_names(const std::vector<GraphLayerSpec>& layers, std::vector<std::string> known, const std::string& what,
                 const std::map<std::string, std::vector<GraphLayerSpec>>* blocks) {
  std::set<std::string> seen(known.begin(), known.end());
  std::set<std::string> dense;  // the dense layers above
  for (const auto& l : layers) {
    if (l.name.empty()) throw UsageError(fmt::format("{}: a layer of the graph form needs a name", l.where));
    if (seen.count(l.name)) throw UsageError(fmt::format("{}: a second layer (or input) named '{}'", l.where, l.name));
    for (const auto& in : l.inputs) {
      if (!seen.count(in)) {
        throw UsageError(fmt::format("{}: layer '{}' reads '{}', which is not {} or a layer above it (a layer reads only "
                                     "what is defined before it, so a model has no cycle){}; known: {}",
                                     l.where, l.name, in, what, did_you_mean(in, known), fmt::join(known, ", ")));
      }
    }
    if (!l.layer.tied.empty() && (l.layer.type != "dense" || !dense.count(l.layer.tied))) {
      throw UsageError(fmt::format("{}: layer '{}' is tied to '{}', which is not a dense layer above it", l.where, l.name,
                                   l.layer.tied));
    }
    if (l.layer.type == "block") {
      if (blocks == nullptr) throw UsageError(fmt::format("{}: a block cannot hold a block", l.where));
      if (!blocks->count(l.block)) {
        std::vector<std::string> names;
        for (const auto& [n, b] : *blocks) names.push_back(n);
        throw UsageError(fmt::format("{}: layer '{}' repeats block '{}', which [model.blocks] does not define{}", l.where,
                                     l.name, l.block, did_you_mean(l.block, names)));
      }
      if (l.inputs.size() > 1) throw UsageError(fmt::format("{}: block layer '{}' takes one input", l.where, l.name));
    }
    seen.insert(l.name);
    known.push_back(l.name);
    if (l.layer.type == "dense") dense.insert(l.name);
  }
}

// The layers of the graph form, made once (both builds of the model call the same objects) with
// blocks unrolled: each reads values by name.
struct Node {
  std::shared_ptr<const Layer> layer;
  std::vector<std::string> inputs;
  std::string name, where;
};

void unroll(const std::vector<GraphLayerSpec>& layers, const std::map<std::string, std::vector<GraphLayerSpec>>& blocks,
            const std::string& prefix, std::string above, std::vector<Node>& out) {
  std::map<std::string, std::string> renamed = {{"in", above}};  // a block's names -> the unrolled ones
  auto name_of = [&](const std::string& n) { return prefix.empty() ? n : renamed.count(n) ? renamed.at(n) : n; };
  for (const auto& l : layers) {
    const std::string name = prefix.empty() ? l.name : prefix + l.name;
    std::vector<std::string> inputs;
    for (const auto& in : l.inputs) inputs.push_back(name_of(in));
    if (inputs.empty()) inputs.push_back(above);
    if (l.layer.type == "block") {
      std::string from = inputs.front();
      for (std::int64_t k = 1; k <= l.repeat; ++k) {
        unroll(blocks.at(l.block), blocks, fmt::format("{}{}_", name, k), from, out);
        from = out.back().name;
      }
      renamed[l.name] = from;
      above = from;
      continue;
    }
    LayerSpec spec = l.layer;
    if (!spec.tied.empty()) spec.tied = name_of(spec.tied);  // a block's own layer: its copy's name
    out.push_back({make_layer(name, spec), inputs, name, l.where});
    renamed[l.name] = name;
    above = name;
  }
}

// Calls `layer` with the file and line of its table in the message of any error.
Value call(const Node& node, ModelScope& scope, const std::vector<Value>& args) {
  try {
    return (*node.layer)(scope, args);
  } catch (const ShapeError& e) {
    throw ShapeError(fmt::format("{}: {}", node.where, e.what()));
  } catch (const UsageError& e) {
    throw UsageError(fmt::format("{}: {}", node.where, e.what()));
  }
}

}  // namespace

ModelSpec read_model_spec(const std::string& path, const toml::table& root) {
  ModelSpec m;
  const toml::table* t = root.get_as<toml::table>("model");
  if (t == nullptr) throw UsageError(fmt::format("{}: the experiment has no [model] layers", path));
  const Reader r(path, *t, "model", path);
  r.only({"layers", "layer", "blocks", "inputs", "outputs"});
  if (const toml::array* list = t->get_as<toml::array>("layers")) {
    if (t->contains("layer")) {
      throw UsageError(fmt::format("{}: [model] has both layers = [...] (the list form) and [[model.layer]] tables (the "
                                   "graph form); keep one",
                                   where(path, *t)));
    }
    for (const auto& node : *list) m.layers.push_back(read_layer(path, node, "model.layers", false).layer);
  } else if (const toml::array* graph = t->get_as<toml::array>("layer")) {
    auto names = [&](const char* key, std::vector<std::string>& out) {
      const toml::node* n = t->get(key);
      if (n == nullptr) return;
      out.clear();
      const toml::array* a = n->as_array();
      for (std::size_t i = 0; a != nullptr && i < a->size(); ++i) {
        auto v = a->get(i)->value<std::string>();
        if (!v) break;
        out.push_back(*v);
      }
      if (a == nullptr || out.size() != a->size() || out.empty()) {
        throw UsageError(fmt::format("{}: '{}' in [model] must be a list of names", where(path, *n), key));
      }
    };
    names("inputs", m.inputs);
    names("outputs", m.outputs);
    if (const toml::node* b = t->get("blocks")) {
      const toml::table* blocks = b->as_table();
      if (blocks == nullptr) throw UsageError(fmt::format("{}: [model.blocks] holds one table per block", where(path, *b)));
      for (const auto& [name, node] : *blocks) {
        const toml::table* bt = node.as_table();
        const toml::array* layers = bt == nullptr ? nullptr : bt->get_as<toml::array>("layers");
        if (layers == nullptr) {
          throw UsageError(fmt::format("{}: block '{}' needs layers = [{{ name = ..., type = ... }}, ...]", where(path, node),
                                       std::string(name.str())));
        }
        Reader(path, *bt, "model.blocks", path).only({"layers"});
        auto& spec = m.blocks[std::string(name.str())];
        for (const auto& l : *layers) spec.push_back(read_layer(path, l, "model.blocks", true));
      }
    }
    for (const auto& node : *graph) m.graph.push_back(read_layer(path, node, "model.layer", true));
    for (const auto& [name, block] : m.blocks) {
      if (block.empty()) throw UsageError(fmt::format("{}: block '{}' has no layers", path, name));
      check_names(block, {"in"}, "'in' (the block's input)", nullptr);
    }
    check_names(m.graph, m.inputs, "a model input", &m.blocks);
    if (m.outputs.empty()) m.outputs = {m.graph.back().name};
    for (const auto& o : m.outputs) {
      if (std::none_of(m.graph.begin(), m.graph.end(), [&](const GraphLayerSpec& l) { return l.name == o; })) {
        throw UsageError(fmt::format("{}: output '{}' is not a layer of [[model.layer]]", where(path, *t->get("outputs")), o));
      }
    }
  } else {
    throw UsageError(fmt::format("{}: [model] needs layers = [...] (a list of layers) or [[model.layer]] tables (a graph "
                                 "of named layers)",
                                 where(path, *t)));
  }
  if (m.layers.empty() && m.graph.empty()) throw UsageError(fmt::format("{}: the experiment has no [model] layers", path));
  // [[loss]]: output, target, weight, and the loss's name and settings (checked against its schema)
  if (const toml::node* n = root.get("loss")) {
    const toml::array* a = n->as_array();
    if (a == nullptr) throw UsageError(fmt::format("{}: losses are [[loss]] tables", where(path, *n)));
    for (const auto& node : *a) {
      const toml::table* lt = node.as_table();
      if (lt == nullptr) throw UsageError(fmt::format("{}: a loss is a table", where(path, node)));
      toml::table settings = *lt;
      LossSpec spec(m.layers.empty() ? m.outputs.front() : "logits");
      const Reader lr(path, *lt, "loss", path);
      lr.get("output", spec.output, "a string");
      lr.get("target", spec.target, "a string");
      lr.get("weight", spec.weight, "a number");
      for (const char* key : {"output", "target", "weight"}) settings.erase(key);
      const ComponentSpec c = component(path, settings, "loss", "softmax_cross_entropy", [](const std::string& name) {
        return PluginRegistry::global().get(ComponentKind::loss, name).schema;  // an unknown one names the known ones
      });
      spec.loss = c.name;
      spec.settings = c.settings;
      const std::vector<std::string> outs = m.layers.empty() ? m.outputs : std::vector<std::string>{"logits"};
      if (std::find(outs.begin(), outs.end(), spec.output) == outs.end()) {
        throw UsageError(fmt::format("{}: a loss on '{}', which is not an output of the model{}; its outputs: {}",
                                     where(path, node), spec.output, did_you_mean(spec.output, outs), fmt::join(outs, ", ")));
      }
      if (!(spec.weight >= 0)) throw UsageError(fmt::format("{}: 'weight' = {} is out of range: allowed >= 0", where(path, node), spec.weight));
      m.losses.push_back(spec);
      m.loss_where.push_back(where(path, node));
    }
  }
  const std::vector<std::string> outs = m.layers.empty() ? m.outputs : std::vector<std::string>{"logits"};
  for (const auto& o : outs) {
    if (std::none_of(m.losses.begin(), m.losses.end(), [&](const LossSpec& l) { return l.output == o; })) {
      if (!m.losses.empty() || outs.size() > 1) {
        throw UsageError(fmt::format("{}: output '{}' has no [[loss]] (give it one; weight = 0 only watches it)", path, o));
      }
      m.losses.emplace_back(o);  // one output, no [[loss]]: a classifier of the labels "y"
      m.loss_where.push_back(path);
    }
  }
  return m;
}

}  // namespace experiment_detail

std::shared_ptr<const Layer> make_layer(const std::string& name, const LayerSpec& l) {
  if (l.type == "dense") return std::make_shared<Dense>(name, l.units, l.activation, l.tied);
  if (l.type == "activation") return std::make_shared<Activation>(name, l.activation);
  if (l.type == "dropout") return std::make_shared<Dropout>(name, l.p);
  if (l.type == "flatten") return std::make_shared<Flatten>(name);
  if (l.type == "conv2d") {
    return std::make_shared<Conv2D>(name, l.filters, l.kernel, l.stride == 0 ? 1 : l.stride, l.padding, l.activation);
  }
  if (l.type == "max_pool") return std::make_shared<Pool2D>(name, Pool2D::Kind::max, l.kernel, l.stride);
  if (l.type == "avg_pool") return std::make_shared<Pool2D>(name, Pool2D::Kind::average, l.kernel, l.stride);
  if (l.type == "batch_norm") return std::make_shared<BatchNorm>(name, l.momentum, l.eps, l.sync);
  if (l.type == "layer_norm") return std::make_shared<LayerNorm>(name, l.eps);
  if (l.type == "reshape") return std::make_shared<Reshape>(name, Shape(l.shape));
  if (l.type == "add") return std::make_shared<Merge>(name, Merge::Kind::add);
  if (l.type == "multiply") return std::make_shared<Merge>(name, Merge::Kind::multiply);
  if (l.type == "concat") return std::make_shared<Merge>(name, Merge::Kind::concat, l.axis);
  throw UsageError(fmt::format("unknown layer type '{}'", l.type));
}

Model ModelSpec::build(const Dataset& data, DType dtype) const {
  auto example_of = [&](const std::string& name) {
    const Tensor& t = data.array(name);
    std::vector<std::int64_t> dims(t.shape().dims().begin() + 1, t.shape().dims().end());
    const bool real = t.dtype() == DType::f32 || t.dtype() == DType::f64;
    return TensorType{real ? dtype : t.dtype(), Shape(dims)};
  };
  Model m;
  if (!layers.empty()) {
    Sequential s;  // the list form: one input "x", one output "logits"
    for (const auto& l : layers) add_layer(s, l);
    m.input("x", example_of("x"));
    m.body([s](ModelScope& scope, const NamedValues& in) { return NamedValues{{"logits", s.apply(scope, in.at("x"))}}; });
    for (const auto& l : losses) m.loss(l);
    return m;
  }
  for (const auto& in : inputs) m.input(in, example_of(in));
  std::vector<experiment_detail::Node> nodes;
  experiment_detail::unroll(graph, blocks, "", inputs.front(), nodes);
  m.body([nodes, outs = outputs](ModelScope& scope, const NamedValues& in) {
    std::map<std::string, Value> values(in.begin(), in.end());
    for (const auto& node : nodes) {
      std::vector<Value> args;
      for (const auto& name : node.inputs) args.push_back(values.at(name));
      values[node.name] = experiment_detail::call(node, scope, args);
    }
    NamedValues out;
    for (const auto& o : outs) out[o] = values.at(o);
    return out;
  });
  for (const auto& l : losses) m.loss(l);
  return m;
}

std::string ModelSpec::describe() const {
  if (!layers.empty()) {
    Sequential s;
    for (const auto& l : layers) add_layer(s, l);
    return s.to_string();
  }
  std::vector<std::string> parts;
  for (const auto& l : graph) {
    parts.push_back(l.layer.type == "block" ? fmt::format("{}: {} x{}", l.name, l.block, l.repeat)
                                            : fmt::format("{}: {}", l.name, make_layer(l.name, l.layer)->describe()));
  }
  std::vector<std::string> terms;
  for (const auto& l : losses) terms.push_back(fmt::format("{}({})", l.loss, l.output));
  return fmt::format("{} [{}]", fmt::join(parts, " -> "), fmt::join(terms, " + "));
}

}  // namespace symgrad
