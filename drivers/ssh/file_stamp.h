#pragma once
// FileStamp: what tells that a file read earlier may have changed since (its inode, size,
// modification time, and status-change time, which a chmod or chown moves too), for caches of
// parsed files that are checked with one stat() per use.

#include <sys/stat.h>

#include <cstdint>
#include <optional>
#include <string>

namespace nauto::drivers::ssh {

struct FileStamp {
  std::uint64_t inode = 0;
  std::int64_t size = -1;
  std::int64_t mtime_ns = -1;
  std::int64_t ctime_ns = -1;
  bool operator==(const FileStamp&) const = default;
};

/// The file's stamp now; nullopt when it cannot be stat'ed.
inline std::optional<FileStamp> stamp_of(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return std::nullopt;
  auto ns = [](const timespec& at) {
    return static_cast<std::int64_t>(at.tv_sec) * 1'000'000'000 + at.tv_nsec;
  };
  return FileStamp{static_cast<std::uint64_t>(info.st_ino), static_cast<std::int64_t>(info.st_size),
                   ns(info.st_mtim), ns(info.st_ctim)};
}

}  // namespace nauto::drivers::ssh
