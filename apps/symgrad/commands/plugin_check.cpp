// symgrad plugins check PLUGIN: loads a plugin (a path, or a name on the search path) in a child
// process and exercises every component it registers: an op's first and second derivatives on its
// samples, an initializer's first values, an optimizer's step (or a host-driven one's iteration) on
// 1/2 |w|^2, a regularizer's or strategy's epoch in a small trainer. The parent reports what
// passed, what failed and, when the plugin crashes the child, the signal and what it was doing.

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>

#include <fmt/format.h>

#include "../command.hpp"
#include "symgrad/core/error.hpp"
#include "symgrad/data/synthetic.hpp"
#include "symgrad/graph/op_registry.hpp"
#include "symgrad/plugin/registry.hpp"
#include "symgrad/symgrad.hpp"
#include "symgrad/plugin/objective.hpp"
#include "symgrad/train/trainer.hpp"

namespace symgrad::cli {

namespace {

// The child: runs every check, printing one line each; says what it is doing on `progress`.
int exercise(const std::string& target, int progress) {
  auto doing = [&](const std::string& what) {
    const std::string line = what + "\n";
    [[maybe_unused]] auto n = ::write(progress, line.data(), line.size());
  };
  int failed = 0, checks = 0;
  auto check = [&](const std::string& what, auto&& f) {
    doing(what);
    ++checks;
    try {
      const std::string problem = f();
      fmt::print("  {}: {}\n", what, problem.empty() ? "ok" : "FAIL: " + problem);
      failed += problem.empty() ? 0 : 1;
    } catch (const std::exception& e) {
      fmt::print("  {}: FAIL: {}\n", what, e.what());
      ++failed;
    }
    std::fflush(stdout);
  };
  auto& registry = PluginRegistry::global();
  doing("loading the plugin");
  const PluginInfo& info = registry.load(target);
  fmt::print("plugin '{}' {} ({})\n", info.name, info.version, info.file);
  std::fflush(stdout);
  for (const auto& component : info.components) {
    const ComponentKind kind = component.first;
    const std::string& name = component.second;  // (clang 14 does not capture structured bindings)
    const std::string label = fmt::format("{} '{}'", to_string(kind), name);
    switch (kind) {
      case ComponentKind::op: {
        const OpDef& op = OpRegistry::global().get(name);
        for (const auto& s : op.samples()) {
          if (!op.formula.empty()) {
            check(fmt::format("{}: its formula against its reference kernel on sample {}", label, s.label), [&] {
              const auto r = check_formula_op(op, s);
              return r.passed ? std::string() : r.describe(name, s.label);
            });
          }
          check(fmt::format("{}: first derivatives on sample {}", label, s.label), [&] {
            const auto r = gradcheck_op(op, s);
            return r.passed ? std::string() : r.to_string();
          });
          if (!s.second_order) continue;
          check(fmt::format("{}: second derivatives on sample {}", label, s.label), [&] {
            const auto r = gradgradcheck_op(op, s);
            return r.passed ? std::string() : r.to_string();
          });
        }
        break;
      }
      case ComponentKind::initializer:
        check(fmt::format("{}: first values of a [4, 3] weight", label), [&] {
          const Tensor t = registry.make_initializer(name)->initial_value(
              InitRequest{"check/W", {DType::f64, Shape{4, 3}}, 4, 3, 1});
          for (double v : t.to_vector()) {
            if (!std::isfinite(v)) return std::string("a value is not finite");
          }
          return std::string();
        });
        break;
      case ComponentKind::optimizer:
        check(fmt::format("{}: one step on 1/2 |w|^2", label), [&] {
          Graph g;
          Value w = g.variable("w", {DType::f64, Shape{3}});
          Value loss = 0.5 * sum(square(w));
          VariableStore store;
          store.set("w", Tensor::from(DType::f64, Shape{3}, {1, -2, 0.5}));
          if (registry.get(ComponentKind::optimizer, name).host_driven) {
            GraphObjective f(g, loss, {w}, store);
            std::vector<double> x = f.current();
            const double fx = registry.make_host_optimizer(name)->iterate(f, x);
            return std::isfinite(fx) ? std::string() : fmt::format("the objective became {}", fx);
          }
          CompileOptions o;
          o.updates = build_optimizer_step(name, {}, {}, g, {w}, gradients(loss, {w}), store).updates;
          compile(g, {loss}, o).run({}, &store);
          for (double v : store.get("w").to_vector()) {
            if (!std::isfinite(v)) return std::string("a parameter is not finite after the step");
          }
          return std::string();
        });
        break;
      case ComponentKind::loss:
        check(fmt::format("{}: first derivatives of its mean over a batch", label), [&] {
          const auto r = gradcheck_loss(*registry.make_loss(name));
          return r.passed ? std::string() : r.to_string();
        });
        break;
      case ComponentKind::regularizer:
      case ComponentKind::strategy:
        check(fmt::format("{}: an epoch of a small network on the moons", label), [&] {
          TrainerOptions o;
          o.epochs = 1;
          o.optimizer = "sgd";
          o.optimizer_settings = {{"lr", 0.1}};
          Sequential m;
          m.dense(8, "relu").dense(2);
          Trainer t(m, {DType::f32, Shape{2}}, 2, o);
          std::unique_ptr<Extension> e;
          if (kind == ComponentKind::regularizer) {
            e = registry.make_regularizer(name);
          } else {
            e = registry.make_strategy(name);
          }
          t.add(*e, name);
          const double loss = t.fit(make_moons(64, 0.2, 1)).back().train_loss;
          return std::isfinite(loss) ? std::string() : fmt::format("the loss is {}", loss);
        });
        break;
    }
  }
  fmt::print("\n{} checks, {} passed, {} failed\n", checks, checks - failed, failed);
  std::fflush(stdout);
  return failed ? kFailed : kOk;
}

}  // namespace

int plugin_check_command(const std::string& target) {
  fmt::print("checking {} in a child process\n", target);
  std::fflush(stdout);
  int fds[2];
  if (::pipe(fds) != 0) throw Error(fmt::format("cannot make a pipe: {}", std::strerror(errno)));
  const pid_t pid = ::fork();
  if (pid < 0) throw Error(fmt::format("cannot start a child process: {}", std::strerror(errno)));
  if (pid == 0) {  // the child: never returns into the caller
    ::close(fds[0]);
    int status = kFailed;
    try {
      status = exercise(target, fds[1]);
    } catch (const std::exception& e) {
      fmt::print("{}\n", e.what());
    }
    std::fflush(stdout);
    ::_exit(status);
  }
  ::close(fds[1]);
  std::string progress;
  char buf[512];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) progress.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (WIFSIGNALED(status)) {  // the plugin crashed the child: what was it doing?
    const auto end = progress.find_last_not_of('\n');
    const auto begin = progress.rfind('\n', end);
    const std::string what = end == std::string::npos ? "starting" : progress.substr(begin == std::string::npos ? 0 : begin + 1, end - (begin == std::string::npos ? 0 : begin + 1) + 1);
    fmt::print("plugin crashed: signal {} ({}) while {}\n", WTERMSIG(status), ::strsignal(WTERMSIG(status)), what);
    return kFailed;
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? kOk : kFailed;
}

}  // namespace symgrad::cli
