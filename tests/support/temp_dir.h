#pragma once
// A directory of a test's own under /tmp, removed with everything in it when the test ends.

#include <stdlib.h>

#include <filesystem>
#include <string>

namespace nauto::test {

struct TempDir {
  std::string path;
  explicit TempDir(const std::string& prefix = "nauto-test") {
    std::string pattern = "/tmp/" + prefix + "-XXXXXX";
    path = ::mkdtemp(pattern.data());
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

}  // namespace nauto::test
