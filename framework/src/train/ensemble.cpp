#include "symgrad/train/ensemble.hpp"

#include <cmath>
#include <filesystem>

#include <fmt/format.h>

#include "symgrad/core/error.hpp"
#include "symgrad/core/random.hpp"
#include "symgrad/io/variables_file.hpp"

namespace symgrad {

EnsembleResult train_bagging(const Experiment& x, const ExperimentData& data, std::int64_t k,
                             const std::string& output_dir) {
  if (k < 1) throw UsageError(fmt::format("bagging needs at least 1 member, got {}", k));
  const std::int64_t n = data.train.size(), m = data.test.size();
  if (n == 0 || m == 0) throw UsageError("bagging needs training and test data");
  EnsembleResult r;
  std::vector<double> mean_p;  // [m, c], summed over the members
  std::vector<std::vector<std::int64_t>> votes;
  std::int64_t c = 0;
  for (std::int64_t i = 0; i < k; ++i) {
    Random rng(derive_seed(x.seed, fmt::format("bagging/{}", i)));  // the member's bootstrap sample
    std::vector<std::int64_t> sample(static_cast<std::size_t>(n));
    for (auto& s : sample) s = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(n)));
    TrainerOptions o = x.trainer_options();
    o.seed = derive_seed(x.seed, fmt::format("bagging/{}/seed", i));  // its own initialization and order
    o.output_dir = output_dir.empty() ? "" : (std::filesystem::path(output_dir) / fmt::format("member{}", i)).string();
    Trainer t(x.model(data.train), o);
    const ExperimentComponents components = make_components(x);
    components.attach(t);
    t.fit(data.train.gather(sample), data.validation.size() > 0 ? &data.validation : nullptr);
    if (!o.output_dir.empty()) save_variables(t.evaluation_store(), (std::filesystem::path(o.output_dir) / "variables.bin").string());
    r.members.push_back(t.evaluate(data.test));
    const Tensor logits = t.predict(data.test);
    c = logits.shape()[1];
    if (mean_p.empty()) mean_p.assign(static_cast<std::size_t>(m * c), 0.0), votes.assign(static_cast<std::size_t>(m), std::vector<std::int64_t>(static_cast<std::size_t>(c), 0));
    for (std::int64_t e = 0; e < m; ++e) {
      double top = logits.get(e * c), s = 0;
      std::int64_t best = 0;
      for (std::int64_t j = 1; j < c; ++j) {
        if (logits.get(e * c + j) > top) top = logits.get(e * c + j), best = j;
      }
      for (std::int64_t j = 0; j < c; ++j) s += std::exp(logits.get(e * c + j) - top);
      for (std::int64_t j = 0; j < c; ++j) mean_p[static_cast<std::size_t>(e * c + j)] += std::exp(logits.get(e * c + j) - top) / s;
      ++votes[static_cast<std::size_t>(e)][static_cast<std::size_t>(best)];
    }
  }
  std::int64_t averaged = 0, voted = 0;
  for (std::int64_t e = 0; e < m; ++e) {
    std::int64_t a = 0, v = 0;
    for (std::int64_t j = 1; j < c; ++j) {
      if (mean_p[static_cast<std::size_t>(e * c + j)] > mean_p[static_cast<std::size_t>(e * c + a)]) a = j;
      if (votes[static_cast<std::size_t>(e)][static_cast<std::size_t>(j)] > votes[static_cast<std::size_t>(e)][static_cast<std::size_t>(v)]) v = j;
    }
    const auto label = static_cast<std::int64_t>(data.test.labels.get(e));
    averaged += a == label;
    voted += v == label;
  }
  for (const auto& e : r.members) r.mean_member_accuracy += e.accuracy / static_cast<double>(k);
  r.averaged_accuracy = static_cast<double>(averaged) / static_cast<double>(m);
  r.vote_accuracy = static_cast<double>(voted) / static_cast<double>(m);
  return r;
}

}  // namespace symgrad
