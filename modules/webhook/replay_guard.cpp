#include "replay_guard.h"

namespace nauto::webhook {

ReplayGuard::ReplayGuard(std::int64_t window_s, std::size_t max_nonces, std::int64_t started_s)
    : window_s_(window_s), max_nonces_(max_nonces), started_s_(started_s) {}

void ReplayGuard::forget_expired(std::int64_t now_s) {
  // A nonce can be forgotten once its timestamp is out of the window: a replay of it is stale.
  // At now == timestamp + window the request is still taken, so it is still remembered.
  auto end = expiries_.lower_bound(now_s);
  for (auto it = expiries_.begin(); it != end; ++it)
    seen_.erase(it->second);
  expiries_.erase(expiries_.begin(), end);
}

Result<void> ReplayGuard::admit(std::string_view hook, std::string_view nonce,
                                std::int64_t timestamp_s, std::int64_t now_s) {
  const auto skew = timestamp_s - now_s;
  if (skew < -window_s_ || skew > window_s_)
    return fail(Errc::Unauthenticated,
                "X-Nauto-Timestamp: " + std::to_string(timestamp_s) + " is " +
                    std::to_string(skew < 0 ? -skew : skew) + " s " +
                    (skew < 0 ? "old" : "ahead of this server's clock") + "; at most " +
                    std::to_string(window_s_) +
                    " s is taken (a replayed request, or a clock not kept by NTP)");
  if (timestamp_s <= started_s_)
    return fail(Errc::Unauthenticated,
                "X-Nauto-Timestamp: signed before this listener started (at " +
                    std::to_string(started_s_) + "); sign the request again and resend");
  forget_expired(now_s);
  std::string key;
  key.reserve(hook.size() + 1 + nonce.size());
  key.append(hook).append(1, '\0').append(nonce);
  if (seen_.contains(key))
    return fail(Errc::Unauthenticated,
                "X-Nauto-Nonce: already used within the last " + std::to_string(window_s_) +
                    " s: a replayed request (send a new nonce with each request)");
  if (seen_.size() >= max_nonces_)
    return fail(Errc::ResourceExhausted, "more than " + std::to_string(max_nonces_) +
                                             " requests within " + std::to_string(window_s_) +
                                             " s; retry later");
  expiries_.emplace(timestamp_s + window_s_, key);
  seen_.insert(std::move(key));
  return ok();
}

}  // namespace nauto::webhook
