#pragma once
/// @file
/// Eigenvalues for plugins that measure curvature: a small symmetric matrix's full
/// eigendecomposition (Newton's saddle-free steps, exact Hessians of small models) and the extreme
/// eigenvalues of a large symmetric operator known only through its products with vectors (a
/// Hessian through Hessian-vector products: the curvature strategy), by the Lanczos iteration.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

namespace symgrad {

/// The eigenvalues (ascending) and eigenvectors (the columns of `vectors`, row-major n x n, in the
/// same order) of the symmetric n x n matrix `a` (row-major), by cyclic Jacobi rotations until
/// the off-diagonal part is below 1e-14 of the matrix's norm. O(n^3) per sweep: for n up to a few
/// hundred.
void symmetric_eigen(std::vector<double> a, std::size_t n, std::vector<double>& values, std::vector<double>& vectors);

/// The extreme eigenvalues of a symmetric operator, from Lanczos.
struct ExtremeEigenvalues {
  double smallest = 0;  ///< the smallest Ritz value (an upper bound of the smallest eigenvalue)
  double largest = 0;   ///< the largest Ritz value (a lower bound of the largest eigenvalue)
  std::size_t products = 0;  ///< operator applications made (at most `iterations`)
  /// The Krylov space became invariant before `iterations` (beta below 1e-12 of the largest
  /// alpha or beta seen): the Ritz values are then eigenvalues (up to rounding).
  bool exact = false;
};

/// `apply(v, out)` sets out = A v for a symmetric A of size n. Runs at most `iterations` Lanczos
/// steps from a start vector drawn from `seed` (Gaussian, normalized), each Lanczos vector
/// reorthogonalized against all before it (twice), and returns the extreme eigenvalues of the
/// tridiagonal matrix. Memory: iterations x n doubles. The extremes converge first (Kaniel-Paige):
/// 20 to 30 steps give the largest eigenvalue of a network's Hessian to a few digits when it is
/// separated from the rest.
ExtremeEigenvalues extreme_eigenvalues(const std::function<void(const std::vector<double>&, std::vector<double>&)>& apply,
                                       std::size_t n, std::size_t iterations, std::uint64_t seed);

}  // namespace symgrad
