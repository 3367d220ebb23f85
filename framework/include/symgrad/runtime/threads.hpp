#pragma once
/// @file
/// The number of threads kernels use (oneDNN's OpenMP runtime and symgrad's own kernels share
/// it). Set by SYMGRAD_NUM_THREADS when the first plan is compiled, or by set_num_threads().

namespace symgrad {

/// Sets the thread count for every kernel from now on; throws UsageError when n < 1.
void set_num_threads(int n);
/// The thread count kernels use.
int num_threads();
/// OpenMP's own count for this process (OMP_NUM_THREADS, else the cores it may run on), whatever
/// set_num_threads() did since.
int default_num_threads();
/// Applies SYMGRAD_NUM_THREADS once (a positive integer; anything else is a UsageError naming
/// it). compile() calls this; a later set_num_threads() wins.
void apply_thread_environment();

}  // namespace symgrad
