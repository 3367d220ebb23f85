// swish: y = x sigmoid(x) (Ramachandran, Zoph and Le, "Searching for Activation Functions", 2017).
// dy/dx = s + x s (1 - s) with s = sigmoid(x), written with ops so that it differentiates again.
#include <cmath>

#include <symgrad/plugin/plugin.hpp>

namespace {

using namespace symgrad;

void register_components(PluginRegistrar& r) {
  OpDef op;
  op.name = "swish";
  op.doc = "x * sigmoid(x)";
  op.arity = 1;
  op.infer = same_type_as_input();
  op.pullback = [](const PullbackContext& c) {
    Value s = sigmoid(c.x());
    return std::vector<Grad>{c.g() * (s + c.x() * s * (1.0 - s))};
  };
  op.samples = [] {
    return std::vector<Sample>{{"matrix", {sample_floats(Shape{3, 4}, -3, 3)}, {}, true},
                               {"scalar", {sample_floats(Shape{}, 0.5, 2)}, {}, true}};
  };
  r.add_op(std::move(op));
  const KernelFn kernel = elementwise_kernel([](auto x) { return x / (1 + std::exp(-x)); });
  r.add_kernel("swish", "reference", kernel);
  r.add_kernel("swish", "onednn", kernel);  // f32 on the onednn backend: the same loop
}

}  // namespace

SYMGRAD_PLUGIN("swish", "1.0.0", register_components)
