#include "nauto/sdk/connection_ledger.h"

#include <sys/socket.h>

namespace nauto {

bool ConnectionLedger::open(int fd, const std::string& address, std::int64_t now_us) {
  auto& open_from_address = per_address_open_[address];
  Connection connection{address, now_us + request_timeout_us_, false, false};
  const bool allowed = open_from_address < per_address_;
  if (allowed) {
    ++open_from_address;
    connection.counted = true;
  } else {
    connection.deadline_us = 0;
    connection.cut = true;
    ::shutdown(fd, SHUT_RDWR);
  }
  connections_[fd] = std::move(connection);
  return allowed;
}

void ConnectionLedger::request_read(int fd) {
  if (auto it = connections_.find(fd); it != connections_.end()) it->second.deadline_us = 0;
}

void ConnectionLedger::request_done(int fd, std::int64_t now_us) {
  if (auto it = connections_.find(fd); it != connections_.end() && !it->second.cut)
    it->second.deadline_us = now_us + request_timeout_us_;
}

void ConnectionLedger::close(int fd) {
  auto it = connections_.find(fd);
  if (it == connections_.end()) return;
  if (it->second.counted) {
    auto count = per_address_open_.find(it->second.address);
    if (count != per_address_open_.end() && --count->second == 0) per_address_open_.erase(count);
  }
  connections_.erase(it);
}

std::size_t ConnectionLedger::cut_overdue(std::int64_t now_us) {
  std::size_t cut = 0;
  for (auto& [fd, connection] : connections_) {
    if (connection.deadline_us == 0 || connection.deadline_us > now_us) continue;
    connection.deadline_us = 0;
    connection.cut = true;
    ::shutdown(fd, SHUT_RDWR);
    ++cut;
  }
  return cut;
}

std::int64_t ConnectionLedger::next_deadline_us() const {
  std::int64_t next = -1;
  for (const auto& [fd, connection] : connections_)
    if (connection.deadline_us != 0 && (next < 0 || connection.deadline_us < next))
      next = connection.deadline_us;
  return next;
}

}  // namespace nauto
