// curvature: the training objective's curvature measured while training goes on (Goodfellow,
// Bengio and Courville, "Deep Learning", sections 8.2.1-8.2.3; Cohen et al., "Gradient Descent on
// Neural Networks Typically Occurs at the Edge of Stability", ICLR 2021). At step 1 and every
// `every` steps after, on a fixed batch of `examples` training examples (the same batch each time):
//   lambda_max, lambda_min  the extreme eigenvalues of the Hessian H of the objective, from
//                           `iterations` Lanczos steps on Hessian-vector products (no H is formed)
//   grad_norm               ||g||, the objective's gradient on the batch
//   gHg                     g^T H g / ||g||^2, the curvature along the gradient
//   stability               lr * lambda_max / 2: gradient descent on the quadratic model diverges
//                           along the top eigenvector above 1 (lr > 2 / lambda_max)
//   loss                    the objective on the batch
//   seconds, products       the measurement's wall time and its Hessian-vector products
#include <chrono>
#include <cmath>
#include <memory>

#include <symgrad/plugin/plugin.hpp>
#include <symgrad/plugin/probe.hpp>
#include <symgrad/plugin/spectrum.hpp>
#include <symgrad/plugin/vectors.hpp>

namespace {

using namespace symgrad;

class Curvature final : public Strategy, public ObjectiveProbe {
 public:
  explicit Curvature(const Hyperparams& h)
      : every_(h.integer("every")), examples_(h.integer("examples")),
        iterations_(static_cast<std::size_t>(h.integer("iterations"))), seed_(static_cast<std::uint64_t>(h.integer("seed"))) {}

  std::int64_t probe_examples() const override { return examples_; }
  void attach(const ProbeContext& ctx) override { ctx_ = &ctx; }

  void on_step_end(TrainEvent& e) override {
    if (ctx_ == nullptr || (e.step != 1 && e.step % every_ != 0)) return;
    const auto start = std::chrono::steady_clock::now();
    Objective& f = *ctx_->objective;
    const std::vector<double> x = ctx_->parameters();
    std::vector<double> g, hv;
    const double loss = f.value_and_grad(x, g);
    const auto hvp = [&](const std::vector<double>& v, std::vector<double>& out) { f.hessian_vector_product(x, v, out); };
    const ExtremeEigenvalues ev = extreme_eigenvalues(hvp, x.size(), iterations_, seed_ + static_cast<std::uint64_t>(e.step));
    const double gg = dot(g, g);
    double ghg = 0;
    if (gg > 0) {
      hvp(g, hv);
      ghg = dot(g, hv) / gg;
    }
    e.report("lambda_max", ev.largest);
    e.report("lambda_min", ev.smallest);
    e.report("grad_norm", std::sqrt(gg));
    e.report("gHg", ghg);
    if (const auto lr = e.metrics.find("lr"); lr != e.metrics.end()) e.report("stability", lr->second * ev.largest / 2);
    e.report("loss", loss);
    e.report("products", static_cast<double>(ev.products + (gg > 0 ? 1 : 0)));
    e.report("seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }

 private:
  std::int64_t every_, examples_;
  std::size_t iterations_;
  std::uint64_t seed_;
  const ProbeContext* ctx_ = nullptr;
};

void register_components(PluginRegistrar& r) {
  r.add_strategy(
      "curvature", "measure the Hessian's extreme eigenvalues (Lanczos), the gradient norm and g'Hg/g'g every K steps",
      Schema{int_param("every", 100, "steps between measurements (and one at step 1)").at_least(1),
             int_param("examples", 256, "examples in the fixed batch the objective is measured on (0: all)").at_least(0),
             int_param("iterations", 20, "Lanczos steps (Hessian-vector products) per measurement").at_least(2),
             int_param("seed", 0, "seed of Lanczos's start vectors").at_least(0)},
      [](const Hyperparams& h) { return std::make_unique<Curvature>(h); });
}

}  // namespace

SYMGRAD_PLUGIN("curvature", "1.0.0", register_components)
