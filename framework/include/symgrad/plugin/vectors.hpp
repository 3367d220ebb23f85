#pragma once
// Vector kernels for host-driven optimizers (line searches, cg, bfgs, lbfgs): one pass over memory
// each, threaded (the framework's OpenMP threads) above 65536 elements. Sums are taken per fixed
// chunk and added in chunk order, so a result depends on the thread count, never on timing; below
// the threshold they are the plain sequential loops.

#include <vector>

namespace symgrad {

/// a . b
double dot(const std::vector<double>& a, const std::vector<double>& b);
/// max |v_i| (0 for an empty v)
double max_abs(const std::vector<double>& v);
/// x + t d, a new vector.
std::vector<double> axpy(const std::vector<double>& x, double t, const std::vector<double>& d);
/// out = x + t d (out's storage reused; out may be x).
void axpy_into(std::vector<double>& out, const std::vector<double>& x, double t, const std::vector<double>& d);
/// out = t d (out's storage reused).
void scale_into(std::vector<double>& out, double t, const std::vector<double>& d);
/// v += t d
void add_scaled(std::vector<double>& v, double t, const std::vector<double>& d);
/// v += t d, then returns w . v (the updated v) from the same pass.
double add_scaled_dot(std::vector<double>& v, double t, const std::vector<double>& d, const std::vector<double>& w);

}  // namespace symgrad
