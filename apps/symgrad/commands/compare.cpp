// symgrad compare EXPERIMENT.toml --vary KEY=V1,V2,... [--vary ...] [--zip] [--x AXIS] [--set key=value ...]
// [--output DIR] [--jobs N]: trains one variant of the experiment per value (each in
// DIR/<KEY>=<value>; with several --vary, per combination or, zipped, per position), then prints
// them side by side and draws their validation curves on one picture each for loss and accuracy,
// against epochs, optimizer steps or seconds.
// KEY is any experiment key (optimizer.lr, batch_size, initializer.name, ...); a bare component
// name (optimizer, initializer, schedule) means its name, and a value may carry settings after a
// colon: --vary optimizer=sgd,sgd:momentum=0.9,adam.

#include <algorithm>
#include <atomic>
#include <exception>
#include <filesystem>
#include <mutex>
#include <thread>
#include <set>
#include <iostream>
#include <sstream>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "../command.hpp"
#include "../plot/curves.hpp"
#include "../run.hpp"
#include "symgrad/core/error.hpp"
#include "symgrad/io/run_folder.hpp"
#include "symgrad/runtime/threads.hpp"
#include "symgrad/train/experiment.hpp"

namespace symgrad::cli {

namespace po = boost::program_options;

namespace {

// The --set lines of one variant: "optimizer=sgd:momentum=0.9" -> optimizer.name=sgd,
// optimizer.momentum=0.9. A component other than the file's starts from its own defaults
// (optimizer=adam), so that a setting meant for the file's component (a weight decay coupled in
// one rule, decoupled in another) is not silently carried over.
std::vector<std::string> variant_sets(std::string key, const std::string& value, const Experiment& base) {
  if (key == "strategy" || key == "regularizer") {  // one table of that kind ("none": none)
    const auto colon = value.find(':');
    const std::string name = value.substr(0, colon);
    std::vector<std::string> sets = {key + "=" + name};
    if (colon != std::string::npos) {
      for (const auto& kv : split(value.substr(colon + 1), ';')) sets.push_back(key + "." + name + "." + kv);
    }
    return sets;
  }
  if (key == "optimizer" || key == "initializer" || key == "schedule") {
    const auto colon = value.find(':');
    const std::string name = value.substr(0, colon);
    const ComponentSpec& file = key == "optimizer" ? base.optimizer : key == "initializer" ? base.initializer : base.schedule;
    std::vector<std::string> sets = {name == file.name ? key + ".name=" + name : key + "=" + name}, own;
    if (colon != std::string::npos) {
      for (const auto& kv : split(value.substr(colon + 1), ';')) {
        sets.push_back(key + "." + kv);
        own.push_back(kv.substr(0, kv.find('=')));
      }
    }
    std::string dropped;  // the file's settings this variant does not set itself
    for (const auto& [k, v] : file.settings) {
      if (std::find(own.begin(), own.end(), k) == own.end()) dropped += (dropped.empty() ? "" : ", ") + k;
    }
    if (name != file.name && !dropped.empty()) {
      fmt::print("note: {}={} starts from {}'s defaults, not the file's {} settings ({})\n", key, value, name, file.name,
                 dropped);
    }
    return sets;
  }
  return {key + "=" + value};
}

// The settings that differ between the variants as they run (defaults filled in), per variant:
// "lr=0.01 momentum=0.9", the learning rate first. A setting counts among the variants whose
// components have it; a component's name is in the variant's label.
std::vector<std::string> differing_settings(const std::vector<Experiment>& variants) {
  std::vector<std::map<std::string, std::string>> all;
  std::set<std::string> keys;
  for (const auto& v : variants) {
    all.push_back(v.effective_settings());
    for (const auto& [k, value] : all.back()) keys.insert(k);
  }
  std::vector<std::string> differ;
  for (const auto& k : keys) {
    const bool named = k.size() > 5 && k.compare(k.size() - 5, 5, ".name") == 0;
    std::set<std::string> values;  // among the variants that have it (sgd's momentum is not adam's)
    for (const auto& a : all) {
      if (a.count(k)) values.insert(a.at(k));
    }
    if (values.size() > 1 && !named) differ.push_back(k);
  }
  std::stable_partition(differ.begin(), differ.end(), [](const std::string& k) { return k == "optimizer.lr"; });
  std::vector<std::string> out;
  for (const auto& a : all) {
    std::string line;
    for (const auto& k : differ) {
      if (!a.count(k)) continue;
      const std::string shown = k.rfind("optimizer.", 0) == 0 ? k.substr(10) : k;
      line += (line.empty() ? "" : " ") + shown + "=" + a.at(k);
    }
    out.push_back(line);
  }
  return out;
}

// Trains the variants, `jobs` at a time, each on its share of the threads (one job: each as
// `symgrad train` would). The outcomes in the variants' order; the first variant's error, if any,
// once every running variant has ended.
std::vector<RunOutcome> train_variants(const std::vector<Experiment>& variants, const std::vector<std::string>& labels,
                                       int jobs) {
  std::vector<RunOutcome> outcomes(variants.size());
  if (jobs == 1) {
    for (std::size_t i = 0; i < variants.size(); ++i) {
      fmt::print("{} ...\n", labels[i]);
      std::cout.flush();
      outcomes[i] = run_experiment(variants[i], false, false);
      if (outcomes[i].interrupted) break;
    }
    return outcomes;
  }
  apply_thread_environment();  // SYMGRAD_NUM_THREADS, here, before the workers set their own counts
  const int total = num_threads();
  const auto workers = static_cast<std::size_t>(std::min<std::size_t>(static_cast<std::size_t>(jobs), variants.size()));
  ThreadShare share;
  share.threads = std::max(1, total / static_cast<int>(workers));
  share.why = fmt::format("compare --jobs {}: {} of {} threads", jobs, share.threads, total);
  fmt::print("{} variants at once, {} thread{} each\n", workers, share.threads, share.threads == 1 ? "" : "s");
  std::atomic<std::size_t> next{0};
  std::vector<std::exception_ptr> errors(variants.size());
  std::mutex print;
  auto work = [&] {
    for (std::size_t i = next++; i < variants.size(); i = next++) {
      {
        const std::lock_guard lock(print);
        fmt::print("{} ...\n", labels[i]);
        std::cout.flush();
      }
      try {
        outcomes[i] = run_experiment(variants[i], false, false, nullptr, &share);
      } catch (...) {
        errors[i] = std::current_exception();
        next = variants.size();  // start no more
      }
    }
  };
  std::vector<std::thread> threads;
  for (std::size_t w = 0; w < workers; ++w) threads.emplace_back(work);
  for (auto& t : threads) t.join();
  for (const auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
  return outcomes;
}

// One --vary: a key and the values it takes.
struct Axis {
  std::string key;
  std::vector<std::string> values;
};

Axis parse_vary(const std::string& vary) {
  const auto eq = vary.find('=');
  if (eq == std::string::npos || eq == 0) throw UsageError(fmt::format("--vary '{}': expected KEY=V1,V2,...", vary));
  Axis axis{vary.substr(0, eq), split(vary.substr(eq + 1), ',')};
  for (const auto& v : axis.values) {
    if (v.empty()) throw UsageError(fmt::format("--vary '{}': an empty value", vary));
  }
  return axis;
}

using Choices = std::vector<std::pair<std::string, std::string>>;  // (key, value) of each --vary

// The variants: every combination of the axes' values, the first --vary varying slowest; with
// `zip`, the i-th value of every axis together (the axes must then have as many values each).
std::vector<Choices> combinations(const std::vector<Axis>& axes, bool zip) {
  std::vector<Choices> out;
  if (zip) {
    for (const auto& a : axes) {
      if (a.values.size() != axes.front().values.size()) {
        throw UsageError(fmt::format("--zip pairs the values of each --vary: {} has {} values, {} has {}",
                                     axes.front().key, axes.front().values.size(), a.key, a.values.size()));
      }
    }
    for (std::size_t i = 0; i < axes.front().values.size(); ++i) {
      Choices c;
      for (const auto& a : axes) c.emplace_back(a.key, a.values[i]);
      out.push_back(std::move(c));
    }
  } else {
    out.emplace_back();
    for (const auto& a : axes) {
      std::vector<Choices> next;
      for (const auto& c : out) {
        for (const auto& v : a.values) {
          next.push_back(c);
          next.back().emplace_back(a.key, v);
        }
      }
      out = std::move(next);
    }
  }
  if (out.size() < 2) throw UsageError("--vary needs at least two values to compare");
  return out;
}

// "batch_size=32,optimizer.lr=0.1": a variant's label and the name of its folder.
std::string label_of(const Choices& c) {
  std::string out;
  for (const auto& [k, v] : c) out += (out.empty() ? "" : ",") + k + "=" + v;
  return out;
}

// A variant's folder inside the comparison's: its label with '%' and '/' percent-encoded, so that
// a value holding a path (data.train_csv=../b.csv) names one folder there and nothing outside it.
std::string folder_name(const std::string& label) {
  std::string out;
  for (const char ch : label) out += ch == '%' ? "%25" : ch == '/' ? "%2F" : std::string(1, ch);
  return out;
}

// The variants side by side: their last epoch's figures (early stopping's restored epoch's), the
// test metric, the seconds and the settings that differ between them.
void print_table(const std::vector<Experiment>& variants, const std::vector<std::string>& labels,
                 const std::vector<RunOutcome>& outcomes) {
  const std::string metric = outcomes.front().test.metric;  // accuracy, or rmse (a regression)
  const std::string m = metric == "accuracy" ? "acc" : metric;
  const std::vector<std::string> settings = differing_settings(variants);
  const bool any_differ = std::any_of(settings.begin(), settings.end(), [](const std::string& s) { return !s.empty(); });
  fmt::print("\n{:36} {:>10} {:>10} {:>10} {:>10} {:>10} {:>9}  {}\n", "variant", "train loss", "train " + m, "val loss",
             "val " + m, "test " + m, "seconds", any_differ ? "settings that differ" : "");
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    const auto& o = outcomes[i];
    EpochRecord last = o.records.empty() ? EpochRecord{} : o.records.back();
    std::string variant = labels[i];
    if (o.restored_epoch > 0) {  // early stopping's restored weights: every figure of that epoch
      last.train_loss = o.train.loss, last.train_accuracy = o.train.accuracy;
      last.val_loss = o.validation.loss, last.val_accuracy = o.validation.accuracy;
      variant += fmt::format(" (epoch {} of {})", o.restored_epoch, o.records.back().epoch);
    }
    fmt::print("{:36} {:>10.4f} {:>10.4f} {:>10.4f} {:>10.4f} {:>10.4f} {:>9.1f}  {}\n", variant, last.train_loss,
               last.train_accuracy, last.val_loss, last.val_accuracy, o.test.accuracy, o.seconds, settings[i]);
  }
}

// Host-driven optimizers (newton, cg, bfgs, lbfgs): what their iterations cost in evaluations of
// the full-batch objective (cumulative counts in each run's metrics-steps.csv).
void print_objective_calls(const std::vector<std::string>& labels, const std::vector<RunOutcome>& outcomes) {
  namespace fs = std::filesystem;
  bool heading = false;
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    const std::string steps_csv = (fs::path(outcomes[i].dir) / "metrics-steps.csv").string();
    const auto gradients = metrics_column(steps_csv, "gradient_calls");
    if (gradients.empty()) continue;
    if (!heading) fmt::print("\nobjective evaluations over the whole training set (host-driven optimizers):\n");
    heading = true;
    auto last = [&](const char* c) {
      const auto v = metrics_column(steps_csv, c);
      return v.empty() ? 0.0 : v.back();
    };
    fmt::print("{:36} {} iterations: {:.0f} values with gradients, {:.0f} values, {:.0f} Hessian-vector products, "
               "{:.0f} Hessians\n",
               labels[i], gradients.size(), gradients.back(), last("value_calls"), last("hvp_calls"), last("hessian_calls"));
  }
}

// The comparison's pictures in `dir`: the decision boundaries of 2-D classifiers, the validation
// loss and metric against `x` (epoch, step or elapsed), and each extension's step values.
std::string draw_comparison(const std::filesystem::path& dir, const std::string& title, const std::string& x,
                            const std::vector<std::string>& labels, const std::vector<RunOutcome>& outcomes) {
  namespace fs = std::filesystem;
  std::string files;
  std::vector<Boundary> panels;
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    if (!outcomes[i].boundary) break;
    panels.push_back(*outcomes[i].boundary);
    panels.back().label = labels[i];
  }
  if (panels.size() == outcomes.size()) {
    plot_boundaries((dir / "boundaries.svg").string(), title + ": decision boundaries", panels);
    files += (dir / "boundaries.svg").string() + ", ";
  }
  std::vector<CurveRun> curves, steps;
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    curves.push_back({labels[i], (fs::path(outcomes[i].dir) / "metrics-epochs.csv").string()});
    steps.push_back({labels[i], (fs::path(outcomes[i].dir) / "metrics-steps.csv").string()});
  }
  const std::string metric = outcomes.front().test.metric;
  const std::string loss_plot = comparison_file(dir.string(), "val_loss", x),
                    metric_plot = comparison_file(dir.string(), "val_" + metric, x);
  plot_curves(loss_plot, title + ": validation loss", "loss", curves, {"val_loss"}, x);
  plot_curves(metric_plot, fmt::format("{}: validation {}", title, metric), metric, curves, {"val_" + metric}, x);
  files += loss_plot + ", " + metric_plot;
  for (const auto& [extension, columns] : step_reports(steps.front().epochs_csv, curves.front().epochs_csv)) {
    const fs::path plot = dir / (extension + ".svg");
    plot_panels(plot.string(), fmt::format("{}: reported by {}", title, extension), steps, columns);
    files += ", " + plot.string();
  }
  return files;
}

}  // namespace

