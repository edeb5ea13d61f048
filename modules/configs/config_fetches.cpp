#include "config_fetches.h"

#include "nauto/bus/body.h"
#include "nauto/bus/schema_types.h"

namespace nauto::configs {

using nlohmann::json;

namespace {
constexpr std::int64_t kRequestTimeoutMs = 30'000;
// Ends of jobs nobody here followed yet, remembered this many.
constexpr std::size_t kEarlyEndsKept = 1000;
}  // namespace

void ConfigFetches::start(Context& ctx, json job_body, OnStarted started, OnPage page,
                          OnDone done) {
  if (!job_body.contains("kind")) job_body["kind"] = "get_config";
  ctx.request(bus::schema::JobRunRequest::kTopic, bus::to_body(job_body), kRequestTimeoutMs,
              [this, &ctx, started = std::move(started), page = std::move(page),
               done = std::move(done)](Result<std::string> answer) mutable {
                auto reply = bus::from_reply(answer);
                if (!reply) return started(std::move(reply).error());
                const auto id = reply->value("id", "");
                const auto devices = reply->value("devices", std::int64_t{0});
                started(std::pair{id, devices});
                followed_[id] = Followed{std::move(page), std::move(done)};
                if (early_ends_.erase(id)) read_from(ctx, id, "");
              });
}

void ConfigFetches::follow(Context& ctx, const std::string& job, OnPage page, OnDone done) {
  followed_[job] = Followed{std::move(page), std::move(done)};
  // It may have ended while nautod was down (then it is interrupted): ask.
  ctx.request(bus::schema::JobStatusRequest::kTopic, bus::to_body(json{{"id", job}}),
              kRequestTimeoutMs, [this, &ctx, job](Result<std::string> answer) {
                auto status = bus::from_reply(answer);
                if (!followed_.contains(job)) return;
                if (!status) {
                  auto done = std::move(followed_[job].done);
                  followed_.erase(job);
                  return done(job, std::move(status).error());
                }
                if (status->value("state", "running") != "running") read_from(ctx, job, "");
              });
}

void ConfigFetches::job_ended(Context& ctx, const std::string& job) {
  if (!followed_.contains(job)) return remember_early_end(job);
  read_from(ctx, job, "");
}

void ConfigFetches::remember_early_end(const std::string& job) {
  if (!early_ends_.insert(job).second) return;
  early_order_.push_back(job);
  if (early_order_.size() > kEarlyEndsKept) {
    early_ends_.erase(early_order_.front());
    early_order_.pop_front();
  }
}

void ConfigFetches::read_from(Context& ctx, const std::string& job, const std::string& after) {
  json body{{"id", job}, {"limit", kPageSize}};
  if (!after.empty()) body["after"] = after;
  ctx.request(bus::schema::JobLogsRequest::kTopic, bus::to_body(body), kRequestTimeoutMs,
              [this, &ctx, job](Result<std::string> answer) {
                auto it = followed_.find(job);
                if (it == followed_.end()) return;
                auto reply = bus::from_reply(answer);
                if (!reply || !(*reply)["results"].is_array()) {
                  auto done = std::move(it->second.done);
                  followed_.erase(it);
                  return done(job, reply ? fail(Errc::Malformed, "job.logs: no results")
                                         : std::move(reply).error());
                }
                auto results = (*reply)["results"].get<std::vector<json>>();
                const bool last = static_cast<std::int64_t>(results.size()) < kPageSize;
                const auto next = results.empty() ? "" : results.back().value("device", "");
                it->second.page(job, std::move(results));
                if (!last) return read_from(ctx, job, next);
                auto done = std::move(it->second.done);
                followed_.erase(job);
                done(job, ok());
              });
}

}  // namespace nauto::configs
