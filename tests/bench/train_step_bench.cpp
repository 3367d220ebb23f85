// Google Benchmark programs of the training steps and the runtime's limits. scripts/bench runs
// them with the PyTorch peer and prints the ratios.
//
//   MlpStep/handwritten   one SGD step of MLP 784-1024-1024-10, batch 128, on oneDNN by hand
//   MlpStep/symgrad       the same step as one compiled symgrad plan (onednn backend)
//   MlpStep/symgrad_bf16  the same plan with bf16 mixed precision (CompileOptions::precision)
//   CnnStep/handwritten   one SGD step of the benchmark's CNN, batch 128, on oneDNN by hand
//   CnnStep/symgrad       the same step as one compiled symgrad plan (onednn backend)
//   CnnStep/symgrad_bf16  the same plan with bf16 mixed precision
//   TinyNodes             200 elementwise nodes on 16 floats: time per node, fused and not
//   Copy, CopyThreaded, AdamLikeChain   memory bandwidth of a copy (memcpy; a loop on every
//                         thread) vs an optimizer-like elementwise chain
//   TranscendentalChain   tanh, sigmoid and exp in one chain, compiled and interpreted
//   BiasGradReduction     a conv bias gradient [128, 32, 26, 26] -> [1, 32, 1, 1]: oneDNN 2.6's
//                         reduction primitive vs the onednn backend's own reduction kernel

#include <chrono>
#include <cmath>
#include <cstring>

#include <benchmark/benchmark.h>

#include <oneapi/dnnl/dnnl.hpp>

#include "handwritten_cnn.hpp"
#include "handwritten_mlp.hpp"
#include "symgrad/plugin/registry.hpp"
#include "symgrad/plugin/objective.hpp"
#include "models.hpp"

