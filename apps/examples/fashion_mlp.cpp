// An MLP on Fashion-MNIST with the C++ API: Debian's data, a Sequential model, the Trainer with
// Adam and early stopping, and the test accuracy.
//   fashion_mlp [epochs] [training examples]     (defaults: 5, all 60000)
#include <cstdlib>

#include <fmt/core.h>

#include "symgrad/data/idx.hpp"
#include "symgrad/plugin/registry.hpp"
#include "symgrad/train/trainer.hpp"

int main(int argc, char** argv) {
  using namespace symgrad;
  const std::int64_t epochs = argc > 1 ? std::atoll(argv[1]) : 5;
  Dataset train = load_fashion_mnist("train");
  if (argc > 2) train = train.rows(0, std::atoll(argv[2]));
  const Dataset test = load_fashion_mnist("test");
  auto [fit_set, validation] = split_validation(train, 0.1, 1);

  Sequential model;
  model.flatten().dense(256, "relu").dropout(0.1).dense(10);
  TrainerOptions options;
  options.epochs = epochs;
  options.batch_size = 128;
  options.seed = 1;
  options.optimizer = "adam";
  options.optimizer_settings = {{"lr", 1e-3}};
  Trainer trainer(model, {DType::f32, Shape{1, 28, 28}}, 10, options);
  auto early_stopping = PluginRegistry::global().make_regularizer("early_stopping", {{"patience", std::int64_t{2}}});
  trainer.add(*early_stopping);
  for (const EpochRecord& r : trainer.fit(fit_set, &validation)) {
    fmt::print("epoch {}: loss {:.4f}, validation accuracy {:.4f}\n", r.epoch, r.train_loss, r.val_accuracy);
  }
  const Evaluation e = trainer.evaluate(test);
  fmt::print("{}: test accuracy {:.2f}%\n", model.to_string(), 100 * e.accuracy);
  return e.accuracy > 0.5 ? 0 : 1;
}
