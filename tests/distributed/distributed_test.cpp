// Data-parallel training over MPI, run by CTest under `mpirun -np 2` and `-np 3` (uneven shards):
// every rank ends with bitwise the same parameters, equal to one process training on the same
// global batches within float rounding; bad use is refused on every rank at the start (no hang).

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <thread>

#include <gtest/gtest.h>

#include "symgrad/core/error.hpp"
#include "symgrad/core/hash.hpp"
#include "symgrad/data/synthetic.hpp"
#include "symgrad/mpi/mpi_communicator.hpp"
#include "symgrad/plugin/registry.hpp"
#include "symgrad/train/trainer.hpp"

namespace symgrad {
namespace {

MpiCommunicator* comm = nullptr;  // made by main

TrainerOptions options(std::int64_t batch, const std::string& optimizer, double lr) {
  TrainerOptions o;
  o.epochs = 3;
  o.batch_size = batch;
  o.seed = 5;
  o.optimizer = optimizer;
  o.optimizer_settings = {{"lr", lr}};
  return o;
}

Sequential mlp() {
  Sequential m;
  m.dense(16, "relu").dropout(0.2).dense(16, "tanh").dense(2);
  return m;
}

// The largest difference between two stores' parameters, relative to the largest value.
double max_relative_difference(Trainer& a, Trainer& b) {
  double diff = 0, scale = 0;
  for (const auto& n : a.store().names()) {
    const Tensor &x = a.store().get(n), &y = b.store().get(n);
    if (x.dtype() != DType::f32) continue;
    for (std::int64_t i = 0; i < x.numel(); ++i) {
      diff = std::max(diff, std::abs(x.get(i) - y.get(i)));
      scale = std::max(scale, std::abs(y.get(i)));
    }
  }
  return diff / scale;
}

// A hash of every variable's bits: the same on every rank, or not.
std::uint64_t bits_hash(Trainer& t) {
  Fnv1a h;
  for (const auto& n : t.store().names()) h.add(t.store().get(n).raw(), t.store().get(n).nbytes());
  return h.value();
}

// `regularizer` (when given) on both: a penalty of the batch is each rank's share of it.
void expect_same_as_one_process(std::int64_t batch, const std::string& optimizer, double lr,
                                const std::string& regularizer = "", const Settings& settings = {}) {
  const Dataset data = make_moons(300, 0.2, 8);  // 300 examples: the last batch is partial
  TrainerOptions o = options(batch, optimizer, lr);
  o.communicator = comm;
  Trainer parallel(mlp(), {DType::f32, Shape{2}}, 2, o);
  Trainer alone(mlp(), {DType::f32, Shape{2}}, 2, options(batch, optimizer, lr));
  std::unique_ptr<Regularizer> r1, r2;
  if (!regularizer.empty()) {
    r1 = PluginRegistry::global().make_regularizer(regularizer, settings);
    r2 = PluginRegistry::global().make_regularizer(regularizer, settings);
    parallel.add(*r1, regularizer);
    alone.add(*r2, regularizer);
  }
  const auto records = parallel.fit(data);
  const auto alone_records = alone.fit(data);
  EXPECT_TRUE(comm->all_equal(bits_hash(parallel))) << "the ranks' parameters differ";
  // the same global batches, dropout masks and updates; the sums differ in order only
  EXPECT_LT(max_relative_difference(parallel, alone), 2e-5);
  EXPECT_NEAR(records.back().train_loss, alone_records.back().train_loss, 1e-5);
  EXPECT_EQ(records.back().train_accuracy, alone_records.back().train_accuracy);
}

TEST(DataParallel, AdamEqualsOneProcess) { expect_same_as_one_process(32, "adam", 0.01); }
TEST(DataParallel, SgdWithMomentumEqualsOneProcess) { expect_same_as_one_process(50, "sgd", 0.1); }
// A penalty of the batch's inputs and per-example losses (second derivatives through the model)
TEST(DataParallel, DoubleBackpropEqualsOneProcess) {
  expect_same_as_one_process(50, "sgd", 0.1, "double_backprop", {{"lambda", 1.0}});
}

// The MPI communicator, counting the sums started (one per bucket of gradients, one for the loss
// and accuracy) and the waits for them.
class CountingCommunicator final : public Communicator {
 public:
  explicit CountingCommunicator(Communicator& inner) : inner_(inner) {}
  int rank() const override { return inner_.rank(); }
  int size() const override { return inner_.size(); }
  void allreduce_sum(float* d, std::size_t n) override { inner_.allreduce_sum(d, n); }
  void allreduce_sum(double* d, std::size_t n) override { inner_.allreduce_sum(d, n); }
  void start_allreduce_sum(float* d, std::size_t n) override { ++starts, inner_.start_allreduce_sum(d, n); }
  void start_allreduce_sum(double* d, std::size_t n) override { ++starts, inner_.start_allreduce_sum(d, n); }
  void progress() override { inner_.progress(); }
  void wait_all() override { ++waits, inner_.wait_all(); }
  void allreduce_min_max(double& lo, double& hi) override { inner_.allreduce_min_max(lo, hi); }
  void broadcast(void* d, std::size_t bytes, int root) override { inner_.broadcast(d, bytes, root); }
  std::string describe() const override { return inner_.describe(); }
  int starts = 0, waits = 0;

