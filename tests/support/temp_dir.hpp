#pragma once
// A temporary folder for one test, named after it, removed at the end.

#include <filesystem>
#include <string>

#include <unistd.h>

#include <gtest/gtest.h>

namespace symgrad::testing {

struct TempDir {
  std::filesystem::path path = std::filesystem::temp_directory_path() /
                               ("symgrad-" + std::to_string(::getpid()) + "-" +
                                ::testing::UnitTest::GetInstance()->current_test_info()->name());
  TempDir() { std::filesystem::create_directories(path); }
  ~TempDir() { std::filesystem::remove_all(path); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

}  // namespace symgrad::testing
