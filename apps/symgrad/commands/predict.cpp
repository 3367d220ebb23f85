// symgrad predict RUN_DIR --data FILE [--output FILE.csv]: the outputs of a trained run's model
// (its experiment and variables.bin: the evaluation variables, such as Polyak's averages and batch
// norm's running statistics) for new data, one row an example: for a classifier's output the class
// and each class's probability, for a multi-label output each label's probability, for a
// regression the values.

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <boost/program_options.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "../command.hpp"
#include "../run.hpp"
#include "symgrad/core/error.hpp"
#include "symgrad/data/csv.hpp"
#include "symgrad/data/npy.hpp"
#include "symgrad/train/experiment.hpp"
#include "symgrad/train/trainer.hpp"

namespace symgrad::cli {

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace {

// The examples of FILE: .npz (its arrays by name, "x" the features), .npy (the features) or .csv
// (with a header: the columns the run read as features, by name; else every column), prepared as
// the run's data were (its data.toml: the normalization).
Dataset read_examples(const std::string& file, const DataPreparation& preparation) {
  const std::string ext = fs::path(file).extension().string();
  Dataset d;
  if (ext == ".npz") {
    d = dataset_from_arrays(file, read_npz(file));
  } else if (ext == ".npy") {
    d = dataset_from_arrays(file, {{"x", read_npy(file)}});
  } else if (ext == ".csv") {
    CsvOptions o;
    o.features_only = true;
    if (!preparation.features.empty() && read_csv_header(file).header) {  // (the label, others, another order)
      for (const auto& name : preparation.features) o.features.push_back(CsvColumn::named(name));
    }
    d = read_csv(file, o);
  } else {
    throw UsageError(fmt::format("--data '{}': a .csv, .npy or .npz file", file));
  }
  require_finite(d);
  preparation.apply(d);
  return d;
}

// The header and rows of the predictions: per output, its columns.
// A name as a CSV field (RFC 4180): quoted when it holds a separator, a quote or a line break.
std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string q = "\"";
  for (const char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

// A classifier's class is shown by name when the run's labels were names (`classes`) and the
// output has one logit for each.
std::string predictions_csv(const std::vector<std::pair<std::string, Task>>& tasks, const std::map<std::string, Tensor>& out,
                            std::int64_t n, const std::vector<std::string>& classes) {
  std::string text;
  std::vector<std::string> header;
  for (const auto& [name, task] : tasks) {
    const Tensor& t = out.at(name);
    const std::int64_t per = n > 0 ? t.numel() / n : 0;
    if (task == Task::classification) header.push_back(name + "_class");
    for (std::int64_t j = 0; j < per; ++j) {
      header.push_back(fmt::format("{}_{}{}", name, task == Task::regression ? "" : "p", j));
    }
  }
  text += fmt::format("{}\n", fmt::join(header, ","));
  for (std::int64_t i = 0; i < n; ++i) {
    std::vector<std::string> row;
    for (const auto& [name, task] : tasks) {
      const Tensor& t = out.at(name);
      const std::int64_t per = t.numel() / n;
      const double* z = t.data<double>() + i * per;
      if (task == Task::classification) {  // softmax, computed stably
        double top = z[0], sum = 0;
        std::int64_t best = 0;
        for (std::int64_t j = 1; j < per; ++j) {
          if (z[j] > top) top = z[j], best = j;
        }
        for (std::int64_t j = 0; j < per; ++j) sum += std::exp(z[j] - top);
        row.push_back(static_cast<std::size_t>(per) == classes.size() ? csv_field(classes[static_cast<std::size_t>(best)])
                                                                        : std::to_string(best));
        for (std::int64_t j = 0; j < per; ++j) row.push_back(fmt::format("{:.6g}", std::exp(z[j] - top) / sum));
      } else if (task == Task::multilabel) {
        for (std::int64_t j = 0; j < per; ++j) row.push_back(fmt::format("{:.6g}", 1 / (1 + std::exp(-z[j]))));
      } else {
        for (std::int64_t j = 0; j < per; ++j) row.push_back(fmt::format("{:.9g}", z[j]));
      }
    }
    text += fmt::format("{}\n", fmt::join(row, ","));
  }
  return text;
}

}  // namespace

int predict_command(const std::vector<std::string>& args) {
  po::options_description opts(
      "usage: symgrad predict RUN_DIR --data FILE [--output FILE.csv]\n"
      "The outputs of a run folder's model (experiment.toml and variables.bin, as symgrad train leaves\n"
      "them) for the examples of FILE (.csv: with a header, the columns the run read as features, by\n"
      "name; without one, every column a feature; .npy: the features; .npz: arrays by name, \"x\" the\n"
      "features), prepared as the run's data were (the normalization in its data.toml), one CSV row an\n"
      "example: a classifier's class (by name when its labels were names) and probabilities, a\n"
      "multi-label output's probabilities, a regression's values. Options");
  std::string data, output;
  opts.add_options()("help,h", "this help")("data", po::value(&data), "the examples (.csv, .npy or .npz)")(
      "output", po::value(&output), "where the CSV goes (default: standard output)");
  std::string run;
  po::variables_map vm;
  if (parse_with_positional(args, opts, vm, "run folder", run, "predict")) return kOk;
  if (data.empty()) throw UsageError("--data FILE: the examples to predict (symgrad predict --help)");
  const fs::path dir = run;
  const Experiment x = load_finished_run(run);
  const fs::path prepared = dir / "data.toml";
  const DataPreparation preparation = fs::exists(prepared) ? DataPreparation::read(prepared.string()) : DataPreparation{};
  const Dataset examples = read_examples(data, preparation);
  TrainerOptions options = x.trainer_options();
  options.output_dir.clear();  // prediction writes no run files
  Trainer trainer(x.model(examples), options);
  const ExperimentComponents components = make_components(x);  // the same model rewrites
  components.attach(trainer);
  try {
    trainer.load_variables((dir / "variables.bin").string());  // refused when not this model's
  } catch (const Error& e) {
    const auto& dims = examples.features.shape().dims();
    const TensorType each{examples.features.dtype(), Shape(std::vector<std::int64_t>(dims.begin() + 1, dims.end()))};
    throw UsageError(fmt::format("the examples of '{}' ({} each) do not fit the model of '{}': {}", data,
                                 each.to_string(), run, e.what()));
  }
  const std::string text =
      predictions_csv(trainer.output_tasks(), trainer.predict_all(examples), examples.size(), preparation.classes);
  if (output.empty()) {
    std::cout << text;
    std::cout.flush();
    if (!std::cout) throw Error("cannot write the predictions to standard output");
    return kOk;
  }
  {
    std::ofstream out(output, std::ios::binary);
    out << text;
    out.close();
    if (!out) throw Error(fmt::format("cannot write '{}'", output));
  }
  fmt::print("{} predictions of {} ({}) in {}\n", examples.size(), x.name, x.model_spec.describe(), output);
  return kOk;
}

}  // namespace symgrad::cli