 private:
  Communicator& inner_;
};

// Gradients summed in small buckets (each started as soon as the backward pass has finished its
// gradients, while the pass goes on; the plan's OutputReady, tests/runtime) give the same training
// as one sum a step: the same bits with 2 processes (a + b is exact whichever way round), within
// rounding of one process with 3, and the same bits on every rank.
TEST(DataParallel, GradientBucketsEqualOneSum) {
  const Dataset data = make_moons(300, 0.2, 8);
  const std::int64_t steps = 3 * ((300 + 31) / 32);
  auto run = [&](double cap_mb, int& starts_per_step) {
    CountingCommunicator counting(*comm);
    TrainerOptions o = options(32, "adam", 0.01);
    o.communicator = &counting;
    o.bucket_cap_mb = cap_mb;
    auto t = std::make_unique<Trainer>(mlp(), TensorType{DType::f32, Shape{2}}, 2, o);
    t->fit(data);
    EXPECT_EQ(counting.waits, steps);
    EXPECT_EQ(counting.starts % steps, 0);
    starts_per_step = counting.starts / static_cast<int>(steps);
    return t;
  };
  int one_bucket = 0, small_buckets = 0;
  auto whole = run(25, one_bucket);
  auto bucketed = run(100.0 / (1024 * 1024), small_buckets);  // 100 bytes: 25 floats
  EXPECT_EQ(one_bucket, 2);  // the loss and accuracy, and all gradients (< 25 MiB)
  // the backward pass finishes the last layer's gradients first: dense3 b (2 floats) + W (32) |
  // dense2 b (16) + W (256) | dense1 b (16) + W (32): each bucket closes once it holds 100 bytes
  EXPECT_EQ(small_buckets, 1 + 3);
  EXPECT_TRUE(comm->all_equal(bits_hash(*bucketed))) << "the ranks' parameters differ";
  if (comm->size() == 2) {
    EXPECT_EQ(bits_hash(*bucketed), bits_hash(*whole));
  } else {
    EXPECT_LT(max_relative_difference(*bucketed, *whole), 2e-5);
  }
}

// MPI waits forever for a rank that hangs without dying: the communicator's timeout makes that an
// error on the ranks that wait, naming the call (the command line then ends the job).
TEST(DataParallel, ARankThatHangsIsAnErrorOnTheOthers) {
  MpiCommunicator quick(std::chrono::milliseconds(300));
  const bool late = quick.rank() == quick.size() - 1;
  if (late) std::this_thread::sleep_for(std::chrono::seconds(2));
  double v = 1;
  if (late) {
    quick.allreduce_sum(&v, 1);
  } else {
    try {
      quick.allreduce_sum(&v, 1);
      ADD_FAILURE() << "waited for a late rank without a timeout";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("(a sum of 1 doubles) waited 0.3 s for the other processes: one of them "
                                           "hangs or is stopped"),
                std::string::npos)
          << e.what();
    }
    for (bool done = false; !done;) {  // the sum is still pending: it ends once the late rank comes
      try {
        quick.wait_all();
        done = true;
      } catch (const Error&) {
      }
    }
  }
  EXPECT_EQ(v, quick.size());
}

// Batch normalization (the batch_norm strategy, through the loader): by default each process
// normalizes with its own shard's statistics, as under torch's DistributedDataParallel, and the
// training differs from one process's; with sync = true (torch.nn.SyncBatchNorm) the statistics are
// the whole batch's, summed over the processes in the forward and the backward pass, and the
// training is one process's within rounding, the running statistics included.
TEST(DataParallel, SynchronizedBatchNormEqualsOneProcess) {
  const Dataset data = make_moons(300, 0.2, 8);
  auto train = [&](Communicator* c, bool sync) {
    Sequential m;
    m.dense(16, "relu").dense(16, "tanh").dense(2);
    TrainerOptions o = options(30, "sgd", 0.1);
    o.communicator = c;
    auto t = std::make_unique<Trainer>(m, TensorType{DType::f32, Shape{2}}, 2, o);
    auto bn = PluginRegistry::global().make_strategy("batch_norm", {{"sync", sync}});
    t->add(*bn, "batch_norm");
    t->fit(data);
    return std::make_pair(std::move(t), std::move(bn));
  };
  auto alone = train(nullptr, false);  // the fused batch_norm op
  auto alone_sync = train(nullptr, true);  // the same normalization from sums (no other process)
  auto synced = train(comm, true);
  auto local = train(comm, false);
  EXPECT_LT(max_relative_difference(*alone_sync.first, *alone.first), 2e-5);
  EXPECT_TRUE(comm->all_equal(bits_hash(*synced.first))) << "the ranks' parameters differ";
  EXPECT_TRUE(comm->all_equal(bits_hash(*local.first)));
  const double synced_diff = max_relative_difference(*synced.first, *alone.first);
  const double local_diff = max_relative_difference(*local.first, *alone.first);
  EXPECT_LT(synced_diff, 2e-5);
  EXPECT_GT(local_diff, 100 * synced_diff);  // shard statistics: another training
  EXPECT_GT(local_diff, 1e-3);
  std::printf("batch norm, largest relative difference from one process: synchronized %.2e, per process %.2e\n",
              synced_diff, local_diff);
}

// L-BFGS over the full training set: each rank evaluates its shard, values and gradients are
// summed; the iterates are one process's within rounding, the same bits on every rank.
TEST(DataParallel, LbfgsFullBatchEqualsOneProcess) {
  const Dataset data = make_moons(301, 0.2, 8);  // 301: uneven shards
  Sequential m;
  m.dense(8, "tanh").dense(2);
  TrainerOptions o = options(301, "lbfgs", 1.0);
  o.epochs = 5;
  Trainer alone(m, {DType::f32, Shape{2}}, 2, o);
  alone.fit(data);
  o.communicator = comm;
  Trainer parallel(m, {DType::f32, Shape{2}}, 2, o);
  parallel.fit(data);
  EXPECT_TRUE(comm->all_equal(bits_hash(parallel))) << "the ranks' parameters differ";
  EXPECT_LT(max_relative_difference(parallel, alone), 1e-4);
  EXPECT_LT(parallel.evaluate(data).loss, 0.5);
}

// A batch with fewer examples than processes, and ranks that do not hold the same data: refused
// on every rank, before any step (a rank that went on alone would wait for the others forever).
TEST(DataParallel, BadUseIsRefusedOnEveryRank) {
  TrainerOptions o = options(1, "sgd", 0.1);
  o.communicator = comm;
  Trainer tiny(mlp(), {DType::f32, Shape{2}}, 2, o);
  try {
    tiny.fit(make_moons(20, 0.2, 8));
    ADD_FAILURE() << "a batch of 1 over " << comm->size() << " processes trained";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("processes cannot share batches of 1 examples: every batch needs at least one example per process"), std::string::npos) << e.what();
  }
  o.batch_size = 8;
  Trainer mismatched(mlp(), {DType::f32, Shape{2}}, 2, o);
  try {
    mismatched.fit(make_moons(40 + comm->rank(), 0.2, 8));
    ADD_FAILURE() << "ranks with different data trained";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("disagree on the number of training examples"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace symgrad

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  symgrad::MpiCommunicator mpi;
  symgrad::comm = &mpi;
  return RUN_ALL_TESTS();
}
