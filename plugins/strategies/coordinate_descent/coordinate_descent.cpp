// coordinate_descent: each step changes one block of the parameters and leaves the rest
// (Goodfellow, Bengio and Courville, "Deep Learning", section 8.7.2; Wright, "Coordinate descent
// algorithms", Math. Program. 2015). A block is a whole parameter, a unit (a column of a dense
// weight with its bias, an output channel of a convolution), or a single coordinate; the block of a
// step is chosen cyclically, at random (seeded by the step: the same after a resume), or greedily
// (the block holding the largest gradient magnitude, Gauss-Southwell; ties all move). With B the
// block's indicator and g the gradient:
//   update = "gradient":  theta_B <- the optimizer's update of theta_B, with g masked to B;
//                         every other coordinate is left as it is
//   update = "exact":     a coordinate i:  theta_i <- S(theta_i - g_i / H_ii, l1 / H_ii)
//                           (the exact minimizer along the coordinate of a quadratic, plus
//                            l1 |theta|_1: the lasso's soft-threshold, S(z, a) = sign(z) max(|z| - a, 0))
//                         a larger block:  theta_B <- theta_B - (g_B.g_B / g_B.H g_B) g_B
//                           (the exact minimizer of a quadratic along the block's gradient)
//                         H from symbolic second derivatives (a Hessian-vector product in the
//                         step); where the curvature is not positive, the optimizer's update.
// The block index is a state variable of the step set between steps: nothing is recompiled.
#include <cmath>
#include <map>
#include <memory>

#include <symgrad/core/random.hpp>
#include <symgrad/plugin/plugin.hpp>

namespace {

using namespace symgrad;

enum class Block { parameter, unit, coordinate };
enum class Order { cyclic, random, greedy };

Block block_of(const std::string& s) { return s == "parameter" ? Block::parameter : s == "unit" ? Block::unit : Block::coordinate; }
Order order_of(const std::string& s) { return s == "cyclic" ? Order::cyclic : s == "random" ? Order::random : Order::greedy; }

// The axis of a parameter that indexes its units: [units] biases and scales, [in, units] dense
// weights, [units, C, k, k] convolution weights, [1, units, 1, 1] convolution biases.
std::int64_t unit_axis(const NamedParam& p) {
  const Shape& s = p.value.shape();
  if (s.rank() == 1) return 0;
  if (s.rank() == 2) return 1;
  if (s.rank() == 4) return s[0] == 1 ? 1 : 0;
  throw UsageError("coordinate_descent: unit blocks need dense or convolution parameters; '" + p.name + "' is " +
                   p.value.type().to_string());
}

// The layer a parameter belongs to: its name up to the last '/'.
std::string layer_of(const std::string& name) { return name.substr(0, name.rfind('/')); }

class CoordinateDescent final : public Strategy {
 public:
  explicit CoordinateDescent(const Hyperparams& h)
      : block_(block_of(h.string("block"))), order_(order_of(h.string("order"))), exact_(h.string("update") == "exact"),
        l1_(h.real("l1")), seed_(static_cast<std::uint64_t>(h.integer("seed"))) {
    if (l1_ > 0 && !(exact_ && block_ == Block::coordinate)) {
      throw UsageError("l1 > 0 (the lasso's soft-threshold) needs update = \"exact\" and block = \"coordinate\"");
    }
  }

  void transform_gradients(StepContext& ctx) override {
    const DType dt = ctx.dtype();
    Graph& g = ctx.graph();
    masks_.clear();
    blocks_ = 0;
    if (order_ != Order::greedy) {
      // each element's block index, a constant; the step's block a scalar state set between steps
      block_state_ = ctx.state_name("block");
      Value chosen = ctx.state("block", Tensor::scalar(dt, 0.0));
      std::map<std::string, std::pair<std::int64_t, std::int64_t>> layer_units;  // layer -> (first block, units)
      for (const auto& p : ctx.params()) {
        Tensor ids(p.value.type());
        const Shape& s = p.value.shape();
        const std::int64_t n = ids.numel();
        if (block_ == Block::parameter) {
          ids.fill(static_cast<double>(blocks_++));
        } else if (block_ == Block::coordinate) {
          for (std::int64_t i = 0; i < n; ++i) ids.set(i, static_cast<double>(blocks_ + i));
          blocks_ += n;
        } else {
          const std::int64_t axis = unit_axis(p), units = s[static_cast<std::size_t>(axis)];
          auto [it, fresh] = layer_units.try_emplace(layer_of(p.name), blocks_, units);
          if (fresh || it->second.second != units) it->second = {blocks_, units}, blocks_ += units;
          std::int64_t inner = 1;  // elements after the unit axis
          for (std::size_t d = static_cast<std::size_t>(axis) + 1; d < s.rank(); ++d) inner *= s[d];
          for (std::int64_t i = 0; i < n; ++i) ids.set(i, static_cast<double>(it->second.first + (i / inner) % units));
        }
        masks_.push_back(equal(g.constant(ids, p.name + "/coordinate_descent/ids"), chosen));
      }
    } else {
      greedy_masks(ctx);
    }
    for (std::size_t k = 0; k < ctx.params().size(); ++k) {
      const auto& p = ctx.params()[k];
      ctx.set_gradient(p.name, ctx.gradient(p.name) * masks_[k]);
    }
  }

