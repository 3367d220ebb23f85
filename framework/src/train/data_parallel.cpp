// Data-parallel training (TrainerOptions::communicator, docs/distributed.md): each rank's shard of a
// batch, the start that makes every rank train the same thing, the step that sums gradients in
// buckets while the backward pass goes on, and a host-driven optimizer's objective over the ranks.
#include <algorithm>
#include <chrono>
#include <cstring>

#include <fmt/format.h>

#include "symgrad/core/error.hpp"
#include "symgrad/core/hash.hpp"
#include "data_parallel.hpp"

namespace symgrad::trainer_detail {

namespace {

// The buckets of data_parallel_step: the gradients packed in the order the gradient plan finishes
// them, cut into buckets of about `cap_bytes` (a bucket takes gradients until it holds the cap or
// more: the last one may take it past), as PyTorch DDP's bucket_cap_mb.
void plan_buckets(Trainer::Impl& m, std::size_t first, double cap_bytes) {
  const std::size_t n = m.param_names.size();
  m.gradient_offset.assign(n, 0);
  m.gradient_bucket.assign(n, 0);
  m.buckets.clear();
  std::size_t at = 0;
  for (std::size_t o : m.gradient_plan->output_order()) {
    if (o < first || o >= first + n) continue;  // (after the gradients: the penalties' values)
    const std::size_t k = o - first;
    const TensorType type = m.training_step.raw_gradients[k].type();  // (a parameter's: static)
    const Trainer::Impl::Bucket* last = m.buckets.empty() ? nullptr : &m.buckets.back();
    if (last == nullptr || static_cast<double>((last->end - last->begin) * dtype_size(type.dtype)) >= cap_bytes) {
      m.buckets.push_back({at, at, 0, 0});
    }
    m.gradient_offset[k] = at;
    m.gradient_bucket[k] = m.buckets.size() - 1;
    at += static_cast<std::size_t>(type.shape.numel());
    m.buckets.back().end = at;
    ++m.buckets.back().size;
  }
}

}  // namespace

std::pair<std::int64_t, std::int64_t> shard_of(std::int64_t size, int rank, int ranks) {
  const std::int64_t base = size / ranks, extra = size % ranks;
  const std::int64_t lo = rank * base + std::min<std::int64_t>(rank, extra);
  return {lo, lo + base + (rank < extra ? 1 : 0)};
}

Tensor rows_of(const Tensor& t, std::int64_t lo, std::int64_t hi) {
  std::vector<std::int64_t> dims;
  for (std::size_t i = 0; i < t.shape().rank(); ++i) dims.push_back(t.shape()[i]);
  const std::size_t row = t.nbytes() / static_cast<std::size_t>(dims[0]);
  dims[0] = hi - lo;
  Tensor out(t.dtype(), Shape(dims));
  std::memcpy(out.raw(), static_cast<const char*>(t.raw()) + row * static_cast<std::size_t>(lo), out.nbytes());
  return out;
}

// Before the first step: every rank must train the same thing, and starts from rank 0's variables.
// The checks that compare ranks come first: a rank that stopped alone would leave the others
// waiting in a collective call.
void start_data_parallel(Trainer::Impl& m, Communicator& comm, const Dataset& train, std::int64_t batch,
                         VariableStore& store) {
  auto same = [&](std::uint64_t fingerprint, const char* what) {
    if (!comm.all_equal(fingerprint)) {
      throw UsageError(fmt::format("the {} processes disagree on {} ({}); give every rank the same experiment and data",
                                   comm.size(), what, comm.describe()));
    }
  };
  same(static_cast<std::uint64_t>(train.size()), "the number of training examples");
  const std::int64_t last = train.size() % batch;
  if (m.host) {  // one full batch an iteration, over the ranks' shards of the training set
    if (train.size() < comm.size()) {
      throw UsageError(fmt::format("{} processes cannot share {} training examples", comm.size(), train.size()));
    }
  } else if (batch < comm.size() || (last > 0 && last < comm.size())) {
    throw UsageError(fmt::format("{} processes cannot share batches of {} examples{}: every batch needs at least one "
                                 "example per process (change batch_size, or the number of processes)",
                                 comm.size(), batch < comm.size() ? batch : last,
                                 batch < comm.size() ? "" : fmt::format(" (the last of each epoch over {} examples)",
                                                                        train.size())));
  }
  Fnv1a layout;  // names, types: the model and its step
  const auto names = store.names();
  for (const auto& n : names) layout.add(n).add(store.get(n).type().to_string());
  same(layout.value(), "the model and its variables (a hash of their names and types)");
  Fnv1a bits;
  for (const auto& n : names) {  // rank 0's values everywhere, then checked: the same bits on every rank
    Tensor& t = store.get(n);
    comm.broadcast(t.raw(), t.nbytes(), 0);
    bits.add(t.raw(), t.nbytes());
  }
  same(bits.value(), "the parameters after rank 0's were sent (a hash of their bits)");
}

// One step over this rank's rows of the batch: its gradients weighted by its share of the batch
// (plan gradient_plan), their sum over the ranks, then the update (plan step) from that sum. Each bucket
// of gradients starts its sum as soon as the plan has finished its last gradient, while the plan
// goes on with the rest of the backward pass (the loss, objective and right answers too, once the
// forward pass has them). The result has the one-process plan's layout: loss, objective (over the
// whole batch), logits (this rank's), gradient norms.
std::vector<Tensor> data_parallel_step(Trainer::Impl& m, Communicator& comm, const Feeds& feeds, std::int64_t size,
                                       VariableStore& store, double cap_bytes, Score& score, double& comm_seconds) {
  if (size < comm.size()) {
    throw UsageError(fmt::format("a batch of {} examples cannot be shared by {} processes: use a batch size (and a "
                                 "training set) whose every batch has at least one example per process",
                                 size, comm.size()));
  }
  const auto [lo, hi] = shard_of(size, comm.rank(), comm.size());
  Feeds local;
  for (const auto& feed : feeds) {
    const std::string& name = feed.first;  // (clang 14 does not capture structured bindings)
    const Tensor& t = feed.second;
    const bool data = std::find(m.data_names.begin(), m.data_names.end(), name) != m.data_names.end();
    const bool batched = data || std::any_of(m.train_forward.randoms.begin(), m.train_forward.randoms.end(), [&](const RandomInput& r) {
      return r.name == name && r.value.shape().rank() > 0 && r.value.shape()[0] == Shape::kOpen;
    });
    local[name] = batched ? rows_of(t, lo, hi) : t;
  }
  const double share = static_cast<double>(hi - lo) / static_cast<double>(size);
  local["shard/share"] = Tensor::scalar(m.training_step.raw_gradients[0].dtype(), share);
  constexpr std::size_t kFirst = 3;  // the gradient plan's outputs: loss, objective, first output, then the gradients
  const Tensor& target = local.at(m.targets.front());
  std::vector<double> scalars(2 + score.sums().size(), 0.0);
  std::size_t scalars_waiting = kFirst;
  double started = 0;  // seconds spent starting and moving the sums along inside the plan's run
  auto timed = [&](auto&& f) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    started += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  std::vector<Tensor> finished(kFirst);  // (the outputs are also returned by run(); kept for the scalars)
  auto pack = [&](auto zero) {
    using T = decltype(zero);
    return [&, base = m.reduce_buffer<T>().data()](std::size_t o, const Tensor& value) {
      if (o < kFirst) {
        finished[o] = value;
        if (--scalars_waiting == 0) {
          Score mine(m.tasks.front());
          mine.add(finished[2], target);
          scalars = {finished[0].get(0) * share, finished[1].get(0) * share};
          scalars.insert(scalars.end(), mine.sums().begin(), mine.sums().end());
          timed([&] { comm.start_allreduce_sum(scalars.data(), scalars.size()); });
        }
        return;
      }
      const std::size_t k = o - kFirst;  // (already weighted by the share: StepSpec::gradients_as_inputs)
      if (k >= m.param_names.size()) return;  // a penalty's value, reported: summed below
      std::memcpy(base + m.gradient_offset[k], value.raw(), value.nbytes());
      Trainer::Impl::Bucket& b = m.buckets[m.gradient_bucket[k]];
      if (--b.waiting == 0) {
        timed([&] { comm.start_allreduce_sum(base + b.begin, b.end - b.begin); });
      } else {
        timed([&] { comm.progress(); });
      }
    };
  };
  const bool f32 = m.training_step.raw_gradients[0].dtype() == DType::f32;
  if (m.buckets.empty()) {  // the first step: where each gradient goes
    plan_buckets(m, kFirst, cap_bytes);
    if (f32) {
      m.reduce_f32.assign(m.buckets.back().end, 0.0f);
    } else {
      m.reduce_f64.assign(m.buckets.back().end, 0.0);
    }
  }
  for (auto& b : m.buckets) b.waiting = b.size;
  const std::vector<Tensor>& a = f32 ? m.gradient_plan->run(local, &store, pack(0.0f))
                                     : m.gradient_plan->run(local, &store, pack(0.0));
  const auto wait_start = std::chrono::steady_clock::now();
  comm.wait_all();
  comm_seconds += started + std::chrono::duration<double>(std::chrono::steady_clock::now() - wait_start).count();
  std::copy(scalars.begin() + 2, scalars.end(), score.sums().begin());
  // the penalties' values (reported): each rank's share of the batch's
  std::vector<double> penalties(m.batch_reports);
  for (std::size_t j = 0; j < penalties.size(); ++j) penalties[j] = a[kFirst + m.param_names.size() + j].get(0) * share;
  if (!penalties.empty()) comm.allreduce_sum(penalties.data(), penalties.size());
  // the model's own state (batch norm's running statistics, from each rank's shard unless
  // synchronized) is rank 0's on every rank, as torch DDP's broadcast_buffers makes it
  for (const auto& state : m.train_forward.state_updates) {
    Tensor& t = store.get(state.first);
    comm.broadcast(t.raw(), t.nbytes(), 0);
  }
  // the summed gradients into the step's "grad/<parameter>" inputs (kept between steps)
  Feeds update = local;
  m.summed_gradients.resize(m.param_names.size());
  for (std::size_t k = 0; k < m.param_names.size(); ++k) {
    Tensor& sum = m.summed_gradients[k];
    const Tensor& g = a[kFirst + k];
    if (!sum.defined() || sum.type() != g.type()) sum = Tensor(g.type());
    const void* from = f32 ? static_cast<const void*>(m.reduce_f32.data() + m.gradient_offset[k])
                           : static_cast<const void*>(m.reduce_f64.data() + m.gradient_offset[k]);
    std::memcpy(sum.raw(), from, sum.nbytes());
    update["grad/" + m.param_names[k]] = sum;
  }
  // (the update plan is another plan: the gradient plan's logits stay valid through its run)
  std::vector<Tensor> out = {Tensor::scalar(DType::f64, scalars[0]), Tensor::scalar(DType::f64, scalars[1]), a[2]};
  const std::vector<Tensor>& updated = m.step->run(update, &store);  // gradient norms, then the step's reports
  const std::size_t norms = m.param_names.size();
  out.insert(out.end(), updated.begin(), updated.begin() + static_cast<std::ptrdiff_t>(norms));
  for (double p : penalties) out.push_back(Tensor::scalar(DType::f64, p));
  out.insert(out.end(), updated.begin() + static_cast<std::ptrdiff_t>(norms), updated.end());
  return out;
}


}  // namespace symgrad::trainer_detail
