// Models as graphs (train/model.hpp, train/layers.hpp): a residual DAG, shared and tied layers,
// several heads with weighted losses, the hooks' view of every layer, and the errors that name
// the layer, output or input at fault.
#include <cmath>

#include <gtest/gtest.h>

#include "symgrad/autodiff/gradcheck.hpp"
#include "symgrad/autodiff/gradients.hpp"
#include "symgrad/core/error.hpp"
#include "symgrad/ops/ops.hpp"
#include "symgrad/runtime/plan.hpp"
#include "symgrad/runtime/variable_store.hpp"
#include "symgrad/train/model.hpp"

namespace symgrad {
namespace {

// Every layer output the hooks see, as "layer:stage:last".
class Recorder final : public Extension {
 public:
  Value on_layer_output(ModelContext&, const LayerOutput& out) override {
    seen.push_back(out.layer + (out.stage == LayerOutput::Stage::pre_activation ? ":pre" : ":out") +
                   (out.last ? ":last" : ""));
    return out.value;
  }
  std::vector<std::string> seen;
};

// x -> a (relu) -> b; sum = a + b (a skip connection); head: sum -> 2 logits.
Model residual() {
  Model m;
  m.input("x", {DType::f64, Shape{3}});
  m.body([](ModelScope& s, const NamedValues& in) {
    static const Dense a("a", 4, "relu"), b("b", 4, "tanh"), head("head", 2);
    static const Merge sum("sum", Merge::Kind::add);
    Value ha = a(s, in.at("x"));
    return NamedValues{{"logits", head(s, sum(s, {ha, b(s, ha)}))}};
  });
  m.loss({"logits"});
  return m;
}

// Values for every parameter of `built`, deterministic.
VariableStore store_for(const BuiltModel& built) {
  VariableStore store;
  double k = 0.1;
  for (const auto& p : built.forward.params) {
    Tensor t(p.value.type());
    for (std::int64_t i = 0; i < t.numel(); ++i) t.set(i, std::sin(k += 0.37));
    store.set(p.value.producer().name, t);
  }
  return store;
}

TEST(Model, ResidualDagBuildsAndItsSkipCarriesTheGradient) {
  Graph g;
  Recorder rec;
  const BuiltModel built = residual().build(g, Mode::train, DType::f64, {&rec});
  // the hooks see the input, each layer after its activation (and the affine output before it),
  // and `last` on the layer that gives the output
  EXPECT_EQ(rec.seen, (std::vector<std::string>{"x:out", "a:pre", "a:out", "b:pre", "b:out", "sum:out", "head:out:last"}));
  ASSERT_EQ(built.layers.size(), 4u);
  EXPECT_EQ(built.layers[2].layer, "sum");
  EXPECT_EQ(built.layers[2].inputs, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(built.layers[2].output.to_string(), "f64[?, 4]");
  EXPECT_EQ(built.forward.params.size(), 6u);
  // d loss / d a/W = through b and through the skip: equal to the sum of both paths, which the
  // gradient check confirms against central differences on the whole graph
  VariableStore store = store_for(built);
  Feeds feeds = {{"x", Tensor::from(DType::f64, Shape{2, 3}, {0.5, -1, 2, 1, 0.25, -0.5})},
                 {"y", Tensor::from(DType::i32, Shape{2}, {1, 0})}};
  // gradcheck takes inputs: rebuild with the parameters as inputs by feeding a graph of the same model
  Graph g2;
  const BuiltModel b2 = residual().build(g2, Mode::eval, DType::f64);
  std::vector<Value> params;
  for (const auto& p : b2.forward.params) params.push_back(p.value);
  const auto grads = gradients(b2.loss, params);
  Plan plan = compile(g2, {b2.loss, grads[0]});
  const auto& out = plan.run(feeds, &store);
  EXPECT_TRUE(std::isfinite(out[0].get(0)));
  double norm = 0;
  for (std::int64_t i = 0; i < out[1].numel(); ++i) norm += std::abs(out[1].get(i));
  EXPECT_GT(norm, 0);
}

TEST(Model, GradientOfAModelMatchesCentralDifferences) {
  // a residual block with layer normalization, the input's gradient against central differences
  // in f64 (the parameters are variables, so the check is written out here)
  Model m;
  m.input("x", {DType::f64, Shape{3}});
  m.body([](ModelScope& s, const NamedValues& in) {
    static const LayerNorm ln("ln");
    static const Merge sum("sum", Merge::Kind::add);
    Value w = s.graph().constant(Tensor::from(DType::f64, Shape{3, 3}, {0.1, 0.2, -0.3, 0.4, -0.5, 0.6, 0.7, 0.8, -0.9}));
    Value h = tanh(matmul(in.at("x"), w));
    return NamedValues{{"out", ln(s, sum(s, {h, in.at("x")}))}};
  });
  m.loss({"out", "mse", {}, "t"});
  Graph g;
  const BuiltModel b = m.build(g, Mode::train, DType::f64);
  VariableStore store;
  store.set("ln/gamma", Tensor::from(DType::f64, Shape{3}, {1.0, 0.7, 1.3}));
  store.set("ln/beta", Tensor::from(DType::f64, Shape{3}, {0.1, -0.2, 0.3}));
  Feeds feeds = {{"x", Tensor::from(DType::f64, Shape{2, 3}, {0.5, -1, 2, 1, 0.25, -0.5})},
                 {"t", Tensor::from(DType::f64, Shape{2, 3}, {0, 1, 0, 1, 0, 1})}};
  const auto grads = gradients(b.loss, {b.inputs.at("x"), b.targets.at("t")});
  Plan plan = compile(g, {b.loss, grads[0], grads[1]});
  std::vector<Tensor> analytic;
  for (const Tensor& t : plan.run(feeds, &store)) analytic.push_back(t.clone());  // the plan reuses its buffers
  const double h = 1e-5;
  for (const auto& [name, k] : std::vector<std::pair<std::string, int>>{{"x", 1}, {"t", 2}}) {
    for (std::int64_t i = 0; i < feeds[name].numel(); ++i) {
      Feeds up = feeds, down = feeds;
      up[name] = feeds[name].clone();
      down[name] = feeds[name].clone();
      up[name].set(i, feeds[name].get(i) + h);
      down[name].set(i, feeds[name].get(i) - h);
      const double numeric = (plan.run(up, &store)[0].get(0) - plan.run(down, &store)[0].get(0)) / (2 * h);
      EXPECT_NEAR(analytic[static_cast<std::size_t>(k)].get(i), numeric, 1e-8) << name << "[" << i << "]";
    }
  }
}

// The work of one example: a conv of 4 filters 3x3 over 1 channel, 28x28 -> 26x26 (26*26*4
// outputs of 9 multiply-adds each), then dense 2704 -> 10; the loss's own ops are not counted.
TEST(Model, CountsTheMultiplyAddsOfOneExample) {
  Model m;
  m.input("x", {DType::f32, Shape{1, 28, 28}});
  m.body([](ModelScope& s, const NamedValues& in) {
    static const Conv2D conv("conv", 4, 3);
    static const Flatten flat("flat");
    static const Dense out("out", 10);
    return NamedValues{{"logits", out(s, flat(s, conv(s, in.at("x"))))}};
  });
  m.loss({"logits", "softmax_cross_entropy", {}, "y"});
  EXPECT_EQ(m.multiply_adds_per_example(), 26 * 26 * 4 * 9 + 26 * 26 * 4 * 10);
  Sequential moons;
  moons.dense(16, "relu").dense(16, "relu").dense(2);
  EXPECT_EQ(moons.to_model({DType::f32, Shape{2}}).multiply_adds_per_example(), 2 * 16 + 16 * 16 + 16 * 2);
}

TEST(Model, LayerNormNormalizesEachExample) {
  Model m;
  m.input("x", {DType::f64, Shape{4}});
  m.body([](ModelScope& s, const NamedValues& in) {
    static const LayerNorm ln("ln", 1e-12);
    return NamedValues{{"y", ln(s, in.at("x"))}};
  });
  m.loss({"y", "mse", {}, "x"});
  Graph g;
  const BuiltModel b = m.build(g, Mode::eval, DType::f64);
  VariableStore store;
  store.set("ln/gamma", Tensor::from(DType::f64, Shape{4}, {1, 1, 1, 1}));
  store.set("ln/beta", Tensor::from(DType::f64, Shape{4}, {0, 0, 0, 0}));
  Plan plan = compile(g, {b.outputs.at("y")});
  const Tensor& y = plan.run({{"x", Tensor::from(DType::f64, Shape{2, 4}, {1, 2, 3, 4, -10, 0, 10, 20})}}, &store)[0];
  for (int row = 0; row < 2; ++row) {
    double mu = 0, var = 0;
    for (int j = 0; j < 4; ++j) mu += y.get(row * 4 + j) / 4;
    for (int j = 0; j < 4; ++j) var += (y.get(row * 4 + j) - mu) * (y.get(row * 4 + j) - mu) / 4;
    EXPECT_NEAR(mu, 0, 1e-12);
    EXPECT_NEAR(var, 1, 1e-9);
  }
  // (1, 2, 3, 4): mean 2.5, biased variance 1.25 -> (1 - 2.5) / sqrt(1.25)
  EXPECT_NEAR(y.get(0), -1.5 / std::sqrt(1.25), 1e-12);
}

TEST(Model, ALayerCalledTwiceSharesItsParametersAndTiedWeightsAreReachedByName) {
  Model m;
  m.input("x", {DType::f64, Shape{6}});
  m.body([](ModelScope& s, const NamedValues& in) {
    static const Dense enc("enc", 3, "tanh"), twice("twice", 3);
    Value code = twice(s, twice(s, enc(s, in.at("x"))));  // one parameter set, used twice
    // the decoder: the encoder's W transposed (a tied autoencoder)
    Value w = s.parameter("enc/W");
    return NamedValues{{"reconstruction", matmul(code, w, false, true)}};
  });
  m.loss({"reconstruction", "mse", {}, "x"});
  Graph g;
  const BuiltModel b = m.build(g, Mode::train, DType::f64);
  std::vector<std::string> names;
  for (const auto& p : b.forward.params) names.push_back(p.value.producer().name);
  EXPECT_EQ(names, (std::vector<std::string>{"enc/W", "enc/b", "twice/W", "twice/b"}));
  EXPECT_EQ(b.targets.at("x").node, b.inputs.at("x").node);  // the target is the input itself
  EXPECT_EQ(b.tasks, std::vector<Task>{Task::regression});
}

TEST(Model, SeveralHeadsGiveTheWeightedSumOfTheirLosses) {
  Model m;
  m.input("x", {DType::f64, Shape{2}});
  m.body([](ModelScope& s, const NamedValues& in) {
    static const Dense trunk("trunk", 3, "relu"), fine("fine", 4), coarse("coarse", 2);
    Value h = trunk(s, in.at("x"));
    return NamedValues{{"fine", fine(s, h)}, {"coarse", coarse(s, h)}};
  });
  m.loss({"fine", "softmax_cross_entropy", {}, "fine_label", 1.0});
  m.loss({"coarse", "softmax_cross_entropy", {}, "coarse_label", 0.5});
  Graph g;
  Recorder rec;
  const BuiltModel b = m.build(g, Mode::eval, DType::f64, {&rec});
  EXPECT_NE(std::find(rec.seen.begin(), rec.seen.end(), "fine:out:last"), rec.seen.end());
  EXPECT_NE(std::find(rec.seen.begin(), rec.seen.end(), "coarse:out:last"), rec.seen.end());
  EXPECT_NE(std::find(rec.seen.begin(), rec.seen.end(), "trunk:out"), rec.seen.end());
  VariableStore store = store_for(b);
  Plan plan = compile(g, {b.loss, b.loss_terms[0], b.loss_terms[1]});
  const auto& out = plan.run({{"x", Tensor::from(DType::f64, Shape{2, 2}, {0.5, -1, 2, 1})},
                              {"fine_label", Tensor::from(DType::i32, Shape{2}, {3, 0})},
                              {"coarse_label", Tensor::from(DType::i32, Shape{2}, {1, 0})}},
                             &store);
  EXPECT_NEAR(out[0].get(0), out[1].get(0) + 0.5 * out[2].get(0), 1e-14);
}

TEST(Model, ErrorsNameWhatIsAtFault) {
  auto message = [](const std::function<void()>& f) {
    try {
      f();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  Graph g;
  // a merge of two shapes: both layers and both shapes
  Model bad_merge;
  bad_merge.input("x", {DType::f64, Shape{3}});
  bad_merge.body([](ModelScope& s, const NamedValues& in) {
    static const Dense a("a", 4), b("b", 5);
    static const Merge sum("sum", Merge::Kind::add);
    return NamedValues{{"y", sum(s, {a(s, in.at("x")), b(s, in.at("x"))})}};
  });
  bad_merge.loss({"y", "mse", {}, "t"});
  EXPECT_EQ(message([&] { bad_merge.build(g, Mode::eval, DType::f64); }),
            "add layer 'sum' needs inputs of one shape and type: 'a' gives f64[?, 4], 'b' gives f64[?, 5]");
  // two layer objects of one name
  Model twins;
  twins.input("x", {DType::f64, Shape{3}});
  twins.body([](ModelScope& s, const NamedValues& in) {
    static const Dense a("h", 4);
    static const Conv2D b("h", 4, 3);
    return NamedValues{{"y", b(s, a(s, in.at("x")))}};
  });
  twins.loss({"y", "mse", {}, "t"});
  EXPECT_NE(message([&] { Graph g2; twins.build(g2, Mode::eval, DType::f64); }).find("two layers are named 'h' (a dense and a conv2d)"),
            std::string::npos);
  // a loss on an output the model does not give; an output without a loss; an unread input
  Model m = residual();
  m.loss({"logitz"});
  EXPECT_EQ(message([&] { Graph g3; m.build(g3, Mode::eval, DType::f64); }),
            "a loss is on output 'logitz', which the model does not give; its outputs: logits");
  Model two;
  two.input("x", {DType::f64, Shape{3}});
  two.input("unused", {DType::f64, Shape{3}});
  two.body([](ModelScope& s, const NamedValues& in) {
    static const Dense a("a", 2);
    return NamedValues{{"y", a(s, in.at("x"))}, {"z", in.at("x")}};
  });
  two.loss({"y", "mse", {}, "t"});
  EXPECT_EQ(message([&] { Graph g4; two.build(g4, Mode::eval, DType::f64); }), "the model's input 'unused' is read by no output");
  Model no_loss = two;
  EXPECT_NE(message([&] {
              Model one;
              one.input("x", {DType::f64, Shape{3}});
              one.body([](ModelScope& s, const NamedValues& in) {
                static const Dense a("a", 2);
                return NamedValues{{"y", a(s, in.at("x"))}, {"z", in.at("x")}};
              });
              one.loss({"y", "mse", {}, "t"});
              Graph g5;
              one.build(g5, Mode::eval, DType::f64);
            }).find("the model's output 'z' has no loss"),
            std::string::npos);
  // a dense layer on images says to flatten first
  EXPECT_NE(message([&] {
              Model img;
              img.input("x", {DType::f64, Shape{1, 4, 4}});
              img.body([](ModelScope& s, const NamedValues& in) {
                static const Dense a("a", 2);
                return NamedValues{{"y", a(s, in.at("x"))}};
              });
              img.loss({"y"});
              Graph g6;
              img.build(g6, Mode::eval, DType::f64);
            }).find("dense layer 'a' needs [N, features] inputs, got f64[?, 1, 4, 4] (add a flatten layer before it)"),
            std::string::npos);
}

TEST(Model, AnyRegisteredUnaryOpIsAnActivation) {
  Graph g;
  Value x = g.input("x", {DType::f64, Shape{2}});
  Value y = activate(x, "exp");  // not in the built-in list: the op of that name
  EXPECT_EQ(g.node(y.node).op->name, "exp");
  EXPECT_THROW(activate(x, "sum"), Error);  // a reduction changes the type: not an activation
  try {
    activate(x, "relux");
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown activation 'relux' (did you mean 'relu'?)"), std::string::npos) << e.what();
  }
}

TEST(Model, SequentialIsOneWayToMakeAModel) {
  Sequential s;
  s.dense(4, "relu").dropout(0.5).dense(2);
  const Model m = s.to_model({DType::f64, Shape{3}});
  Graph g;
  Recorder rec;
  const BuiltModel b = m.build(g, Mode::train, DType::f64, {&rec});
  EXPECT_EQ(rec.seen, (std::vector<std::string>{"x:out", "dense1:pre", "dense1:out", "dropout1:out", "dense2:out:last"}));
  EXPECT_EQ(b.forward.randoms.size(), 1u);  // dropout's mask, in training
  Graph e;
  EXPECT_TRUE(m.build(e, Mode::eval, DType::f64).forward.randoms.empty());
  EXPECT_NE(m.summary().find("dropout1"), std::string::npos);
}

}  // namespace
}  // namespace symgrad