int compare_command(const std::vector<std::string>& args) {
  po::options_description opts(
      "usage: symgrad compare EXPERIMENT.toml --vary KEY=V1,V2,... [--vary ...] [--zip] [--x AXIS] [--set key=value ...]\n"
      "                       [--output DIR] [--jobs N]\n"
      "Trains a variant of the experiment for each value of KEY (into DIR/KEY=VALUE, a / in it written\n"
      "%2F; DIR defaults to the experiment's output + \"-compare\"), prints them side by side and draws val_loss.svg and\n"
      "val_accuracy.svg comparing them. A component's value may carry settings after ':', separated by\n"
      "';': --vary optimizer=sgd,sgd:momentum=0.9,adam:lr=0.01. --vary strategy=none,polyak (or regularizer=...)\n"
      "runs each variant with just that one table of the kind. Several --vary: every combination of their\n"
      "values (DIR/K1=V1,K2=V2), or with --zip the first values together, the second together, ...:\n"
      "--vary batch_size=1,32,800 --vary optimizer.lr=0.01,0.1,0.5 --zip. --x step or --x elapsed draws\n"
      "the curves against optimizer steps or seconds since training began (val_loss-step.svg, ...:\n"
      "runs of different batch sizes) instead of epochs. --jobs N trains N variants at once, the threads (SYMGRAD_NUM_THREADS, else the\n"
      "cores) split between them. Options");
  std::vector<std::string> sets, varies;
  std::string output, x = "epoch";
  int jobs = 1;
  bool zip = false;
  opts.add_options()("help,h", "this help")("vary", po::value(&varies), "KEY=V1,V2,... (required; repeatable)")(
      "zip", po::bool_switch(&zip), "pair the values of several --vary instead of combining them")(
      "x", po::value(&x), "the plots' x axis: epoch (default), step or elapsed")(
      "set", po::value(&sets), "override a key in every variant (repeatable)")("output", po::value(&output), "the folder")(
      "jobs", po::value(&jobs), "variants trained at once (default 1)");
  std::string file;
  po::variables_map vm;
  if (parse_with_positional(args, opts, vm, "experiment", file, "compare")) return kOk;
  if (varies.empty()) throw UsageError("--vary KEY=V1,V2,... is required");
  std::vector<Axis> axes;
  for (const auto& v : varies) axes.push_back(parse_vary(v));
  if (zip && axes.size() < 2) throw UsageError("--zip pairs the values of several --vary; there is one");
  check_epochs_axis("--x", x);
  if (jobs < 1) throw UsageError(fmt::format("--jobs must be at least 1, got {}", jobs));
  const std::vector<Choices> chosen = combinations(axes, zip);
  const Experiment base = load_experiment(file, sets);
  namespace fs = std::filesystem;
  const fs::path dir = new_run_folder(output.empty() ? base.output + "-compare" : output, !output.empty());
  const RunFolderLock lock(dir.string());
  std::vector<Experiment> variants;  // all checked before any training
  std::vector<std::string> labels;
  for (const auto& c : chosen) {
    std::vector<std::string> s = sets;
    for (const auto& [key, value] : c) {
      for (const auto& extra : variant_sets(key, value, base)) s.push_back(extra);
    }
    labels.push_back(label_of(c));
    s.push_back("output=" + (dir / folder_name(labels.back())).string());
    variants.push_back(load_experiment(file, s));
  }
  const std::vector<RunOutcome> outcomes = train_variants(variants, labels, jobs);
  for (const auto& o : outcomes) {
    if (o.interrupted) return 130;
  }
  print_table(variants, labels, outcomes);
  print_objective_calls(labels, outcomes);
  std::string by;
  for (const auto& a : axes) by += (by.empty() ? "" : zip ? " with " : " and ") + a.key;
  const std::string files = draw_comparison(dir, fmt::format("{} by {}", base.name, by), x, labels, outcomes);
  fmt::print("\nruns in {}; plots: {}\n", dir.string(), files);
  return kOk;
}

}  // namespace symgrad::cli
