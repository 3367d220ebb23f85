// curriculum: easy examples first, then harder ones (Bengio, Louradour, Collobert and Weston,
// "Curriculum Learning", ICML 2009; Goodfellow, Bengio and Courville, "Deep Learning", section
// 8.7.6), and a continuation method that anneals input noise (a smoothed objective first).
// Every training example gets a difficulty score; epoch e trains on the easiest fraction
//   f(e) = min(1, start_fraction + (1 - start_fraction) (e - 1) / widen_epochs)
// of the examples (all of them from epoch widen_epochs + 1 on; widen_epochs = 0: no curriculum),
// in the epoch's shuffled order. Scores: "distance", the distance from an example to the mean of its
// class (typical examples are easy); "loss", the current model's loss on it (self-paced learning,
// Kumar, Packer and Koller, NIPS 2010).
// Continuation: Gaussian noise of standard deviation
//   sigma(e) = noise max(0, 1 - (e - 1) / anneal_epochs)
// on the inputs in training, one level an epoch (a state variable: no recompilation).
#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <numeric>

#include <symgrad/plugin/plugin.hpp>

namespace {

using namespace symgrad;

constexpr const char* kNoise = "curriculum/noise_std";

class Curriculum final : public Strategy {
 public:
  explicit Curriculum(const Hyperparams& h)
      : loss_score_(h.string("score") == "loss"), start_(h.real("start_fraction")), widen_(h.integer("widen_epochs")),
        noise_(h.real("noise")), anneal_(h.integer("anneal_epochs")) {}

  // continuation: x + sigma(e) z in training, z ~ N(0, 1) drawn every step
  Value on_layer_output(ModelContext& ctx, const LayerOutput& out) override {
    if (out.kind != "input" || noise_ == 0 || !ctx.training()) return out.value;
    Value sigma = ctx.state(kNoise, Shape{}, ParamInfo::Start::zeros);
    return out.value + sigma * ctx.random("curriculum/noise", out.value.type(), RandomInput::Kind::normal, 1.0);
  }

  // reports the epoch's fraction of the examples and its noise level (metrics-epochs.csv)
  void on_epoch_begin(TrainEvent& e) override {
    e.report("fraction", fraction(e.epoch));
    if (noise_ == 0 || !e.store->has(kNoise)) return;
    const double left = anneal_ == 0 ? 0.0 : std::max(0.0, 1.0 - static_cast<double>(e.epoch - 1) / static_cast<double>(anneal_));
    e.store->get(kNoise).set(0, noise_ * left);
    e.report("noise_std", noise_ * left);
  }

  void order_epoch(EpochData& d) override {
    if (widen_ == 0 || d.epoch > widen_) return;  // everything, in the shuffled order
    const double f = fraction(d.epoch);
    const std::vector<double> score = loss_score_ ? d.example_losses() : distances(d);
    std::vector<std::int64_t> by_score(score.size());
    std::iota(by_score.begin(), by_score.end(), 0);
    std::stable_sort(by_score.begin(), by_score.end(), [&](auto a, auto b) { return score[a] < score[b]; });
    const auto keep = static_cast<std::size_t>(std::ceil(f * static_cast<double>(score.size())));
    std::vector<char> easy(score.size(), 0);
    for (std::size_t i = 0; i < keep; ++i) easy[static_cast<std::size_t>(by_score[i])] = 1;
    std::erase_if(d.order, [&](std::int64_t i) { return !easy[static_cast<std::size_t>(i)]; });
  }

 private:
  double fraction(std::int64_t epoch) const {
    if (widen_ == 0 || epoch > widen_) return 1.0;
    return std::min(1.0, start_ + (1 - start_) * static_cast<double>(epoch - 1) / static_cast<double>(widen_));
  }

  // The distance of each example to the mean of its class (computed once: the data do not change).
  const std::vector<double>& distances(const EpochData& d) {
    if (!distance_.empty()) return distance_;
    const Tensor& x = *d.features;
    const std::int64_t n = x.shape()[0], k = n == 0 ? 0 : x.numel() / n;
    std::map<std::int64_t, std::vector<double>> mean;
    std::map<std::int64_t, double> count;
    for (std::int64_t i = 0; i < n; ++i) {
      auto& m = mean[static_cast<std::int64_t>(d.labels->get(i))];
      m.resize(static_cast<std::size_t>(k), 0.0);
      for (std::int64_t j = 0; j < k; ++j) m[static_cast<std::size_t>(j)] += x.get(i * k + j);
      count[static_cast<std::int64_t>(d.labels->get(i))] += 1;
    }
    for (auto& [c, m] : mean) {
      for (double& v : m) v /= count[c];
    }
    distance_.resize(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
      const auto& m = mean[static_cast<std::int64_t>(d.labels->get(i))];
      double s = 0;
      for (std::int64_t j = 0; j < k; ++j) s += std::pow(x.get(i * k + j) - m[static_cast<std::size_t>(j)], 2);
      distance_[static_cast<std::size_t>(i)] = std::sqrt(s);
    }
    return distance_;
  }

  bool loss_score_;
  double start_;
  std::int64_t widen_;
  double noise_;
  std::int64_t anneal_;
  std::vector<double> distance_;
};

void register_components(PluginRegistrar& r) {
  r.add_strategy(
      "curriculum", "easy examples first, widening over epochs; input noise annealed to 0 (continuation)",
      Schema{choice_param("score", "distance", {"distance", "loss"},
                          "difficulty: distance to the class mean, or the current model's loss (self-paced)"),
             real_param("start_fraction", 0.3, "fraction of the examples (the easiest) in the first epoch").greater_than(0).at_most(1),
             int_param("widen_epochs", 5, "epochs over which the fraction grows to 1 (0: no curriculum)").at_least(0),
             real_param("noise", 0.0, "continuation: standard deviation of the input noise in the first epoch").at_least(0),
             int_param("anneal_epochs", 5, "continuation: epochs over which the noise falls to 0").at_least(0)},
      [](const Hyperparams& h) { return std::make_unique<Curriculum>(h); });
}

}  // namespace

SYMGRAD_PLUGIN("curriculum", "1.0.0", register_components)