  void extend_step(StepContext& ctx) override {
    const auto& params = ctx.params();
    std::vector<Value> values, grads;
    for (std::size_t k = 0; k < params.size(); ++k) {
      values.push_back(params[k].value);
      grads.push_back(ctx.gradient(params[k].name));  // masked to the block
    }
    if (!exact_) {
      for (std::size_t k = 0; k < params.size(); ++k) {
        ctx.set_updated(params[k].name, where(masks_[k], ctx.updated(params[k].name), params[k].value));
      }
      return;
    }
    // the curvature along the block: v.Hv with v the coordinate's indicator, or along g_B
    const bool coordinate = block_ == Block::coordinate && order_ != Order::greedy;
    std::vector<Value> v = coordinate ? masks_ : grads;
    const std::vector<Value> hv = hessian_vector_product(ctx.objective(), values, v);
    Value curvature = sum(v[0] * hv[0]), gg = sum(grads[0] * grads[0]);
    for (std::size_t k = 1; k < params.size(); ++k) {
      curvature = curvature + sum(v[k] * hv[k]);
      gg = gg + sum(grads[k] * grads[k]);
    }
    Value zero = ctx.graph().scalar(0.0, ctx.dtype());
    Value convex = greater(curvature, zero);
    // step length: 1 / H_ii for a coordinate, g.g / g.Hg along a block's gradient
    Value alpha = coordinate ? 1.0 / curvature : gg / curvature;
    for (std::size_t k = 0; k < params.size(); ++k) {
      const std::string& name = params[k].name;
      Value z = params[k].value - alpha * grads[k];
      if (l1_ > 0) z = sign(z) * relu(abs(z) - alpha * l1_);  // S(z, l1 / H_ii)
      Value fallback = where(masks_[k], ctx.updated(name), params[k].value);
      ctx.set_updated(name, where(convex, where(masks_[k], z, params[k].value), fallback));
    }
  }

  void on_step_begin(TrainEvent& e) override {
    if (order_ == Order::greedy || e.store == nullptr || blocks_ == 0) return;
    std::int64_t b = e.step % blocks_;
    if (order_ == Order::random) {
      Random r(derive_seed(seed_, "coordinate_descent/" + std::to_string(e.step)));
      b = static_cast<std::int64_t>(r.below(static_cast<std::uint64_t>(blocks_)));
    }
    e.store->get(block_state_).set(0, static_cast<double>(b));
  }

 private:
  // Greedy (Gauss-Southwell): the blocks whose largest gradient magnitude is the largest of all.
  void greedy_masks(StepContext& ctx) {
    const auto& params = ctx.params();
    // each parameter's scores: |g| (coordinates), its max (the parameter), its max per unit [units]
    std::vector<Value> scores;
    for (const auto& p : params) {
      Value a = abs(ctx.gradient(p.name));
      if (block_ == Block::coordinate) {
        scores.push_back(a);
      } else if (block_ == Block::parameter) {
        scores.push_back(max(a));
      } else {
        Axes others;  // every axis but the unit axis
        for (std::int64_t d = 0; d < static_cast<std::int64_t>(p.value.shape().rank()); ++d) {
          if (d != unit_axis(p)) others.push_back(d);
        }
        scores.push_back(others.empty() ? a : max(a, others));
      }
    }
    if (block_ == Block::unit) {  // a unit's score: the max over its layer's parameters (W and b)
      std::map<std::pair<std::string, std::int64_t>, Value> layer;
      auto key = [&](std::size_t k) { return std::pair{layer_of(params[k].name), scores[k].shape()[0]}; };
      for (std::size_t k = 0; k < params.size(); ++k) {
        auto [it, fresh] = layer.try_emplace(key(k), scores[k]);
        if (!fresh) it->second = where(greater(scores[k], it->second), scores[k], it->second);
      }
      for (std::size_t k = 0; k < params.size(); ++k) scores[k] = layer.at(key(k));
    }
    Value top;  // the largest score of all
    for (const Value& sc : scores) {
      Value m = sc.shape().rank() == 0 ? sc : max(sc);
      top = top.valid() ? where(greater(m, top), m, top) : m;
    }
    for (std::size_t k = 0; k < params.size(); ++k) {
      Value chosen = equal(scores[k], top);
      if (block_ == Block::unit) {  // [units] back along the unit axis
        std::vector<std::int64_t> dims(params[k].value.shape().rank(), 1);
        dims[static_cast<std::size_t>(unit_axis(params[k]))] = chosen.shape()[0];
        chosen = reshape(chosen, Shape(dims));
      }
      masks_.push_back(broadcast_like(chosen, params[k].value));
    }
  }

  Block block_;
  Order order_;
  bool exact_;
  double l1_;
  std::uint64_t seed_;
  std::int64_t blocks_ = 0;
  std::string block_state_;
  std::vector<Value> masks_;  // per parameter: 1 on the step's block, 0 elsewhere
};

void register_components(PluginRegistrar& r) {
  r.add_strategy(
      "coordinate_descent", "change one block of the parameters a step (cyclic, random or greedy order)",
      Schema{choice_param("block", "coordinate", {"parameter", "unit", "coordinate"},
                          "what a step changes: a whole parameter, a unit, or a single coordinate"),
             choice_param("order", "cyclic", {"cyclic", "random", "greedy"},
                          "which block: in turn, uniformly at random, or the one with the largest |gradient|"),
             choice_param("update", "gradient", {"gradient", "exact"},
                          "the optimizer's step on the block, or the exact minimizer along it (quadratic model)"),
             real_param("l1", 0.0, "exact coordinate updates: the lasso penalty l1 |theta|_1 by soft-thresholding").at_least(0),
             int_param("seed", 0, "random order: the seed of the block draws")},
      [](const Hyperparams& h) { return std::make_unique<CoordinateDescent>(h); });
}

}  // namespace

SYMGRAD_PLUGIN("coordinate_descent", "1.0.0", register_components)
