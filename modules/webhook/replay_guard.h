#pragma once
// ReplayGuard: refuses a signed webhook request that is stale or was already accepted, so a
// captured request cannot be sent again. The signature covers the timestamp and the nonce
// (webhook_request.h); this remembers each hook's nonces until their timestamp has left the
// window.
//
// Invariants: a request is admitted when its timestamp is within `window_s` of now (either
// side: the sender's clock may be ahead), is after the second the guard started — nonces from
// before a restart are not remembered, so nothing signed before it is taken — and its
// (hook, nonce) has not been admitted before. At most `max_nonces` are remembered; when that
// many fresh requests arrive within one window the next is refused as overload (429), never
// admitted unchecked. Not thread-safe: its owner serialises calls.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_set>

#include "nauto/base/result.h"

namespace nauto::webhook {

class ReplayGuard {
 public:
  ReplayGuard(std::int64_t window_s, std::size_t max_nonces, std::int64_t started_s);

  /// Errc::Unauthenticated for a stale, early or replayed request (the message says which);
  /// Errc::ResourceExhausted when the nonce memory is full.
  Result<void> admit(std::string_view hook, std::string_view nonce, std::int64_t timestamp_s,
                     std::int64_t now_s);
  std::size_t remembered() const { return seen_.size(); }

 private:
  void forget_expired(std::int64_t now_s);

  std::int64_t window_s_;
  std::size_t max_nonces_;
  std::int64_t started_s_;
  std::unordered_set<std::string> seen_;               // hook '\0' nonce
  std::multimap<std::int64_t, std::string> expiries_;  // when a nonce may be forgotten -> key
};

}  // namespace nauto::webhook
