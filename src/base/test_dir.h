// For tests: a fresh, empty directory per test, named after the test so
// that tests run in parallel (ctest -j) never share one. The caller removes
// it (std::filesystem::remove_all) in TearDown.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <string_view>

namespace rq::testing {

inline std::filesystem::path FreshTestDir(std::string_view prefix) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    (std::string(prefix) + "_" + std::to_string(::getpid()) + "_" +
                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace rq::testing
