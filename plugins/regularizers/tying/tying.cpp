// tying: soft parameter tying (Goodfellow, Bengio and Courville, "Deep Learning", section 7.9;
// Lasserre, Bishop and Minka 2006): the penalty
//   lambda sum_i ||A_i - B_i||^2
// pulls the parameters matching `a` towards those matching `b`, paired in the order of their names
// (dense2/W with dense3/W, ...); each pair must have one shape. Hard sharing (one variable used in
// several places) needs no regularizer: see the tied autoencoder example (apps/examples).
#include <symgrad/plugin/plugin.hpp>

namespace {

using namespace symgrad;

class Tying final : public Regularizer {
 public:
  explicit Tying(const Hyperparams& h) : lambda_(h.real("lambda")), a_(h.string("a")), b_(h.string("b")) {}

  Value penalty(const PenaltyContext& ctx) override {
    std::vector<const NamedParam*> as, bs;
    for (const auto& p : ctx.params) {
      if (name_matches(a_, p.name)) as.push_back(&p);
      else if (name_matches(b_, p.name)) bs.push_back(&p);
    }
    if (as.empty() || as.size() != bs.size()) {
      throw UsageError("tying pairs '" + a_ + "' with '" + b_ + "': " + std::to_string(as.size()) + " and " +
                       std::to_string(bs.size()) + " parameters match (at least one each, as many)");
    }
    Value total;
    for (std::size_t i = 0; i < as.size(); ++i) {
      if (as[i]->value.type() != bs[i]->value.type()) {
        throw UsageError("tying '" + as[i]->name + "' (" + as[i]->value.type().to_string() + ") with '" + bs[i]->name +
                         "' (" + bs[i]->value.type().to_string() + "): the shapes differ");
      }
      Value d = sum(square(as[i]->value - bs[i]->value));
      total = total.valid() ? total + d : d;
    }
    return lambda_ * total;
  }

 private:
  double lambda_;
  std::string a_, b_;
};

void register_components(PluginRegistrar& r) {
  r.add_regularizer("tying", "lambda sum ||A - B||^2: soft tying of two sets of parameters",
                    Schema{real_param("lambda", 1e-2, "strength").at_least(0),
                           string_param("a", "dense2/W", "the first set (a glob over names)"),
                           string_param("b", "dense3/W", "the second set, paired with the first in name order")},
                    [](const Hyperparams& h) { return std::make_unique<Tying>(h); });
}

}  // namespace

SYMGRAD_PLUGIN("tying", "1.0.0", register_components)
