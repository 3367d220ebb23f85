// Loads the two plugins by name (SYMGRAD_PLUGIN_PATH points at this build), gradient-checks the
// op, and fits y = swish(x w) with the optimizer on the onednn backend.
#include <cmath>
#include <cstdio>

#include <symgrad/plugin/registry.hpp>
#include <symgrad/symgrad.hpp>

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
  std::printf("sdk ok\n");
  return 0;
}
