// symgrad eval RUN_DIR [--data test|validation|train] [--samples K [--seed S]]: evaluates a trained
// run (its experiment and variables.bin) with the inference plan and prints the loss and accuracy;
// with --samples, also by Monte-Carlo averaging over K passes that draw dropout masks and noise.

#include <cmath>
#include <filesystem>
#include <iostream>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "../command.hpp"
#include "../run.hpp"
#include "symgrad/core/error.hpp"
#include "symgrad/io/variables_file.hpp"
#include "symgrad/train/experiment.hpp"
#include "symgrad/train/trainer.hpp"

namespace symgrad::cli {

namespace po = boost::program_options;

int eval_command(const std::vector<std::string>& args) {
  po::options_description opts(
      "usage: symgrad eval RUN_DIR [--data test|validation|train] [--samples K [--seed S]]\n"
      "Evaluates the model of a run folder (experiment.toml and variables.bin, as symgrad train leaves\n"
      "them) on a part of its data and prints the loss and accuracy. --samples K also evaluates the\n"
      "average of K passes that draw the training mode's dropout masks and noise (Monte-Carlo dropout)\n"
      "against the inference pass (the weight-scaling rule). Options");
  std::string part = "test";
  std::int64_t samples = 0;
  std::uint64_t seed = 0;
  opts.add_options()("help,h", "this help")("data", po::value(&part)->default_value("test"), "test, validation or train")(
      "samples", po::value(&samples), "Monte-Carlo passes to average (at least 1)")(
      "seed", po::value(&seed), "the passes' seed (default: the experiment's)");
  std::string run;
  po::variables_map vm;
  if (parse_with_positional(args, opts, vm, "run folder", run, "eval")) return kOk;
  if (part != "test" && part != "validation" && part != "train") {
    throw UsageError(fmt::format("--data '{}': test, validation or train", part));
  }
  if (vm.count("samples") && samples < 1) throw UsageError(fmt::format("--samples {}: at least 1", samples));
  namespace fs = std::filesystem;
  const fs::path dir = run;
  const Experiment x = load_finished_run(run);
  const ExperimentData data = load_experiment_data(x);
  TrainerOptions options = x.trainer_options();
  options.output_dir.clear();  // evaluation writes nothing
  Trainer trainer(x.model(data.train), options);
  const ExperimentComponents components = make_components(x);  // the same model rewrites
  components.attach(trainer);
  trainer.load_variables((dir / "variables.bin").string());  // refused when not this model's
  const Dataset& d = part == "test" ? data.test : part == "validation" ? data.validation : data.train;
  if (d.size() == 0) {
    throw UsageError(fmt::format("the run's experiment has no {} set ({}): give --data {}", part,
                                 part == "validation" ? "data.validation is 0" : "it is empty",
                                 part == "test" ? "validation or train" : "test"));
  }
  const Evaluation e = trainer.evaluate(d);
  if (e.metric == "accuracy") {
    fmt::print("{} on {} ({} examples): loss {:.4f}, accuracy {:.2f}%\n", x.name, part, d.size(), e.loss, 100 * e.accuracy);
  } else {
    fmt::print("{} on {} ({} examples): loss {:.4f}, {} {:.4g}\n", x.name, part, d.size(), e.loss, e.metric, e.accuracy);
  }
  if (e.metrics.size() > 2 || e.metric != "accuracy") {
    for (const auto& [name, value] : e.metrics) fmt::print("  {:<28} {:.6g}\n", name, value);
  }
  if (vm.count("samples")) {
    const Evaluation s = trainer.evaluate_sampled(d, samples, vm.count("seed") ? seed : x.seed);
    const std::string metric = s.metric == "accuracy" ? fmt::format("accuracy {:.2f}%", 100 * s.accuracy)
                                                      : fmt::format("{} {:.4g}", s.metric, s.accuracy);
    const std::string loss = std::isnan(s.loss) ? "" : fmt::format("loss {:.4f}, ", s.loss);
    fmt::print("averaged over {} sampled passes (Monte-Carlo): {}{}\n", samples, loss, metric);
  }
  return kOk;
}

}  // namespace symgrad::cli
