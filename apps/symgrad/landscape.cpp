#include "landscape.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "symgrad/plugin/vectors.hpp"

namespace symgrad::cli {

Dataset sample(const Dataset& d, std::int64_t n, std::uint64_t seed) {
  if (n <= 0 || n >= d.size()) return d;
  std::vector<std::int64_t> index(static_cast<std::size_t>(d.size()));
  std::iota(index.begin(), index.end(), 0);
  std::mt19937_64 rng(seed);
  std::shuffle(index.begin(), index.end(), rng);
  index.resize(static_cast<std::size_t>(n));
  std::sort(index.begin(), index.end());
  return d.gather(index);
}

std::vector<double> filter_normalized(const std::vector<Trainer::Parameter>& params, const std::vector<double>& trained,
                                      const std::vector<double>& u, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  std::vector<double> d(trained.size(), 0.0);
  std::size_t at = 0;
  for (const auto& p : params) {
    const auto n = static_cast<std::size_t>(p.shape.numel());
    if (p.weight) {
      const bool columns = p.shape.rank() == 2;  // else slices along the first axis
      const std::size_t filters = p.shape.rank() == 0 ? 1 : static_cast<std::size_t>(columns ? p.shape[1] : p.shape[0]);
      const std::size_t per = n / filters;
      auto index = [&](std::size_t f, std::size_t k) { return at + (columns ? k * filters + f : f * per + k); };
      for (std::size_t f = 0; f < filters; ++f) {
        double dn = 0, tn = 0;
        for (std::size_t k = 0; k < per; ++k) {
          const double r = normal(rng);
          d[index(f, k)] = r;
          dn += r * r, tn += trained[index(f, k)] * trained[index(f, k)];
        }
        const double scale = dn > 0 ? std::sqrt(tn / dn) : 0;
        for (std::size_t k = 0; k < per; ++k) d[index(f, k)] *= scale;
      }
    }
    at += n;
  }
  const double uu = dot(u, u);
  if (uu > 0) add_scaled(d, -dot(u, d) / uu, u);
  const double dd = dot(d, d);
  if (uu > 0 && dd > 0) scale_into(d, std::sqrt(uu / dd), d);
  return d;
}

}  // namespace symgrad::cli
