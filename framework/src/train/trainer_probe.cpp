// The training objective on one batch as a function of the parameters (Trainer::batch_objective):
// for the gradient check of the whole model, and for probes, the extensions that measure the
// landscape while training goes on (plugin/probe.hpp: the curvature strategy).
#include <algorithm>
#include <numeric>

#include <fmt/format.h>

#include "symgrad/core/hash.hpp"
#include "symgrad/core/random.hpp"
#include "trainer_impl.hpp"

namespace symgrad {

std::unique_ptr<GraphObjective> Trainer::batch_objective(const Dataset& batch, std::uint64_t seed) {
  ensure_built();
  Impl& m = *impl_;
  Feeds feeds = trainer_detail::data_feeds(m, batch, options_.dtype);
  trainer_detail::draw_random_inputs(m.train_forward.randoms, batch.size(), seed, feeds);
  return std::make_unique<GraphObjective>(m.train_graph, m.objective, m.param_values, store_, std::move(feeds),
                                          options_.backend);
}

std::vector<Trainer::Parameter> Trainer::parameters() {
  ensure_built();
  std::vector<Parameter> out;
  for (const auto& p : impl_->train_forward.params) {
    if (p.trainable) out.push_back({p.value.producer().name, p.value.shape(), p.start == ParamInfo::Start::initializer});
  }
  return out;
}

void Trainer::attach_probes(const Dataset& train) {
  Impl& m = *impl_;
  m.probe_objectives.clear();
  m.probe_contexts.clear();
  std::vector<std::pair<std::string, ObjectiveProbe*>> probes;
  for (const auto& [name, c] : m.callbacks) {
    if (auto* p = dynamic_cast<ObjectiveProbe*>(c)) probes.emplace_back(name, p);
  }
  m.probe_contexts.reserve(probes.size());  // each probe keeps a reference to its context
  for (const auto& [name, probe] : probes) {
    const std::int64_t wanted = probe->probe_examples();
    const std::int64_t n = wanted <= 0 ? train.size() : std::min(wanted, train.size());
    // the first n of a shuffle seeded by the run's seed and the probe's name, in the set's order
    std::vector<std::int64_t> order(static_cast<std::size_t>(train.size()));
    std::iota(order.begin(), order.end(), 0);
    Random shuffle(derive_seed(options_.seed, "probe/" + name));
    for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[shuffle.below(i)]);
    order.resize(static_cast<std::size_t>(n));
    std::sort(order.begin(), order.end());
    m.probe_objectives.push_back(batch_objective(train.gather(order), derive_seed(options_.seed, "probe-random/" + name)));
    GraphObjective* f = m.probe_objectives.back().get();
    ProbeContext& ctx = m.probe_contexts.emplace_back();
    ctx.objective = f;
    ctx.parameters = [f] { return f->current(); };
    ctx.names = m.param_names;
    for (const Value& v : m.param_values) ctx.sizes.push_back(static_cast<std::size_t>(v.shape().numel()));
    ctx.examples = n;
    probe->attach(ctx);
  }
}

}  // namespace symgrad