namespace symgrad::bench {
namespace {

const std::vector<std::int64_t> kMlp = {784, 1024, 1024, 10};
constexpr std::int64_t kBatch = 128;

void MlpStepHandwritten(benchmark::State& state) {
  HandwrittenMlp mlp(kMlp, kBatch, 0.01f);
  std::vector<float> x(static_cast<std::size_t>(kBatch * kMlp[0]));
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = std::cos(0.11f * static_cast<float>(i));
  std::vector<std::int32_t> y(kBatch);
  for (std::int64_t i = 0; i < kBatch; ++i) y[static_cast<std::size_t>(i)] = static_cast<std::int32_t>((i * 7) % 10);
  for (auto _ : state) benchmark::DoNotOptimize(mlp.step(x.data(), y.data()));
}
BENCHMARK(MlpStepHandwritten)->Name("MlpStep/handwritten")->Unit(benchmark::kMillisecond)->UseRealTime();

void MlpStepSymgrad(benchmark::State& state) {
  TrainStep step = mlp_step(kMlp, kBatch, "onednn");
  for (auto _ : state) benchmark::DoNotOptimize(step.run());
}
BENCHMARK(MlpStepSymgrad)->Name("MlpStep/symgrad")->Unit(benchmark::kMillisecond)->UseRealTime();

void MlpStepSymgradBf16(benchmark::State& state) {
  TrainStep step = mlp_step(kMlp, kBatch, "onednn", Precision::bf16);
  for (auto _ : state) benchmark::DoNotOptimize(step.run());
}
BENCHMARK(MlpStepSymgradBf16)->Name("MlpStep/symgrad_bf16")->Unit(benchmark::kMillisecond)->UseRealTime();

// The hand-written step and symgrad's compute the same model: their first losses must agree, or
// the comparison is void (the benchmark then fails).
bool same_cnn_losses(HandwrittenCnn& hand, TrainStep& step, const std::vector<float>& x,
                     const std::vector<std::int32_t>& y, benchmark::State& state) {
  for (int i = 0; i < 3; ++i) {
    const double a = hand.step(x.data(), y.data()), b = step.run();
    if (!(std::abs(a - b) <= 1e-4 * std::max(1.0, std::abs(b)))) {  // NaN fails too
      state.SkipWithError(("step " + std::to_string(i) + ": hand-written loss " + std::to_string(a) +
                           ", symgrad's " + std::to_string(b)).c_str());
      return false;
    }
  }
  return true;
}

template <class T>
std::vector<T> elements(const Tensor& t) {
  return std::vector<T>(t.data<T>(), t.data<T>() + t.numel());
}

void CnnStepHandwritten(benchmark::State& state) {
  HandwrittenCnn hand(kBatch, 0.01f);
  TrainStep step = cnn_step(kBatch, "onednn");  // its data, and its losses as the check
  const auto x = elements<float>(step.feeds.at("x"));
  const auto y = elements<std::int32_t>(step.feeds.at("y"));
  {
    HandwrittenCnn check(kBatch, 0.01f);
    if (!same_cnn_losses(check, step, x, y, state)) return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(hand.step(x.data(), y.data()));
}
BENCHMARK(CnnStepHandwritten)->Name("CnnStep/handwritten")->Unit(benchmark::kMillisecond)->UseRealTime();

void CnnStepSymgrad(benchmark::State& state) {
  TrainStep step = cnn_step(kBatch, "onednn");
  for (auto _ : state) benchmark::DoNotOptimize(step.run());
}
BENCHMARK(CnnStepSymgrad)->Name("CnnStep/symgrad")->Unit(benchmark::kMillisecond)->UseRealTime();

void CnnStepSymgradBf16(benchmark::State& state) {
  TrainStep step = cnn_step(kBatch, "onednn", Precision::bf16);
  for (auto _ : state) benchmark::DoNotOptimize(step.run());
}
BENCHMARK(CnnStepSymgradBf16)->Name("CnnStep/symgrad_bf16")->Unit(benchmark::kMillisecond)->UseRealTime();

// state.range(0): 1 fused (the default: one chain kernel), 0 every node its own oneDNN call
void TinyNodes(benchmark::State& state) {
  Graph g;
  Value x = g.input("x", {DType::f32, Shape{16}});
  Value h = x;
  for (int i = 0; i < 100; ++i) h = tanh(h) * 0.5f;  // 200 nodes: tanh and mul
  CompileOptions o;
  o.backend = "onednn";
  o.fusion = state.range(0) ? CompileOptions::Fusion::on : CompileOptions::Fusion::off;
  Plan p = compile(g, {h}, o);
  Feeds feeds = {{"x", Tensor(DType::f32, Shape{16})}};
  for (auto _ : state) benchmark::DoNotOptimize(p.run(feeds)[0].raw());
  state.counters["ns_per_node"] = benchmark::Counter(
      200.0 * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(TinyNodes)->ArgName("fused")->Arg(1)->Arg(0)->UseRealTime();

constexpr std::int64_t kBig = 10'000'000;

void Copy(benchmark::State& state) {
  std::vector<float> a(kBig, 1.f), b(kBig);
  for (auto _ : state) {
    std::memcpy(b.data(), a.data(), kBig * sizeof(float));
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * kBig * 8);
}
BENCHMARK(Copy)->Unit(benchmark::kMillisecond)->UseRealTime();

// The same copy split between the threads the chain kernel runs on (the stricter peer).
void CopyThreaded(benchmark::State& state) {
  std::vector<float> a(kBig, 1.f), b(kBig);
  for (auto _ : state) {
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < kBig; ++i) b[static_cast<std::size_t>(i)] = a[static_cast<std::size_t>(i)];
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * kBig * 8);
}
BENCHMARK(CopyThreaded)->Unit(benchmark::kMillisecond)->UseRealTime();

// m <- 0.9 m + 0.1 g; v <- 0.999 v + 0.001 g^2; p <- p - 0.001 m / (sqrt(v) + 1e-8):
// reads p, g, m, v and writes p, m, v (7 x 4 bytes per element).
void AdamLikeChain(benchmark::State& state) {
  Graph g;
  const TensorType t{DType::f32, Shape{kBig}};
  Value p = g.variable("p", t), m = g.variable("m", t), v = g.variable("v", t);
  Value grad = g.input("g", t);
  Value m2 = m * 0.9f + grad * 0.1f;
  Value v2 = v * 0.999f + square(grad) * 0.001f;
  Value p2 = p - (m2 * 0.001f) / (sqrt(v2) + 1e-8f);
  CompileOptions o;
  o.backend = "onednn";
  o.updates = {{"p", p2}, {"m", m2}, {"v", v2}};
  Plan plan = compile(g, {}, o);
  VariableStore store;
  for (const char* n : {"p", "m", "v"}) store.set(n, Tensor(t));
  Feeds feeds = {{"g", Tensor(t)}};
  for (auto _ : state) plan.run(feeds, &store);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * kBig * 28);
}
BENCHMARK(AdamLikeChain)->Unit(benchmark::kMillisecond)->UseRealTime();

// A chain of transcendental ops over 10M floats, tanh(x) * sigmoid(2x) + exp(-x^2) (reads x,
// writes y: 8 bytes per element), compiled (the chain compiler's exp, sigmoid and tanh) and
// interpreted (std::exp and std::tanh per element).
void TranscendentalChain(benchmark::State& state) {
  Graph g;
  const TensorType t{DType::f32, Shape{kBig}};
  Value x = g.input("x", t);
  Value y = tanh(x) * sigmoid(x * 2.0f) + exp(-square(x));
  CompileOptions o;
  o.backend = "onednn";
  o.compile_chains = state.range(0) != 0;
  Plan plan = compile(g, {y}, o);
  Tensor in(t);
  for (std::int64_t i = 0; i < kBig; ++i) in.set(i, std::sin(0.001 * static_cast<double>(i)) * 4.0);
  Feeds feeds = {{"x", in}};
  for (auto _ : state) benchmark::DoNotOptimize(plan.run(feeds)[0].raw());
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * kBig * 8);
}
BENCHMARK(TranscendentalChain)->ArgName("compiled")->Arg(1)->Arg(0)->Unit(benchmark::kMillisecond)->UseRealTime();

// The adam plugin's update (torch.optim.Adam's rule), through the loader, over 10M parameters:
// reads p, g, m, v and writes p, m, v (28 bytes per element), as AdamLikeChain.
void AdamPluginStep(benchmark::State& state) {
  Graph g;
  const TensorType t{DType::f32, Shape{kBig}};
  Value p = g.variable("p", t);
  Value grad = g.input("g", t);
  VariableStore store;
  store.set("p", Tensor(t));
  CompileOptions o;
  o.backend = "onednn";
  o.updates = build_optimizer_step("adam", {{"lr", 1e-3}}, {}, g, {p}, {grad}, store).updates;
  Plan plan = compile(g, {}, o);
  Feeds feeds = {{"g", Tensor(t)}};
  for (auto _ : state) plan.run(feeds, &store);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * kBig * 28);
}
BENCHMARK(AdamPluginStep)->Unit(benchmark::kMillisecond)->UseRealTime();

// An Objective that times the calls it passes on (the compiled plans' runs and the copies of x
// and the gradient into and out of them).
class TimedObjective final : public Objective {
 public:
  explicit TimedObjective(Objective& f) : f_(f) {}
  std::size_t size() const override { return f_.size(); }
  double value(const std::vector<double>& x) override { return timed([&] { return f_.value(x); }); }
  double value_and_grad(const std::vector<double>& x, std::vector<double>& g) override {
    return timed([&] { return f_.value_and_grad(x, g); });
  }
  void hessian_vector_product(const std::vector<double>& x, const std::vector<double>& v, std::vector<double>& hv) override {
    timed([&] { return (f_.hessian_vector_product(x, v, hv), 0.0); });
  }
  void hessian(const std::vector<double>& x, std::vector<double>& h) override {
    timed([&] { return (f_.hessian(x, h), 0.0); });
  }
  double seconds = 0;
  int calls = 0;

