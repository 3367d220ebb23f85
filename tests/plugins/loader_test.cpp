// The plugin loader with real libraries: the built-in sgd plugin (found by name beside the
// framework's library), and fixtures broken one way each (tests/plugins/fixtures). Every failure
// is a PluginError that names the file and what is wrong, and leaves the registry as it was.

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "symgrad/plugin/plugin.hpp"  // SYMGRAD_TOOLCHAIN
#include "symgrad/plugin/registry.hpp"
#include "symgrad/symgrad.hpp"

namespace symgrad {
namespace {

const std::string kFixtures = SYMGRAD_TEST_FIXTURES;

std::string fixture(const std::string& name) { return kFixtures + "/symgrad-" + name + ".so"; }

// The message of the PluginError that `f` throws ("" if none).
template <class F>
std::string plugin_error(F f) {
  try {
    f();
  } catch (const PluginError& e) {
    return e.what();
  }
  return "";
}

#define EXPECT_HAS(text, part) EXPECT_NE((text).find(part), std::string::npos) << (text)

// First in this file: it needs a process that has not loaded sgd yet (CTest runs each test in a
// process of its own; a run of the whole binary reaches this test first).
TEST(PluginLoader, ComponentsLoadTheirPluginOnFirstUse) {
  auto& r = PluginRegistry::global();
  EXPECT_EQ(r.find(ComponentKind::optimizer, "sgd"), nullptr);
  EXPECT_EQ(r.learning_rate("sgd", {{"lr", 0.5}}), 0.5);  // the framework reads the lr setting
  EXPECT_FALSE(r.get(ComponentKind::optimizer, "sgd").host_driven);
  EXPECT_NE(r.find(ComponentKind::optimizer, "sgd"), nullptr);
}

TEST(PluginLoader, LoadsTheBuiltInSgdByNameOnce) {
  auto& r = PluginRegistry::global();
  const PluginInfo& a = r.load("sgd");
  EXPECT_EQ(a.name, "sgd");
  EXPECT_EQ(a.version, "1.0.0");
  EXPECT_HAS(a.file, "lib/symgrad/plugins/symgrad-sgd.so");
  ASSERT_EQ(a.components.size(), 2u);  // sgd, and momentum (sgd with momentum 0.9)
  EXPECT_EQ(a.components[0], (std::pair{ComponentKind::optimizer, std::string("sgd")}));
  EXPECT_EQ(a.components[1], (std::pair{ComponentKind::optimizer, std::string("momentum")}));
  const std::size_t loaded = r.plugins().size();
  const PluginInfo& b = r.load(a.file);  // the same file again, by path: a no-op
  EXPECT_EQ(&a, &b);
  EXPECT_EQ(r.plugins().size(), loaded);
  const ComponentInfo* c = r.find(ComponentKind::optimizer, "sgd");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->plugin, "sgd");
  EXPECT_NE(c->schema.find("nesterov"), nullptr);
}

TEST(PluginLoader, UnknownNameListsWhatIsAvailableAndWhereItLooked) {
  const std::string e = plugin_error([] { PluginRegistry::global().load("sdg"); });
  EXPECT_HAS(e, "no plugin named 'sdg' (did you mean 'sgd'?)");
  EXPECT_HAS(e, "symgrad-sdg.so");
  EXPECT_HAS(e, "lib/symgrad/plugins");  // where it looked
  EXPECT_HAS(e.substr(e.find("available: ")), "sgd");
  try {
    PluginRegistry::global().make_update_rule("adamm");
    FAIL();
  } catch (const UsageError& u) {
    EXPECT_HAS(std::string(u.what()), "unknown optimizer 'adamm'");
  }
}

TEST(PluginLoader, SearchPathTakesExtraDirsAndTheEnvironment) {
  ::setenv("SYMGRAD_PLUGIN_PATH", (kFixtures + ":/nonexistent").c_str(), 1);
  const auto dirs = PluginRegistry::global().search_path({"/first"});
  ASSERT_GE(dirs.size(), 4u);
  EXPECT_EQ(dirs[0], "/first");
  EXPECT_EQ(dirs[1], kFixtures);
  EXPECT_EQ(dirs[2], "/nonexistent");
  const std::string e = plugin_error([] { PluginRegistry::global().load("unresolved"); });  // found by name there
  EXPECT_HAS(e, fixture("unresolved"));
  ::unsetenv("SYMGRAD_PLUGIN_PATH");
}

TEST(PluginLoader, NotASharedLibrary) {
  const auto path = std::filesystem::temp_directory_path() / "symgrad-not_a_library.so";
  std::ofstream(path) << "this is text, not ELF\n";
  const std::string e = plugin_error([&] { PluginRegistry::global().load(path.string()); });
  EXPECT_HAS(e, path.string());
  EXPECT_HAS(e, "it is not a shared library");
  std::filesystem::remove(path);
}

TEST(PluginLoader, MissingEntrySymbol) {
  const std::string e = plugin_error([] { PluginRegistry::global().load(fixture("no_entry")); });
  EXPECT_HAS(e, "is not a symgrad plugin: it exports no 'symgrad_plugin_entry'");
  EXPECT_HAS(e, fixture("no_entry"));
}

TEST(PluginLoader, AbiMismatchPrintsBothVersions) {
  const std::string e = plugin_error([] { PluginRegistry::global().load(fixture("abi_mismatch")); });
  EXPECT_HAS(e, fmt::format("plugin ABI version {}, this symgrad has version {}", SYMGRAD_PLUGIN_ABI_VERSION + 998,
                            SYMGRAD_PLUGIN_ABI_VERSION));
}

// An older plugin is told what changed since its version, so its author knows what to rewrite.
TEST(PluginLoader, AnOlderAbiIsToldWhatChanged) {
  const std::string e = plugin_error([] { PluginRegistry::global().load(fixture("abi_old")); });
  EXPECT_HAS(e, fmt::format("plugin ABI version {}, this symgrad has version {}: rebuild it against this SDK; what "
                            "changed since:\n  ABI {}: ",
                            SYMGRAD_PLUGIN_ABI_VERSION - 1, SYMGRAD_PLUGIN_ABI_VERSION, SYMGRAD_PLUGIN_ABI_VERSION));
  EXPECT_HAS(e, "Extension::penalty(const PenaltyContext&)");
}

TEST(PluginLoader, ToolchainMismatchPrintsBoth) {
  const std::string e = plugin_error([] { PluginRegistry::global().load(fixture("toolchain_mismatch")); });
  EXPECT_HAS(e, "plugin: othercc 99, libc++ 1 cxx11-abi=0");
  EXPECT_HAS(e, std::string("host:   ") + SYMGRAD_TOOLCHAIN);
}

TEST(PluginLoader, UnresolvedSymbol) {
  const std::string e = plugin_error([] { PluginRegistry::global().load(fixture("unresolved")); });
  EXPECT_HAS(e, "it has an unresolved symbol");
  EXPECT_HAS(e, "symgrad_fixture_function_nobody_defines");
}

TEST(PluginLoader, DuplicateComponentNamesBothFilesAndRegistersNothing) {
  auto& r = PluginRegistry::global();
  const std::string sgd_file = r.load("sgd").file;
  const std::string e = plugin_error([] { PluginRegistry::global().load(fixture("duplicate_sgd")); });
  EXPECT_HAS(e, fixture("duplicate_sgd"));
  EXPECT_HAS(e, "optimizer 'sgd' is already registered by plugin 'sgd' (" + sgd_file + ")");
  EXPECT_EQ(r.find(ComponentKind::optimizer, "keeps_params"), nullptr);  // rolled back
  for (const auto* p : r.plugins()) EXPECT_NE(p->name, "duplicate_sgd");
}

TEST(PluginLoader, ThrowDuringRegistrationRegistersNothing) {
  auto& r = PluginRegistry::global();
  const std::string e = plugin_error([] { PluginRegistry::global().load(fixture("throws_on_register")); });
  EXPECT_HAS(e, "plugin 'throws_on_register'");
  EXPECT_HAS(e, "threw during registration: cannot find my configuration file");
  EXPECT_EQ(r.find(ComponentKind::optimizer, "staged_then_dropped"), nullptr);
  for (const auto* p : r.plugins()) EXPECT_NE(p->name, "throws_on_register");
}

// A component that throws later is reported with its plugin and what it was doing; the store is
// as it was and the host goes on (here: another optimizer builds the same step fine).
TEST(PluginLoader, ThrowsLaterAreCaughtAtTheBoundary) {
  auto& r = PluginRegistry::global();
  r.load(fixture("throws_later"));
  Graph g;
  auto ok = g.variable("ok", {DType::f64, Shape{2}});
  auto bad = g.variable("bad_w", {DType::f64, Shape{2}});
  auto loss = sum(square(ok)) + sum(square(bad));
  auto grads = gradients(loss, {ok, bad});
  VariableStore store;
  store.set("ok", Tensor::from(DType::f64, Shape{2}, {1, 2}));
  store.set("bad_w", Tensor::from(DType::f64, Shape{2}, {3, 4}));
  auto picky = r.make_update_rule("picky");
  const std::string e = plugin_error([&] { build_optimizer_step(*picky, "picky", 0.1, g, {ok, bad}, grads, store); });
  EXPECT_HAS(e, "optimizer 'picky' of plugin 'throws_later'");
  EXPECT_HAS(e, "failed while building the update of 'bad_w': no update rule for bad_w");
  EXPECT_EQ(store.names(), (std::vector<std::string>{"bad_w", "ok"}));  // no slot, lr or step left behind

  const OptimizerStep step = build_optimizer_step("sgd", {{"lr", 0.25}}, {}, g, {ok, bad}, grads, store);
  CompileOptions o;
  o.updates = step.updates;
  compile(g, {loss}, o).run({}, &store);
  EXPECT_EQ(store.get("ok").to_vector(), (std::vector<double>{0.5, 1.0}));  // w - 0.25 * 2w

  // an op whose kernel throws at run time: the plan's run reports the plugin and the node
  auto x = g.input("x", {DType::f64, Shape{3}});
  auto y = g.apply1("fragile", {x});
  Plan p = compile(g, {y});
  EXPECT_EQ(p.run({{"x", Tensor::from(DType::f64, Shape{3}, {1, 2, 3})}})[0].to_vector(),
            (std::vector<double>{1, 2, 3}));
  const std::string k = plugin_error([&] { p.run({{"x", Tensor::from(DType::f64, Shape{3}, {1, 13, 3})}}); });
  EXPECT_HAS(k, "op 'fragile' of plugin 'throws_later'");
  EXPECT_HAS(k, "failed while running its reference kernel at node");
  EXPECT_HAS(k, "unlucky number at element 1");
}

TEST(PluginLoader, InitializersAndRegularizersAreGuardedToo) {
  auto& r = PluginRegistry::global();
  r.load(fixture("throws_later"));
  auto init = r.make_initializer("wrong_shape");
  const std::string e = plugin_error([&] {
    init->initial_value(InitRequest{"dense1/W", {DType::f32, Shape{3, 2}}, 3, 2, 7});
  });
  EXPECT_HAS(e, "initializer 'wrong_shape' of plugin 'throws_later'");
  EXPECT_HAS(e, "made f32[1] for 'dense1/W', which is f32[3, 2]");

  auto reg = r.make_regularizer("explosive");
  Graph g;
  auto w = g.variable("w", {DType::f32, Shape{2}});
  EXPECT_HAS(plugin_error([&] { reg->penalty(PenaltyContext(g, {{"w", w}})); }), "failed while building its penalty: no penalty today");
  TrainEvent ev;
  ev.epoch = 3;
  EXPECT_HAS(plugin_error([&] { reg->on_epoch_end(ev); }),
             "regularizer 'explosive' of plugin 'throws_later'");
  EXPECT_HAS(plugin_error([&] { reg->on_epoch_end(ev); }), "running its callback on_epoch_end: epoch 3 was one too many");
  EXPECT_NO_THROW(reg->on_epoch_begin(ev));  // the hooks it does not override do nothing
  EXPECT_EQ(reg->project({"w", w}, w), w);

  // something thrown that is not an exception, and first values that are not finite
  auto thrower = r.make_regularizer("throws_an_int");
  EXPECT_HAS(plugin_error([&] { thrower->on_epoch_end(ev); }), "regularizer 'throws_an_int' of plugin 'throws_later'");
  auto nan = r.make_initializer("not_finite");
  EXPECT_HAS(plugin_error([&] { nan->initial_value(InitRequest{"dense1/W", {DType::f32, Shape{3, 2}}, 3, 2, 7}); }),
             "gave 'dense1/W' the value nan at element 5: first values must be finite");
}

}  // namespace
}  // namespace symgrad
