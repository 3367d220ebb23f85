// Loads the plugins by name (SYMGRAD_PLUGIN_PATH points at this build): gradient-checks the op,
// fits y = swish(x w) with the optimizer on the onednn backend, and trains a small network with the
// strategy (state in the step, evaluation on its slow weights) and the regularizers (a penalty on
// hidden activations; a penalty of the outputs' confidence), and fits a line with the loss.
#include <cmath>
#include <cstdio>

#include <symgrad/data/synthetic.hpp>
#include <symgrad/plugin/plugin.hpp>  // the SDK's one header: PluginRegistry, OpRegistry, the graph API
#include <symgrad/symgrad.hpp>
#include <symgrad/train/trainer.hpp>

int main() {
  using namespace symgrad;
  auto& plugins = PluginRegistry::global();
  plugins.load("swish");
  const OpDef& swish = OpRegistry::global().get("swish");
  for (const auto& s : swish.samples()) {
    if (!gradcheck_op(swish, s).passed || !gradgradcheck_op(swish, s).passed) {
      std::printf("swish fails its gradient check on sample %s\n", s.label.c_str());
      return 1;
    }
  }

  Graph g;
  Value x = g.input("x", {DType::f32, Shape{16, 2}});
  Value t = g.input("t", {DType::f32, Shape{16, 1}});
  Value w = g.variable("w", {DType::f32, Shape{2, 1}});
  Value loss = mean(square(g.apply1("swish", {matmul(x, w)}) - t));
  auto grads = gradients(loss, {w});
  VariableStore store;
  store.set("w", Tensor(DType::f32, Shape{2, 1}));
  CompileOptions options;
  options.backend = "onednn";
  // loads the plugin by name; the framework reads its "lr" setting
  options.updates = build_optimizer_step("signum", {{"lr", 0.02}}, {}, g, {w}, grads, store).updates;
  Plan step = compile(g, {loss}, options);

  Tensor xs(DType::f32, Shape{16, 2}), ts(DType::f32, Shape{16, 1});
  for (std::int64_t i = 0; i < 16; ++i) {
    const double a = std::sin(0.7 * i), b = std::cos(1.3 * i), z = 1.5 * a - 0.5 * b;  // w* = (1.5, -0.5)
    xs.set(2 * i, a), xs.set(2 * i + 1, b), ts.set(i, z / (1 + std::exp(-z)));
  }
  const double first = step.run({{"x", xs}, {"t", ts}}, &store)[0].get(0);
  double last = first;
  for (int i = 0; i < 300; ++i) last = step.run({{"x", xs}, {"t", ts}}, &store)[0].get(0);
  std::printf("swish + signum: loss %.6f -> %.6f, w = (%.3f, %.3f)\n", first, last, store.get("w").get(0),
              store.get("w").get(1));
  if (!(last < first / 100)) return 1;

  // 200 examples in batches of 32: 7 steps, synchronized after the 5th, so the fast weights have
  // moved on from the slow ones that evaluation reads
  TrainerOptions o;
  o.epochs = 1;
  o.batch_size = 32;
  o.optimizer = "sgd";
  o.optimizer_settings = {{"lr", 0.1}};
  Sequential model;
  model.dense(8, "relu").dense(2);
  Trainer trainer(model, {DType::f32, Shape{2}}, 2, o);
  auto lookahead = plugins.make_strategy("lookahead", {{"k", std::int64_t{5}}});
  auto activity = plugins.make_regularizer("activity_l1", {{"lambda", 0.1}});
  trainer.add(*lookahead, "lookahead");
  trainer.add(*activity, "activity_l1");
  const EpochRecord r = trainer.fit(make_moons(200, 0.1, 1)).back();
  const std::vector<double> slow = trainer.store().get("lookahead/slow/dense1/W").to_vector();
  const bool evaluates_slow = trainer.evaluation_store().get("dense1/W").to_vector() == slow;
  const bool trains_fast = trainer.store().get("dense1/W").to_vector() != slow;
  const double count = trainer.store().get("lookahead/count").get(0);
  std::printf("lookahead: count %g, evaluation reads the slow weights: %s, fast weights differ: %s\n", count,
              evaluates_slow ? "yes" : "no", trains_fast ? "yes" : "no");
  std::printf("activity_l1: objective %.4f > loss %.4f\n", r.train_objective, r.train_loss);
  if (!evaluates_slow || !trains_fast || count != 2 || !(r.train_objective > r.train_loss)) return 1;
  // a penalty of the batch's outputs: the objective is the loss minus beta times their entropy
  Trainer confident(model, {DType::f32, Shape{2}}, 2, o);
  auto penalty = plugins.make_regularizer("confidence_penalty", {{"beta", 0.5}});
  confident.add(*penalty, "confidence_penalty");
  const EpochRecord c = confident.fit(make_moons(200, 0.1, 1)).back();
  std::printf("confidence_penalty: objective %.4f < loss %.4f\n", c.train_objective, c.train_loss);
  if (!(c.train_objective < c.train_loss)) return 1;

  // the loss, on a model of one input and one real output: y = 2 x + 1, three outliers at +50
  Model line;
  line.input("x", {DType::f32, Shape{1}});
  line.body([](ModelScope& s, const NamedValues& in) {
    static const Dense out("out", 1);
    return NamedValues{{"y_hat", out(s, in.at("x"))}};
  });
  line.loss({"y_hat", "log_cosh", {}, "y_true"});
  Dataset points;
  points.features = Tensor(DType::f32, Shape{64, 1});
  points.arrays["y_true"] = Tensor(DType::f32, Shape{64, 1});
  for (std::int64_t i = 0; i < 64; ++i) {
    const double x = -1 + 2.0 * static_cast<double>(i) / 63;
    points.features.set(i, x);
    points.arrays["y_true"].set(i, 2 * x + 1 + (i % 20 == 0 ? 50 : 0));
  }
  TrainerOptions lo;
  lo.epochs = 300;
  lo.batch_size = 64;
  lo.optimizer = "adam";
  lo.optimizer_settings = {{"lr", 0.05}};
  Trainer fit(line, lo);
  fit.fit(points);
  const double slope = fit.store().get("out/W").get(0), b = fit.store().get("out/b").get(0);
  std::printf("log_cosh: y = %.3f x + %.3f (the line 2 x + 1, despite the outliers)\n", slope, b);
  if (std::abs(slope - 2) > 0.3 || std::abs(b - 1) > 0.3) return 1;
  std::printf("sdk ok\n");
  return 0;
}
