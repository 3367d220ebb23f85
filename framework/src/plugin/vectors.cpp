#include "symgrad/plugin/vectors.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include <omp.h>

namespace symgrad {

namespace {

constexpr std::size_t kParallel = std::size_t{1} << 16;

// body(begin, end) over [0, n): sequentially below kParallel, else over one fixed chunk per
// thread; the chunks' results are combined in chunk order (a deterministic reduction).
template <class Body, class Combine>
double reduce(std::size_t n, double init, Body body, Combine combine) {
  if (n < kParallel) return combine(init, body(std::size_t{0}, n));
  const int chunks = std::max(1, omp_get_max_threads());
  std::vector<double> part(static_cast<std::size_t>(chunks));
#pragma omp parallel for schedule(static, 1)
  for (int c = 0; c < chunks; ++c) {
    const std::size_t begin = n * static_cast<std::size_t>(c) / static_cast<std::size_t>(chunks);
    const std::size_t end = n * static_cast<std::size_t>(c + 1) / static_cast<std::size_t>(chunks);
    part[static_cast<std::size_t>(c)] = body(begin, end);
  }
  double r = init;
  for (double p : part) r = combine(r, p);
  return r;
}

double plus(double a, double b) { return a + b; }

template <class Body>
void each(std::size_t n, Body body) {
  const auto m = static_cast<std::int64_t>(n);
#pragma omp parallel for schedule(static) if (n >= kParallel)
  for (std::int64_t i = 0; i < m; ++i) body(static_cast<std::size_t>(i));
}

}  // namespace

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  return reduce(
      a.size(), 0.0,
      [&](std::size_t begin, std::size_t end) {
        double s = 0.0;
        for (std::size_t i = begin; i < end; ++i) s += a[i] * b[i];
        return s;
      },
      plus);
}

double max_abs(const std::vector<double>& v) {
  return reduce(
      v.size(), 0.0,
      [&](std::size_t begin, std::size_t end) {
        double m = 0.0;
        for (std::size_t i = begin; i < end; ++i) m = std::max(m, std::abs(v[i]));
        return m;
      },
      [](double a, double b) { return std::max(a, b); });
}

std::vector<double> axpy(const std::vector<double>& x, double t, const std::vector<double>& d) {
  std::vector<double> y;
  axpy_into(y, x, t, d);
  return y;
}

void axpy_into(std::vector<double>& out, const std::vector<double>& x, double t, const std::vector<double>& d) {
  out.resize(x.size());
  each(x.size(), [&](std::size_t i) { out[i] = x[i] + t * d[i]; });
}

void scale_into(std::vector<double>& out, double t, const std::vector<double>& d) {
  out.resize(d.size());
  each(d.size(), [&](std::size_t i) { out[i] = t * d[i]; });
}

void add_scaled(std::vector<double>& v, double t, const std::vector<double>& d) {
  each(v.size(), [&](std::size_t i) { v[i] += t * d[i]; });
}

double add_scaled_dot(std::vector<double>& v, double t, const std::vector<double>& d, const std::vector<double>& w) {
  return reduce(
      v.size(), 0.0,
      [&](std::size_t begin, std::size_t end) {
        double s = 0.0;
        for (std::size_t i = begin; i < end; ++i) {
          v[i] += t * d[i];
          s += w[i] * v[i];
        }
        return s;
      },
      plus);
}

}  // namespace symgrad