 private:
  template <class F>
  double timed(F f) {
    const auto t0 = std::chrono::steady_clock::now();
    const double v = f();
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ++calls;
    return v;
  }
  Objective& f_;
};

// L-BFGS (history 10) on the MLP's loss over a fixed set of 128 examples (the oneDNN issue's
// batch), once its history is full (12 iterations first): the time of an iteration outside the
// objective's calls (two-loop recursion, line search bookkeeping, vectors) against the time of the
// objective's calls in the same iterations. The time outside depends on the parameter count only:
// report.py sets it against the full-batch value_and_grad as well (MlpValueAndGrad/examples:60000).
void LbfgsMlp(benchmark::State& state) {
  MlpLoss m = mlp_loss(kMlp, state.range(0));
  GraphObjective objective(*m.parts.graph, m.loss, m.params, m.parts.store, m.parts.feeds, "onednn");
  TimedObjective timed(objective);
  auto lbfgs = PluginRegistry::global().make_host_optimizer(
      "lbfgs", {{"history_size", std::int64_t{10}}, {"tolerance_change", 0.0}, {"tolerance_grad", 0.0}});
  std::vector<double> x = objective.current();
  for (int i = 0; i < 12; ++i) lbfgs->iterate(timed, x);  // plans prepared, history full
  double total = 0;
  timed.seconds = 0;
  timed.calls = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    lbfgs->iterate(timed, x);
    total += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  state.counters["objective_ms_per_call"] = 1e3 * timed.seconds / std::max(1, timed.calls);
  state.counters["calls_per_iteration"] = static_cast<double>(timed.calls) / static_cast<double>(state.iterations());
  state.counters["host_overhead"] = (total - timed.seconds) / timed.seconds;
  state.counters["host_ms_per_iteration"] = 1e3 * (total - timed.seconds) / static_cast<double>(state.iterations());
}
BENCHMARK(LbfgsMlp)->ArgName("examples")->Arg(kBatch)->Unit(benchmark::kMillisecond)->UseRealTime();

// The same objective's value_and_grad alone, and its compiled plan's run alone: the difference is
// the copying of x and the gradient between the optimizer's vectors and the plan's tensors. Over
// 128 examples, and over 60000 (the size of Fashion-MNIST's training set: the full batch L-BFGS
// is meant for; about 2 s a call, so a fixed count of iterations and one repetition).
void MlpValueAndGrad(benchmark::State& state) {
  MlpLoss m = mlp_loss(kMlp, state.range(0));
  GraphObjective objective(*m.parts.graph, m.loss, m.params, m.parts.store, m.parts.feeds, "onednn");
  std::vector<double> x = objective.current(), g;
  for (auto _ : state) benchmark::DoNotOptimize(objective.value_and_grad(x, g));
}
BENCHMARK(MlpValueAndGrad)->ArgName("examples")->Arg(kBatch)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(MlpValueAndGrad)->ArgName("examples")->Arg(60000)->Iterations(3)->Repetitions(1)->Unit(benchmark::kMillisecond)->UseRealTime();

// The compiled plan of the loss and its gradients alone, on the parameters in the store.
void MlpGradPlan(benchmark::State& state) {
  MlpLoss m = mlp_loss(kMlp, kBatch);
  std::vector<Value> outs = {m.loss};
  for (const auto& g : gradients(m.loss, m.params)) outs.push_back(g);
  CompileOptions o;
  o.backend = "onednn";
  Plan plan = compile(*m.parts.graph, outs, o);
  for (auto _ : state) benchmark::DoNotOptimize(plan.run(m.parts.feeds, &m.parts.store)[0].raw());
}
BENCHMARK(MlpGradPlan)->Unit(benchmark::kMillisecond)->UseRealTime();

const Shape kConvOut{128, 32, 26, 26};

void BiasGradReductionOnednnPrimitive(benchmark::State& state) {
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  dnnl::stream strm(eng);
  using tag = dnnl::memory::format_tag;
  const dnnl::memory::desc src({128, 32, 26, 26}, dnnl::memory::data_type::f32, tag::nchw);
  const dnnl::memory::desc dst({1, 32, 1, 1}, dnnl::memory::data_type::f32, tag::nchw);
  dnnl::reduction::primitive_desc pd(dnnl::reduction::desc(dnnl::algorithm::reduction_sum, src, dst, 0.f, 0.f), eng);
  dnnl::memory x(src, eng), y(dst, eng);
  dnnl::reduction prim(pd);
  for (auto _ : state) {
    prim.execute(strm, {{DNNL_ARG_SRC, x}, {DNNL_ARG_DST, y}});
    strm.wait();
  }
}
BENCHMARK(BiasGradReductionOnednnPrimitive)->Name("BiasGradReduction/onednn_primitive")->Unit(benchmark::kMillisecond)->UseRealTime();

void BiasGradReductionSymgrad(benchmark::State& state) {
  Graph g;
  Value x = g.input("x", {DType::f32, kConvOut});
  CompileOptions o;
  o.backend = "onednn";
  Plan p = compile(g, {sum(x, {0, 2, 3}, true)}, o);
  Feeds feeds = {{"x", Tensor(DType::f32, kConvOut)}};
  for (auto _ : state) benchmark::DoNotOptimize(p.run(feeds)[0].raw());
}
BENCHMARK(BiasGradReductionSymgrad)->Name("BiasGradReduction/symgrad")->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace symgrad::bench

// The instruction sets the onednn backend ran (the report prints them with the CPU): oneDNN's and
// the chain compiler's, as the CPU and ONEDNN_MAX_CPU_ISA allow.
int main(int argc, char** argv) {
  const symgrad::InstructionSets isa = symgrad::instruction_sets();
  benchmark::AddCustomContext("onednn_isa", isa.onednn);
  benchmark::AddCustomContext("chain_isa", isa.chains);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
