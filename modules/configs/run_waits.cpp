#include "run_waits.h"

#include "nauto/bus/body.h"
#include "nauto/bus/schema_types.h"

namespace nauto::configs {

namespace {
constexpr std::size_t kEarlyEndsKept = 1000;
constexpr std::int64_t kStartTimeoutMs = 30'000;
}  // namespace

void RunWaits::start(Context& ctx, const nlohmann::json& body, Started started, Ended ended) {
  ctx.request(bus::schema::RunStartRequest::kTopic, bus::to_body(body), kStartTimeoutMs,
              [this, started = std::move(started),
               ended = std::move(ended)](Result<std::string> answer) mutable {
                auto reply = bus::from_reply(answer);
                if (!reply) return started(std::move(reply).error());
                const auto run = reply->value("id", "");
                started(run);
                wait(run, std::move(ended));
              });
}

void RunWaits::wait(const std::string& run, Ended ended) {
  if (auto early = early_ends_.find(run); early != early_ends_.end()) {
    const auto state = early->second;
    early_ends_.erase(early);
    return ended(state);
  }
  waits_[run] = std::move(ended);
}

void RunWaits::run_ended(const std::string& run, const std::string& state) {
  auto it = waits_.find(run);
  if (it == waits_.end()) {
    // Perhaps a run whose start's reply is still on its way.
    early_ends_[run] = state;
    early_order_.push_back(run);
    if (early_order_.size() > kEarlyEndsKept) {
      early_ends_.erase(early_order_.front());
      early_order_.pop_front();
    }
    return;
  }
  auto ended = std::move(it->second);
  waits_.erase(it);
  ended(state);
}

void RunWaits::clear() noexcept {
  waits_.clear();
  early_ends_.clear();
  early_order_.clear();
}

}  // namespace nauto::configs
