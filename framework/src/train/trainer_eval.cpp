// The Trainer's evaluation and prediction: the inference plan over a data set in batches, with
// the variables evaluation reads (Polyak's averages, batch norm's running statistics).
#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "symgrad/core/error.hpp"
#include "symgrad/core/random.hpp"
#include "symgrad/ops/ops.hpp"
#include "metrics.hpp"
#include "trainer_impl.hpp"

namespace symgrad {

using trainer_detail::check_targets;
using trainer_detail::data_feeds;
using trainer_detail::draw_random_inputs;
using trainer_detail::named_feeds;
using trainer_detail::Score;

namespace {

// Runs the inference plan over `data` in batches (at least 256 examples) with the evaluation
// store; f(part, feeds, outputs) sees each batch's outputs (Trainer::Impl: the loss, each loss's
// output and term, the first loss's per-example values).
template <class F>
void for_each_eval_batch(const Trainer::Impl& m, VariableStore& view, const Dataset& data, const TrainerOptions& o, F&& f) {
  const std::int64_t n = data.size(), b = std::max<std::int64_t>(o.batch_size, 256);
  for (std::int64_t at = 0; at < n; at += b) {
    const Dataset part = data.rows(at, std::min(b, n - at));
    const Feeds feeds = data_feeds(m, part, o.dtype);
    f(part, feeds, m.eval->run(feeds, &view));
  }
}

// Adds `scale` x a batch's output (its `rows` examples, from example `at`) into `all`: [n, ...] in
// f64, allocated (zeros) at the first batch.
void add_rows(Tensor& all, const Tensor& out, std::int64_t at, std::int64_t rows, std::int64_t n, double scale) {
  const std::int64_t per = out.numel() / std::max<std::int64_t>(rows, 1);
  if (!all.defined()) {
    std::vector<std::int64_t> dims(out.shape().dims().begin(), out.shape().dims().end());
    dims[0] = n;
    all = Tensor(DType::f64, Shape(dims));
  }
  double* dst = all.data<double>() + at * per;
  for (std::int64_t i = 0; i < rows * per; ++i) dst[i] += scale * out.get(i);
}

}  // namespace

std::map<std::string, Tensor> Trainer::predict_all(const Dataset& data) {
  VariableStore view = evaluation_store();
  Impl& m = *impl_;
  if (!m.predict) {
    CompileOptions co;
    co.backend = options_.backend;
    co.precision = options_.precision;
    m.predict = std::make_unique<Plan>(compile(m.eval_graph, m.eval_outputs, co));
  }
  std::vector<Tensor> all(m.outputs.size());
  const std::int64_t n = data.size(), b = std::max<std::int64_t>(options_.batch_size, 256);
  for (std::int64_t at = 0; at < n; at += b) {
    const Dataset part = data.rows(at, std::min(b, n - at));
    const std::vector<Tensor>& out = m.predict->run(named_feeds(part, m.input_names, options_.dtype), &view);
    for (std::size_t k = 0; k < out.size(); ++k) add_rows(all[k], out[k], at, part.size(), n, 1.0);
  }
  std::map<std::string, Tensor> named;
  for (std::size_t k = 0; k < all.size(); ++k) named[m.outputs[k]] = all[k];
  return named;
}

Tensor Trainer::predict(const Dataset& data) { return predict_all(data).at(impl_->outputs.front()); }

std::vector<std::pair<std::string, Task>> Trainer::output_tasks() {
  ensure_built();
  std::vector<std::pair<std::string, Task>> r;
  for (std::size_t k = 0; k < impl_->outputs.size(); ++k) r.emplace_back(impl_->outputs[k], impl_->tasks[k]);
  return r;
}

std::vector<double> Trainer::example_losses(const Dataset& data) {
  VariableStore view = evaluation_store();
  std::vector<double> losses;
  losses.reserve(static_cast<std::size_t>(data.size()));
  for_each_eval_batch(*impl_, view, data, options_, [&](const Dataset& part, const Feeds&, const std::vector<Tensor>& out) {
    const Tensor& per_example = out.back();
    for (std::int64_t i = 0; i < part.size(); ++i) losses.push_back(per_example.get(i));
  });
  return losses;
}

Evaluation Trainer::evaluate(const Dataset& data) {
  if (data.size() == 0) throw UsageError("cannot evaluate on an empty data set");
  VariableStore view = evaluation_store();
  const Impl& m = *impl_;
  check_targets(m, data, "");
  const std::size_t k = m.outputs.size();
  double loss = 0;
  std::vector<double> terms(k, 0.0);
  std::vector<Score> scores;
  for (Task t : m.tasks) scores.emplace_back(t);
  for_each_eval_batch(m, view, data, options_, [&](const Dataset& part, const Feeds& feeds, const std::vector<Tensor>& out) {
    const auto rows = static_cast<double>(part.size());
    loss += out[0].get(0) * rows;
    for (std::size_t i = 0; i < k; ++i) {
      scores[i].add(out[1 + i], feeds.at(m.targets[i]));
      terms[i] += out[1 + k + i].get(0) * rows;
    }
  });
  const auto n = static_cast<double>(data.size());
  Evaluation e;
  e.loss = loss / n;
  e.accuracy = scores.front().primary();
  e.metric = scores.front().primary_name();
  for (std::size_t i = 0; i < k; ++i) {
    e.metrics[m.outputs[i] + "/loss"] = terms[i] / n;
    for (const auto& [name, value] : scores[i].metrics()) e.metrics[m.outputs[i] + "/" + name] = value;
  }
  return e;
}

std::map<std::string, Tensor> Trainer::predict_sampled(const Dataset& data, std::int64_t samples, std::uint64_t seed) {
  ensure_built();
  Impl& m = *impl_;
  if (samples < 1) throw UsageError(fmt::format("sampled prediction needs at least 1 sample, got {}", samples));
  if (m.train_forward.randoms.empty()) {
    throw UsageError("sampled prediction draws what training draws at random (dropout masks, noise), and this model "
                     "draws nothing: every sample would be the inference pass");
  }
  if (!m.train_forward.state_updates.empty()) {
    throw UsageError("sampled prediction runs the training mode, where batch normalization normalizes by each batch's "
                     "own statistics: a model with it is evaluated by the inference pass only");
  }
  if (!m.sample_plan) {
    std::vector<Value> outs;
    for (std::size_t k = 0; k < m.train_outputs.size(); ++k) {
      const Value out = m.train_outputs[k];
      outs.push_back(m.tasks[k] == Task::classification ? softmax(out, -1)
                     : m.tasks[k] == Task::multilabel   ? sigmoid(out)
                                                        : out);
    }
    CompileOptions co;
    co.backend = options_.backend;
    co.precision = options_.precision;
    m.sample_plan = std::make_unique<Plan>(compile(m.train_graph, outs, co));
  }
  VariableStore view = evaluation_store();
  std::vector<Tensor> mean(m.outputs.size());
  const std::int64_t n = data.size(), b = std::max<std::int64_t>(options_.batch_size, 256);
  for (std::int64_t at = 0; at < n; at += b) {
    const Dataset part = data.rows(at, std::min(b, n - at));
    const Feeds inputs = named_feeds(part, m.input_names, options_.dtype);
    for (std::int64_t s = 0; s < samples; ++s) {
      Feeds feeds = inputs;
      draw_random_inputs(m.train_forward.randoms, part.size(), derive_seed(seed, fmt::format("sample/{}/{}", at, s)), feeds);
      const std::vector<Tensor>& out = m.sample_plan->run(feeds, &view);
      for (std::size_t k = 0; k < out.size(); ++k) add_rows(mean[k], out[k], at, part.size(), n, 1.0 / static_cast<double>(samples));
    }
  }
  std::map<std::string, Tensor> named;
  for (std::size_t k = 0; k < mean.size(); ++k) named[m.outputs[k]] = mean[k];
  return named;
}

Evaluation Trainer::evaluate_sampled(const Dataset& data, std::int64_t samples, std::uint64_t seed) {
  if (data.size() == 0) throw UsageError("cannot evaluate on an empty data set");
  const std::map<std::string, Tensor> mean = predict_sampled(data, samples, seed);
  const Impl& m = *impl_;
  check_targets(m, data, "");
  Evaluation e;
  e.loss = std::numeric_limits<double>::quiet_NaN();
  for (std::size_t k = 0; k < m.outputs.size(); ++k) {
    Tensor scored = mean.at(m.outputs[k]);
    const Tensor& target = data.array(m.targets[k]);
    if (m.tasks[k] == Task::multilabel) {  // Score reads logits: a probability above 1/2 is a logit above 0
      for (std::int64_t i = 0; i < scored.numel(); ++i) scored.set(i, scored.get(i) - 0.5);
    }
    Score score(m.tasks[k]);
    score.add(scored, target);
    if (k == 0) {
      e.accuracy = score.primary();
      e.metric = score.primary_name();
      if (m.tasks[k] == Task::classification) {  // the averaged probability of the right class
        const std::int64_t c = scored.numel() / data.size();
        double nll = 0;
        for (std::int64_t i = 0; i < data.size(); ++i) {
          nll -= std::log(std::max(scored.get(i * c + static_cast<std::int64_t>(target.get(i))), 1e-300));
        }
        e.loss = nll / static_cast<double>(data.size());
      }
    }
    for (const auto& [name, value] : score.metrics()) e.metrics[m.outputs[k] + "/" + name] = value;
  }
  return e;
}

}  // namespace symgrad
