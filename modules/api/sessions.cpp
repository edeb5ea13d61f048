#include "sessions.h"

#include <algorithm>

#include "nauto/base/digest.h"

namespace nauto::api {

std::string_view cookie_value(std::string_view cookies, std::string_view name) {
  while (!cookies.empty()) {
    const auto semicolon = cookies.find(';');
    auto item = cookies.substr(0, semicolon);
    while (!item.empty() && item.front() == ' ')
      item.remove_prefix(1);
    if (item.size() > name.size() && item.starts_with(name) && item[name.size()] == '=')
      return item.substr(name.size() + 1);
    cookies =
        semicolon == std::string_view::npos ? std::string_view() : cookies.substr(semicolon + 1);
  }
  return {};
}

Result<std::pair<std::string, Session>> SessionTable::open(const std::string& token_id,
                                                           std::int64_t now_us) {
  if (sessions_.size() >= max_sessions_) {
    // The least recently used goes: a flood of logins cannot grow the table.
    auto oldest = std::min_element(sessions_.begin(), sessions_.end(), [](auto& a, auto& b) {
      return a.second.last_used_us < b.second.last_used_us;
    });
    sessions_.erase(oldest);
  }
  auto id = random_hex(32);
  if (!id) return std::move(id).error();
  auto csrf = random_hex(32);
  if (!csrf) return std::move(csrf).error();
  Session session{token_id, *csrf, now_us, now_us};
  sessions_[*id] = session;
  return std::pair{std::move(*id), std::move(session)};
}

const Session* SessionTable::use(std::string_view id, std::int64_t now_us) {
  auto found = sessions_.find(id);
  if (found == sessions_.end()) return nullptr;
  auto& session = found->second;
  if (now_us - session.last_used_us > ttl_us_ || now_us - session.opened_us > max_age_us_) {
    sessions_.erase(found);
    return nullptr;
  }
  session.last_used_us = now_us;
  return &session;
}

void SessionTable::close(std::string_view id) {
  if (auto found = sessions_.find(id); found != sessions_.end()) sessions_.erase(found);
}

void SessionTable::close_token(const std::string& token_id) {
  std::erase_if(sessions_, [&](const auto& entry) { return entry.second.token_id == token_id; });
}

}  // namespace nauto::api
