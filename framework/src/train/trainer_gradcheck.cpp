// The Trainer's gradient check of the whole model: the training objective's gradient with respect
// to each parameter against central differences, on one batch (the course's exercise, at the
// scale of a model: symgrad gradcheck EXPERIMENT.toml).
#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include <fmt/format.h>

#include "symgrad/core/error.hpp"
#include "symgrad/core/hash.hpp"
#include "symgrad/core/random.hpp"
#include "symgrad/plugin/objective.hpp"
#include "trainer_impl.hpp"

namespace symgrad {

using trainer_detail::check_targets;

namespace {

// The elements of a parameter of `n` to check: all, or `k` of them drawn without repetition.
std::vector<std::size_t> chosen(std::size_t n, std::int64_t k, std::uint64_t seed) {
  std::vector<std::size_t> index(n);
  std::iota(index.begin(), index.end(), 0);
  if (k <= 0 || static_cast<std::size_t>(k) >= n) return index;
  std::mt19937_64 rng(seed);
  std::shuffle(index.begin(), index.end(), rng);
  index.resize(static_cast<std::size_t>(k));
  std::sort(index.begin(), index.end());
  return index;
}

}  // namespace

std::vector<ParameterCheck> Trainer::check_gradients(const Dataset& batch, const GradcheckOptions& options,
                                                     std::int64_t per_parameter) {
  ensure_built();
  Impl& m = *impl_;
  check_targets(m, batch, "the gradient check");
  // the next step's dropout masks and noise, the same for every evaluation
  const std::unique_ptr<GraphObjective> objective =
      batch_objective(batch, derive_seed(options_.seed, fmt::format("dropout/{}", m.steps)));
  GraphObjective& f = *objective;
  const std::vector<double> x0 = f.current();
  std::vector<double> analytic;
  const double at = f.value_and_grad(x0, analytic);
  if (!std::isfinite(at)) throw Error(fmt::format("the objective is {} on this batch: nothing to check", at));
  std::vector<ParameterCheck> out;
  std::size_t offset = 0;
  std::vector<double> x = x0;
  for (std::size_t p = 0; p < m.param_values.size(); ++p) {
    const auto n = static_cast<std::size_t>(m.param_values[p].shape().numel());
    ParameterCheck c;
    c.report.name = m.param_names[p];
    double worst = -INFINITY;
    for (const std::size_t k : chosen(n, per_parameter, options.seed ^ Fnv1a().add(c.report.name).value())) {
      const std::size_t i = offset + k;
      x[i] = x0[i] + options.eps;
      const double up = f.value(x);
      x[i] = x0[i] - options.eps;
      const double down = f.value(x);
      x[i] = x0[i];
      const double numeric = (up - down) / (2 * options.eps);
      if (gradcheck_excess(analytic[i], numeric, options) > 0 &&
          slopes_disagree((up - at) / options.eps, (at - down) / options.eps)) {
        ++c.kinks;  // one-sided slopes differ: no derivative to compare with
        continue;
      }
      ++c.checked;
      record_element(c.report, static_cast<std::int64_t>(k), analytic[i], numeric, options, worst);
    }
    offset += n;
    out.push_back(c);
  }
  f.assign(x0);
  return out;
}

}  // namespace symgrad
