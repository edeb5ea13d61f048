#pragma once
// claim_port_block: consecutive free loopback ports for a test, claimed so that tests running in
// parallel never collide. The same scheme as tests/support/port_block.py (keep the two in step):
// the ports from 10000 to 32699 form blocks of 100; a process claims a block by binding the
// abstract Unix socket "nauto-test-port-block-N", which the kernel lets one process hold and
// frees when it ends; a claimed block is used only when all its ports are free for TCP and UDP on
// 127.0.0.1 and ::1. Claims last until the process exits. Any thread may call it.

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace nauto::test {

namespace port_block_detail {

constexpr int kFirstPort = 10000;
constexpr int kBlockSize = 100;
constexpr int kBlocks = (32700 - kFirstPort) / kBlockSize;

// Binds an abstract Unix socket named `name`; -1 when another process holds the name.
inline int hold_name(const std::string& name) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path + 1, name.data(), name.size());  // sun_path[0] = 0: abstract
  auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), length) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Whether `port` can be bound for TCP and UDP on 127.0.0.1 and ::1 (as the servers under test
// bind, with SO_REUSEADDR; an address family the host lacks cannot collide).
inline bool port_free(int port) {
  for (int family : {AF_INET, AF_INET6}) {
    for (int type : {SOCK_STREAM, SOCK_DGRAM}) {
      int fd = ::socket(family, type | SOCK_CLOEXEC, 0);
      if (fd < 0) {
        if (errno == EAFNOSUPPORT) continue;
        return false;
      }
      int one = 1;
      ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      int rc;
      if (family == AF_INET) {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(static_cast<uint16_t>(port));
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        rc = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
      } else {
        sockaddr_in6 a{};
        a.sin6_family = AF_INET6;
        a.sin6_port = htons(static_cast<uint16_t>(port));
        a.sin6_addr = in6addr_loopback;
        rc = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
      }
      int error = errno;
      ::close(fd);
      if (rc != 0 && error != EADDRNOTAVAIL) return false;
    }
  }
  return true;
}

}  // namespace port_block_detail

// The first of `count` consecutive free loopback ports, this process's until it exits.
// Throws std::runtime_error when no such range is free.
inline int claim_port_block(int count = port_block_detail::kBlockSize) {
  using namespace port_block_detail;
  static std::mutex mutex;
  static std::vector<int> held;  // claim sockets, open for the life of the process
  std::lock_guard lock(mutex);
  int needed = (count + kBlockSize - 1) / kBlockSize;
  int start = static_cast<int>(std::random_device{}() % kBlocks);
  for (int k = 0; k < kBlocks; ++k) {
    int first = (start + k) % kBlocks;
    if (first + needed > kBlocks) continue;
    std::vector<int> holders;
    bool ok = true;
    for (int block = first; ok && block < first + needed; ++block) {
      int fd = hold_name("nauto-test-port-block-" + std::to_string(block));
      if (fd < 0) ok = false;
      else holders.push_back(fd);
    }
    int base = kFirstPort + first * kBlockSize;
    for (int port = base; ok && port < base + needed * kBlockSize; ++port) ok = port_free(port);
    if (ok) {
      held.insert(held.end(), holders.begin(), holders.end());
      return base;
    }
    for (int fd : holders) ::close(fd);
  }
  throw std::runtime_error("no " + std::to_string(count) +
                           " free loopback ports between 10000 and 32699");
}

}  // namespace nauto::test
