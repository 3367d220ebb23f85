#include "symgrad/plugin/spectrum.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "symgrad/plugin/vectors.hpp"

namespace symgrad {

void symmetric_eigen(std::vector<double> a, std::size_t n, std::vector<double>& values, std::vector<double>& vectors) {
  std::vector<double> v(n * n, 0.0);
  for (std::size_t i = 0; i < n; ++i) v[i * n + i] = 1;
  double norm = 0;
  for (double e : a) norm += e * e;
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0;
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t j = i + 1; j < n; ++j) off += 2 * a[i * n + j] * a[i * n + j];
    }
    if (off <= 1e-28 * norm) break;
    for (std::size_t p = 0; p < n; ++p) {
      for (std::size_t q = p + 1; q < n; ++q) {
        if (a[p * n + q] == 0) continue;
        const double theta = (a[q * n + q] - a[p * n + p]) / (2 * a[p * n + q]);
        const double t = (theta >= 0 ? 1 : -1) / (std::abs(theta) + std::sqrt(theta * theta + 1));
        const double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (std::size_t k = 0; k < n; ++k) {  // A <- A J (columns p, q)
          const double akp = a[k * n + p], akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq, a[k * n + q] = s * akp + c * akq;
        }
        for (std::size_t k = 0; k < n; ++k) {  // A <- J^T A (rows p, q)
          const double apk = a[p * n + k], aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk, a[q * n + k] = s * apk + c * aqk;
        }
        for (std::size_t k = 0; k < n; ++k) {  // V <- V J
          const double vkp = v[k * n + p], vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq, v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  // ascending, the eigenvectors' columns moved with their values
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t i, std::size_t j) { return a[i * n + i] < a[j * n + j]; });
  values.resize(n);
  vectors.assign(n * n, 0.0);
  for (std::size_t k = 0; k < n; ++k) {
    values[k] = a[order[k] * n + order[k]];
    for (std::size_t i = 0; i < n; ++i) vectors[i * n + k] = v[i * n + order[k]];
  }
}

ExtremeEigenvalues extreme_eigenvalues(const std::function<void(const std::vector<double>&, std::vector<double>&)>& apply,
                                       std::size_t n, std::size_t iterations, std::uint64_t seed) {
  ExtremeEigenvalues out;
  if (n == 0 || iterations == 0) return out;
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  std::vector<std::vector<double>> q(1, std::vector<double>(n));
  for (double& e : q[0]) e = normal(rng);
  scale_into(q[0], 1 / std::sqrt(dot(q[0], q[0])), q[0]);
  std::vector<double> alpha, beta, w;
  double scale = 0;  // the largest |alpha| or beta so far
  for (std::size_t j = 0; j < std::min(iterations, n); ++j) {
    apply(q[j], w);
    ++out.products;
    alpha.push_back(dot(q[j], w));
    scale = std::max(scale, std::abs(alpha.back()));
    for (int pass = 0; pass < 2; ++pass) {  // full reorthogonalization, twice (Kahan: "twice is enough")
      for (const auto& qi : q) add_scaled(w, -dot(qi, w), qi);
    }
    const double b = std::sqrt(dot(w, w));
    if (b <= 1e-12 * std::max(scale, 1e-300) || j + 1 == n) {
      out.exact = true;
      break;
    }
    if (j + 1 == std::min(iterations, n)) break;
    beta.push_back(b);
    scale = std::max(scale, b);
    scale_into(w, 1 / b, w);
    q.push_back(w);
  }
  const std::size_t m = alpha.size();  // T: m x m tridiagonal
  std::vector<double> t(m * m, 0.0), values, vectors;
  for (std::size_t i = 0; i < m; ++i) {
    t[i * m + i] = alpha[i];
    if (i + 1 < m) t[i * m + i + 1] = t[(i + 1) * m + i] = beta[i];
  }
  symmetric_eigen(std::move(t), m, values, vectors);
  out.smallest = values.front();
  out.largest = values.back();
  return out;
}

}  // namespace symgrad
