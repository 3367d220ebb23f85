#include "symgrad/runtime/threads.hpp"

#include <cstdlib>
#include <mutex>
#include <string>

#include <fmt/format.h>
#include <omp.h>

#include "symgrad/core/error.hpp"

namespace symgrad {

int default_num_threads() {
  static const int first = omp_get_max_threads();  // before any set_num_threads (which calls this first)
  return first;
}

void set_num_threads(int n) {
  if (n < 1) throw UsageError(fmt::format("the number of threads must be at least 1, got {}", n));
  default_num_threads();
  omp_set_num_threads(n);
}

int num_threads() { return omp_get_max_threads(); }

void apply_thread_environment() {
  static std::once_flag once;
  std::call_once(once, [] {
    const char* env = std::getenv("SYMGRAD_NUM_THREADS");
    if (env == nullptr) return;
    char* end = nullptr;
    const long n = std::strtol(env, &end, 10);
    if (end == env || *end != '\0' || n < 1 || n > 4096) {
      throw UsageError(fmt::format("SYMGRAD_NUM_THREADS must be a positive integer, got '{}'", env));
    }
    set_num_threads(static_cast<int>(n));
  });
}

}  // namespace symgrad
