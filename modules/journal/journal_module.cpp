#include "journal_module.h"

#include <atomic>
#include <memory>

#include "nauto/base/clock.h"
#include "nauto/base/log.h"
#include "nauto/bus/body.h"
#include "nauto/bus/schema_types.h"
#include "nauto/bus/topic_match.h"
#include "nauto/sdk/config_reader.h"
#include "nauto/sdk/registry.h"
#include "nauto/store/retention.h"
#include "nauto/store/store.h"

namespace nauto::mod::journal {

using nlohmann::json;

namespace {
constexpr const char* kName = "journal";

// The stored value: the envelope with its body kept as msgpack (binary), so nothing is lost.
std::string encode_entry(const bus::Envelope& e) {
  json j = {{"topic", e.topic},
            {"id", e.header.id},
            {"src", e.header.source},
            {"ts", e.header.time_us},
            {"body", json::binary(std::vector<std::uint8_t>(e.body.begin(), e.body.end()))}};
  return bus::to_body(j);
}

// The stored envelope with its body still msgpack; decoding the body is the costly part, so
// a query decodes it only for entries whose topic matched.
json decode_entry(const std::string& value) {
  auto j = bus::from_body(value);
  if (!j || !j->is_object()) return json{{"error", "unreadable journal entry"}};
  return std::move(*j);
}

json with_body(json stored) {
  json out = {{"topic", stored.value("topic", "")},
              {"id", stored.value("id", "")},
              {"src", stored.value("src", "")},
              {"ts", stored.value("ts", std::int64_t{0})}};
  const auto& body = stored["body"];
  if (body.is_binary()) {
    const auto& bytes = body.get_binary();
    auto decoded =
        bus::from_body(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
    out["body"] = decoded ? *decoded : json("<body is not msgpack>");
  }
  return out;
}
}  // namespace

Result<JournalSettings> read_settings(const json& config) {
  JournalSettings s;
  ConfigReader r(config, "modules.journal");
  s.max_age_ms = r.duration_ms("max_age", s.max_age_ms, 1000);
  s.max_count = r.integer("max_count", s.max_count, 1, INT64_MAX);
  s.max_bytes = static_cast<std::uint64_t>(r.size_bytes("max_bytes", s.max_bytes, 1 << 20));
  s.retention_interval_ms = r.duration_ms("retention_interval", s.retention_interval_ms, 10);
  s.max_query_limit = r.integer("max_query_limit", s.max_query_limit, 1, 1000000);
  if (config.is_object() && config.contains("exclude")) s.exclude = r.strings("exclude");
  r.allow("exclude");
  for (const auto& pattern : s.exclude) {
    if (auto valid = bus::validate_pattern(pattern); !valid) {
      return fail(Errc::InvalidConfig, "modules.journal.exclude: " + valid.error().describe());
    }
  }
  if (auto done = r.finish(); !done) return std::move(done).error();
  return s;
}

Manifest JournalModule::manifest() const {
  return Manifest::declared(kName, "stores every bus event with retention; answers journal.query",
                            {""}, {kTable});
}

Result<void> JournalModule::validate(const json& config) const {
  auto s = read_settings(config);
  if (!s) return std::move(s).error();
  return ok();
}

std::vector<std::string> JournalModule::excluded_topics(const json& config) const {
  auto s = read_settings(config);
  return s ? s->exclude : std::vector<std::string>{};
}

Result<void> JournalModule::start(Context& ctx) {
  auto s = read_settings(ctx.config());
  if (!s) return std::move(s).error();
  settings_ = *s;
  log_ = logger("mod." + ctx.name());
  if (!ctx.store()) {
    return fail(Errc::Unsupported,
                "the journal needs the kernel's store; run it in-process "
                "(remove 'isolation: process')",
                "modules.journal");
  }
  ctx.every(std::chrono::milliseconds(settings_.retention_interval_ms),
            [this, &ctx] { enforce_retention(ctx); });
  return ok();
}

void JournalModule::on_event(const bus::Envelope& event, Context& ctx) {
  for (const auto& pattern : settings_.exclude) {
    if (bus::topic_matches(pattern, event.topic)) return;
  }
  store::WriteBatch batch;
  batch.append(kTable, store::time_key(event.header.time_us ? event.header.time_us : now_us()),
               encode_entry(event));
  // Not waited for: the store groups these writes into shared commits. The callback runs on
  // the store's thread, possibly after this module stopped, so it holds its own reference to
  // the (thread-safe) logger. Never blocking: under a flood the journal drops entries (counted)
  // rather than hold the store's queue against runs and jobs, whose writes wait.
  auto queued = ctx.store()->write_unless_busy(
      std::move(batch), [log = log_, failures = failed_writes_](Result<void> r) {
        if (r) return;
        // On the store's thread; a full store fails every write, so once a second, counted.
        std::lock_guard lock(failures->mutex);
        ++failures->count;
        if (failures->throttle.allow(now_us()))
          log->error("could not store an event ({} so far): {}", failures->count,
                     r.error().describe());
      });
  if (!queued) {
    ++dropped_;
    if (dropped_warning_.allow(now_us()))
      log_->warn("journal entries dropped: the store's write queue is busy ({} so far)", dropped_);
  }
}

void JournalModule::enforce_retention(Context& ctx) {
  store::Retention retention{settings_.max_age_ms * 1000,
                             static_cast<std::uint64_t>(settings_.max_count), settings_.max_bytes};
  auto cutoff = store::first_key_kept(*ctx.store(), kTable, retention,
                                      store::time_key_bound(now_us() - retention.max_age_us));
  if (!cutoff) {
    log_->error("retention failed: {}", cutoff.error().describe());
    return;
  }
  store::WriteBatch batch;
  batch.erase_before(kTable, *cutoff);
  ctx.store()->write(std::move(batch), [log = log_](Result<void> r) {
    if (!r) log->error("retention failed: {}", r.error().describe());
  });
}

json JournalModule::query(const json& filter, Context& ctx, Result<void>& status) const {
  auto request = bus::schema::JournalQueryRequest::decode(filter);
  if (!request) {
    status = std::move(request).error();
    return nullptr;
  }
  const auto& topic = request->topic;
  const auto since = request->since_us;
  const auto until = request->until_us;
  const auto limit = request->limit;
  // A causal chain: the event that started it (id == chain) and everything carrying its id.
  const auto& chain = request->chain;
  if (since < 0 || until < 0 || limit < 1 || limit > settings_.max_query_limit) {
    status = fail(Errc::InvalidArgument,
                  "journal.query: since_us and until_us are times (>= 0) and limit is 1 to " +
                      std::to_string(settings_.max_query_limit),
                  "journal");
    return nullptr;
  }
  if (auto valid = bus::validate_pattern(topic); !valid) {
    status = std::move(valid).error();
    return nullptr;
  }
  // Newest first from `until`, then reversed: `limit` keeps the latest matches.
  json events = json::array();
  store::ScanOptions scan;
  scan.reverse = true;
  scan.from = since ? store::time_key_bound(since) : "";
  scan.until = until ? store::time_key_bound(until) : "";
  scan.limit = 1024;
  std::vector<json> found;
  for (;;) {
    auto page = ctx.store()->scan(kTable, scan);
    if (!page) {
      status = std::move(page).error();
      return nullptr;
    }
    for (const auto& [key, value] : *page) {
      auto stored = decode_entry(value);
      if (!bus::topic_matches(topic, stored.value("topic", ""))) continue;
      auto entry = with_body(std::move(stored));
      const bool in_chain =
          chain.empty() || entry.value("id", "") == chain ||
          (entry["body"].is_object() && entry["body"].value("chain", "") == chain);
      if (in_chain && bus::topic_matches(topic, entry.value("topic", "")))
        found.push_back(std::move(entry));
      if (found.size() >= static_cast<std::size_t>(limit)) break;
    }
    if (found.size() >= static_cast<std::size_t>(limit) || page->size() < scan.limit) break;
    scan.until = page->back().first;  // exclusive: continue below the last key seen
  }
  for (auto it = found.rbegin(); it != found.rend(); ++it)
    events.push_back(std::move(*it));
  return json{{"events", std::move(events)}};
}

void JournalModule::on_request(const bus::Envelope& request, Context& ctx, Reply reply) {
  auto filter = bus::from_body(request.body);
  if (!filter) return reply.fail(filter.error());
  Result<void> status = ok();
  auto answer = query(filter->is_null() ? json::object() : *filter, ctx, status);
  if (!status) return reply.fail(status.error());
  reply.ok_json(answer);
}

NAUTO_REGISTER_MODULE(JournalModule, "journal");

}  // namespace nauto::mod::journal
