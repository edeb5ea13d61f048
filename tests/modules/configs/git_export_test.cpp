#include "git_export.h"

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>

#include "support/temp_dir.h"

using namespace nauto;
using namespace nauto::configs;

namespace {

// What the git CLI prints for `args` in repository `dir` (its stdout).
std::string git(const std::string& dir, const std::string& args) {
  const auto command = "git --git-dir=" + dir + " " + args + " 2>&1";
  std::string out;
  if (FILE* pipe = ::popen(command.c_str(), "r")) {
    char buffer[4096];
    for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;)
      out.append(buffer, n);
    ::pclose(pipe);
  }
  return out;
}

}  // namespace

TEST_CASE("each commit holds the changed files, and git reads it back", "[configs][git]") {
  nauto::test::TempDir dir("nauto-git-export");
  const auto repo = dir.path + "/configs.git";
  const auto remote = dir.path + "/remote.git";
  REQUIRE(std::system(("git init -q --bare " + remote).c_str()) == 0);
  auto opened = GitExport::open(GitExportOptions{repo, "main", remote});
  REQUIRE(opened);
  auto& exporter = **opened;

  auto first =
      exporter.commit({{"r1", "hostname r1\n"}, {"dc1/r2", "hostname r2\n"}},
                      {"alice", "backup 1: first\n\nr1 version 1\n", 1'764'547'200'000'000});
  REQUIRE(first);
  CHECK(first->files == 2);
  CHECK(first->pushed);
  auto same =
      exporter.commit({{"r1", "hostname r1\n"}}, {"bob", "backup 2", 1'764'547'300'000'000});
  REQUIRE(same);
  CHECK(same->commit.empty());  // nothing changed: no commit
  auto second = exporter.commit({{"r1", "hostname r1\nntp server 10.0.0.1\n"}},
                                {"bob", "backup 3: ntp", 1'764'547'400'000'000});
  REQUIRE(second);
  CHECK(second->files == 1);

  CHECK(git(repo, "log --format=%an:%s main") == "bob:backup 3: ntp\nalice:backup 1: first\n");
  CHECK(git(repo, "show main:r1") == "hostname r1\nntp server 10.0.0.1\n");
  CHECK(git(repo, "show main:dc1%2Fr2") == "hostname r2\n");
  const auto patch = git(repo, "log -p --format=%s -1 main -- r1");
  CHECK(patch.find("+ntp server 10.0.0.1") != std::string::npos);
  // The remote has what was pushed.
  CHECK(git(remote, "rev-parse main") == second->commit + "\n");

  // Opened again, it goes on from the branch it has.
  opened->reset();
  auto again = GitExport::open(GitExportOptions{repo, "main", ""});
  REQUIRE(again);
  auto third =
      (*again)->commit({{"r3", "hostname r3\n"}}, {"carol", "backup 4", 1'764'547'500'000'000});
  REQUIRE(third);
  CHECK(git(repo, "ls-tree --name-only main") == "dc1%2Fr2\nr1\nr3\n");
}

TEST_CASE("a push that fails is an error and the commit stays", "[configs][git]") {
  nauto::test::TempDir dir("nauto-git-export");
  auto opened = GitExport::open(
      GitExportOptions{dir.path + "/configs.git", "main", dir.path + "/no-such-remote.git"});
  REQUIRE(opened);
  auto result = (*opened)->commit({{"r1", "hostname r1\n"}}, {"alice", "backup 1", 0});
  REQUIRE_FALSE(result);
  CHECK(result.error().message.find("cannot push") != std::string::npos);
  CHECK(git(dir.path + "/configs.git", "log --format=%s main") == "backup 1\n");
}
