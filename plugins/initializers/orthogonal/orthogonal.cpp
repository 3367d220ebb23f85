// orthogonal: a (semi-)orthogonal matrix times `gain` (Saxe, McClelland and Ganguli, "Exact
// solutions to the nonlinear dynamics of learning in deep linear neural networks", ICLR 2014;
// torch.nn.init.orthogonal_). A parameter is seen as a matrix [rows = its first dimension, the
// rest flattened]; a Gaussian matrix is orthonormalized (modified Gram-Schmidt, in double) along its
// longer side, so the shorter side's vectors are orthonormal: W^T W = gain^2 I for a dense W
// [in, units] with in >= units, W W^T = gain^2 I otherwise.
#include <cmath>
#include <vector>

#include <symgrad/core/random.hpp>
#include <symgrad/plugin/plugin.hpp>

namespace {

using namespace symgrad;

class Orthogonal final : public Initializer {
 public:
  explicit Orthogonal(const Hyperparams& h) : gain_(h.real("gain")) {}

  Tensor initial_value(const InitRequest& q) override {
    Tensor t(q.type);
    const std::int64_t rows = q.type.shape.rank() == 0 ? 1 : q.type.shape[0];
    const std::int64_t cols = rows == 0 ? 0 : t.numel() / rows;
    // orthonormal vectors of length `len`, `count` of them (count <= len)
    const bool by_cols = rows >= cols;  // columns of length rows, or rows of length cols
    const std::int64_t len = by_cols ? rows : cols, count = by_cols ? cols : rows;
    Random rng(derive_seed(q.seed, q.name));
    std::vector<std::vector<double>> v(static_cast<std::size_t>(count), std::vector<double>(static_cast<std::size_t>(len)));
    for (auto& vec : v) {
      for (double& x : vec) x = rng.normal();
    }
    for (std::size_t i = 0; i < v.size(); ++i) {  // modified Gram-Schmidt
      for (std::size_t j = 0; j < i; ++j) {
        double d = 0;
        for (std::int64_t k = 0; k < len; ++k) d += v[i][static_cast<std::size_t>(k)] * v[j][static_cast<std::size_t>(k)];
        for (std::int64_t k = 0; k < len; ++k) v[i][static_cast<std::size_t>(k)] -= d * v[j][static_cast<std::size_t>(k)];
      }
      double n = 0;
      for (double x : v[i]) n += x * x;
      n = std::sqrt(n);
      for (double& x : v[i]) x /= n;
    }
    for (std::int64_t r = 0; r < rows; ++r) {
      for (std::int64_t c = 0; c < cols; ++c) {
        const double x = by_cols ? v[static_cast<std::size_t>(c)][static_cast<std::size_t>(r)]
                                 : v[static_cast<std::size_t>(r)][static_cast<std::size_t>(c)];
        t.set(r * cols + c, gain_ * x);
      }
    }
    return t;
  }

 private:
  double gain_;
};

void register_components(PluginRegistrar& r) {
  r.add_initializer("orthogonal", "a (semi-)orthogonal matrix times gain (Saxe et al. 2014; torch.nn.init.orthogonal_)",
                    Schema{real_param("gain", 1.0, "scale").greater_than(0)},
                    [](const Hyperparams& h) { return std::make_unique<Orthogonal>(h); });
}

}  // namespace

SYMGRAD_PLUGIN("orthogonal", "1.0.0", register_components)
