#pragma once
// RedisServer: a real redis-server (Debian's) for a test, on a claimed loopback port, with its
// own config, directory, PID file and an ACL user `nauto` (password `test-pass`). AOF persistence
// on, so a restart() keeps what was written. Stopped (SIGTERM, then SIGKILL) when the object goes.
// kill() stops it at once, as a crash would.

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <stdexcept>
#include <string>

#include "support/eventually.h"
#include "support/port_block.h"
#include "support/temp_dir.h"

namespace nauto::test {

class RedisServer {
 public:
  RedisServer() : port_(claim_port_block(1)) {
    std::ofstream(dir_.path + "/redis.conf")
        << "bind 127.0.0.1\nport " << port_ << "\ndir " << dir_.path << "\npidfile " << dir_.path
        << "/redis.pid\nlogfile " << dir_.path
        << "/redis.log\ndaemonize no\nappendonly yes\nappendfsync always\nsave \"\"\n"
        // The default user keeps the same rights (an unused password): Redis 7.0 replays the
        // AOF's MULTI/EXEC blocks with its ACL (docs/workers.md).
        << "user default on >unused-default-pass ~nauto:* &* +@all\n"
        << "user nauto on >test-pass ~nauto:* &* +@all\n";
    start();
  }
  ~RedisServer() { stop(); }
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  int port() const { return port_; }
  std::string url() const { return "redis://nauto@127.0.0.1:" + std::to_string(port_); }
  static constexpr const char* kPassword = "test-pass";

  void stop(int signal = SIGTERM) {
    if (pid_ <= 0) return;
    ::kill(pid_, signal);
    int status = 0;
    for (int i = 0; i < 200 && ::waitpid(pid_, &status, WNOHANG) == 0; ++i)
      ::usleep(50'000);
    if (::waitpid(pid_, &status, WNOHANG) == 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
    }
    pid_ = -1;
  }
  void kill() { stop(SIGKILL); }
  void restart() {
    stop();
    start();
  }

 private:
  void start() {
    const auto conf = dir_.path + "/redis.conf";
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      ::execl("/usr/bin/redis-server", "redis-server", conf.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    const auto probe =
        "redis-cli -p " + std::to_string(port_) +
        " --user nauto --pass test-pass --no-auth-warning ping 2>/dev/null | grep -q PONG";
    if (!eventually([&] { return std::system(probe.c_str()) == 0; }, 10000))
      throw std::runtime_error("redis-server did not start; see " + dir_.path + "/redis.log");
  }

  TempDir dir_;
  int port_;
  pid_t pid_ = -1;
};

}  // namespace nauto::test
