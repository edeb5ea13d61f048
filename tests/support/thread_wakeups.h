#pragma once
// How often this process's threads called `name` went to sleep and were woken: the sum of
// their voluntary context switches (/proc/self/task/*/status). A loop that sleeps until its
// next event adds none while nothing happens; one that polls on a period adds one per period.

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

namespace nauto::test {

// One thread's count, by its folder under /proc/self/task.
inline std::int64_t task_wakeups(const std::filesystem::path& task) {
  std::ifstream status(task / "status");
  for (std::string line; std::getline(status, line);)
    if (line.starts_with("voluntary_ctxt_switches:"))
      return std::stoll(line.substr(line.find(':') + 1));
  return 0;
}

// One thread's count, by its id (gettid()).
inline std::int64_t task_wakeups(pid_t thread_id) {
  return task_wakeups(std::filesystem::path("/proc/self/task") / std::to_string(thread_id));
}

inline std::int64_t thread_wakeups(const std::string& name) {
  std::int64_t total = 0;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string thread_name;
    if (std::getline(comm, thread_name) && thread_name == name) total += task_wakeups(task.path());
  }
  return total;
}

}  // namespace nauto::test
