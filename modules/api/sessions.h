#pragma once
// Browser sessions (issue 31): the dashboard logs in with a token once and gets a session
// cookie (HttpOnly, Secure, SameSite=Strict), so the token is never kept by the page. Each
// session has its own CSRF secret, which a request that changes something must send back in
// X-CSRF-Token: a page on another site can neither read it nor send the cookie. A session
// lasts `ttl` from its last use, at most `max_age` in all, and ends with its token.
//
// Sessions live in memory only: a restart of nautod logs browsers out.
//
// Thread: the module's only.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "nauto/base/result.h"

namespace nauto::api {

struct Session {
  std::string token_id;  ///< the token it was opened with; its holder is the session's
  std::string csrf;
  std::int64_t opened_us = 0;
  std::int64_t last_used_us = 0;
};

/// The value of cookie `name` in a Cookie header ("a=1; nauto_session=..."); empty when absent.
std::string_view cookie_value(std::string_view cookies, std::string_view name);

class SessionTable {
 public:
  SessionTable(std::int64_t ttl_us, std::int64_t max_age_us, std::size_t max_sessions)
      : ttl_us_(ttl_us), max_age_us_(max_age_us), max_sessions_(max_sessions) {}

  /// A new session for token `token_id`: its id (the cookie's value) and the session.
  Result<std::pair<std::string, Session>> open(const std::string& token_id, std::int64_t now_us);
  /// The live session with this id, its use noted; nullptr when unknown or timed out.
  const Session* use(std::string_view id, std::int64_t now_us);
  void close(std::string_view id);
  /// Ends every session of a token (revoked).
  void close_token(const std::string& token_id);
  std::size_t size() const { return sessions_.size(); }

 private:
  std::int64_t ttl_us_;
  std::int64_t max_age_us_;
  std::size_t max_sessions_;
  std::map<std::string, Session, std::less<>> sessions_;
};

}  // namespace nauto::api
