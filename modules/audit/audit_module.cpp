// The audit module (issue 30): takes the router's records of every request that changes
// something and every refusal (bus.audit.take, kernel/router/audit_tap.h), appends them to a
// hash chain in its own tables (audit_chain.h), signs the chain's head now and then
// (audit_signer.h), keeps it for `max_age` with a verifiable anchor, and forwards every record
// to syslog/SIEM receivers (audit_forwarder.h). Answers audit.list, audit.show, audit.verify
// and audit.stats (bus/schema/audit.yaml).
//
// Thread: the module's; the forwarders have their own, and verify runs off it (Offload).

#include <fnmatch.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <optional>

#include "audit_chain.h"
#include "audit_forwarder.h"
#include "audit_signer.h"
#include "nauto/base/clock.h"
#include "nauto/base/log.h"
#include "nauto/bus/body.h"
#include "nauto/bus/schema_types.h"
#include "nauto/sdk/config_reader.h"
#include "nauto/sdk/offload.h"
#include "nauto/sdk/registry.h"
#include "nauto/store/store.h"

namespace nauto::mod::audit {

using nlohmann::json;
namespace schema = bus::schema;

namespace {

constexpr const char* kName = "audit";
constexpr const char* kRouterKey = "router";  // audit_meta: {epoch, last} of the router taken
constexpr std::int64_t kTakeTimeoutMs = 30'000;
constexpr std::int64_t kTakeRetryMs = 1000;
constexpr std::size_t kTakeMax = 1000;
constexpr std::size_t kListMax = 10'000;
constexpr std::size_t kPage = 4096;

struct AuditSettings {
  std::string signing_key;  ///< empty: heads are not signed
  std::int64_t sign_every_ms = 60'000;
  std::int64_t max_age_ms = 365LL * 86'400'000;
  std::int64_t retention_interval_ms = 3'600'000;
  std::vector<ForwardTarget> forward;
};

Result<AuditSettings> read_settings(const json& config) {
  AuditSettings s;
  ConfigReader r(config, "modules.audit");
  s.signing_key = r.string("signing_key", "");
  s.sign_every_ms = r.duration_ms("sign_every", s.sign_every_ms, 100);
  s.max_age_ms = r.duration_ms("max_age", s.max_age_ms, 1000);
  s.retention_interval_ms = r.duration_ms("retention_interval", s.retention_interval_ms, 100);
  r.allow("forward");  // a list, read below
  auto forward =
      read_forward_targets(config.is_object() ? config.value("forward", json()) : json());
  if (auto done = r.finish(); !done) return std::move(done).error();
  if (!forward) return std::move(forward).error();
  s.forward = std::move(*forward);
  return s;
}

bool glob_matches(const std::string& pattern, const std::string& text) {
  return ::fnmatch(pattern.c_str(), text.c_str(), 0) == 0;
}

}  // namespace

class AuditModule final : public Module {
 public:
  Manifest manifest() const override {
    return Manifest::declared(kName, "the tamper-evident audit trail of what changed and who asked",
                              {}, {kRecordsTable, kHeadsTable, kMetaTable});
  }

  Result<void> validate(const json& config) const override {
    auto settings = read_settings(config);
    if (!settings) return std::move(settings).error();
    return ok();
  }

  Result<void> start(Context& ctx) override {
    auto settings = read_settings(ctx.config());
    if (!settings) return std::move(settings).error();
    settings_ = std::move(*settings);
    store_ = ctx.store();
    if (!store_) {
      return fail(Errc::Unsupported,
                  "the audit trail needs the kernel's store; run it in-process (remove "
                  "'isolation: process')",
                  "modules.audit");
    }
    if (!settings_.signing_key.empty()) {
      auto signer = AuditSigner::open(settings_.signing_key);
      if (!signer) return std::move(signer).error();
      signer_.emplace(std::move(*signer));
    } else {
      ctx.log().warn(
          "modules.audit.signing_key is not set: the chain's heads are not signed, so a rewrite "
          "of the whole chain after an edit would not be found");
    }
    auto tail = read_tail(*store_);
    if (!tail) return std::move(tail).error();
    tail_ = *tail;
    auto router = store_->get(kMetaTable, kRouterKey);
    if (!router) return std::move(router).error();
    if (*router) {
      if (auto taken = bus::from_body(**router); taken && taken->is_object()) {
        router_epoch_ = taken->value("epoch", std::int64_t{0});
        router_last_ = taken->value("last", std::uint64_t{0});
      }
    }
    store::ScanOptions last_head;
    last_head.reverse = true;
    last_head.limit = 1;
    if (auto head = store_->scan(kHeadsTable, last_head); head && !head->empty())
      last_signed_ = seq_of_key(head->front().first).value_or(0);
    if (auto started = verifier_.start(ctx); !started) return started;
    for (const auto& target : settings_.forward) {
      auto forwarder = std::make_shared<AuditForwarder>(target, *store_);
      forwarder->start();
      forwarders_.push_back(std::move(forwarder));
    }
    if (!ctx.passive()) {
      ctx.every(std::chrono::milliseconds(settings_.sign_every_ms), [this] { sign_head(); });
      ctx.every(std::chrono::milliseconds(settings_.retention_interval_ms), [this] { sweep(); });
      take(ctx);
    }
    return ok();
  }

  void stop(Context& ctx) noexcept override {
    verifier_.stop(ctx);
    for (auto& forwarder : forwarders_)
      forwarder->stop();
    forwarders_.clear();
    sign_head();
  }

  void on_request(const bus::Envelope& request, Context&, Reply reply) override {
    const auto& topic = request.topic;
    if (topic == schema::AuditVerifyRequest::kTopic) return verify(std::move(reply));
    auto answer = answer_query(request);
    if (!answer) return reply.fail(answer.error());
    reply.ok_json(*answer);
  }

 private:
  // ---- taking the router's records ----

  void take(Context& ctx) {
    json ask = {{"after", router_last_}, {"max", kTakeMax}, {"epoch", router_epoch_}};
    ctx.request(schema::BusAuditTakeRequest::kTopic, bus::to_body(ask), kTakeTimeoutMs,
                [this, &ctx](Result<std::string> answer) {
                  auto taken = answer ? schema::decode_body<schema::BusAuditTakeReply>(*answer)
                                      : Result<schema::BusAuditTakeReply>(answer.error());
                  if (!taken) {
                    if (take_failures_++ % 60 == 0)
                      ctx.log().warn("cannot take the router's audit records: {}",
                                     taken.error().describe());
                    ctx.after(std::chrono::milliseconds(kTakeRetryMs), [this, &ctx] { take(ctx); });
                    return;
                  }
                  take_failures_ = 0;
                  append(ctx, *taken);
                  take(ctx);
                });
  }

  // Appends the taken records to the chain in one batch: a gap record first when the router
  // dropped some, and where the taking stands, so a restart neither repeats nor skips.
  void append(Context& ctx, const schema::BusAuditTakeReply& taken) {
    if (write_failed_->exchange(false)) {
      // A failed commit left the chain in memory ahead of the store: continue from the store.
      if (auto tail = read_tail(*store_)) tail_ = *tail;
    }
    store::WriteBatch batch;
    auto add = [&](json record) {
      const auto seq = tail_.seq + 1;
      record["seq"] = seq;
      Hash hash{};
      batch.append(kRecordsTable, seq_key(seq), encode_link(seq, tail_.hash, record, hash));
      tail_ = Anchor{seq, hash};
      ++appended_;
    };
    if (taken.epoch != router_epoch_ && router_epoch_ != 0) {
      // nautod restarted: records the old router held and nobody took are gone with it.
      ctx.log().info("the router restarted; taking its records from the start");
    }
    if (taken.lost > 0) {
      lost_ += static_cast<std::uint64_t>(taken.lost);
      add(json{{"kind", "gap"},
               {"time_us", now_us()},
               {"outcome", "lost"},
               {"lost", taken.lost},
               {"error", std::to_string(taken.lost) +
                             " records were dropped by the router before they could be taken"}});
    }
    for (const auto& record : taken.records) {
      if (!record.is_object()) continue;
      json entry = record;
      entry.erase("seq");  // the router's numbering; the chain has its own
      add(std::move(entry));
    }
    router_epoch_ = taken.epoch;
    router_last_ = static_cast<std::uint64_t>(taken.last);
    batch.put(kMetaTable, kRouterKey,
              bus::to_body(json{{"epoch", router_epoch_}, {"last", router_last_}}));
    store_->write(std::move(batch), [log = logger("mod.audit"), failed = write_failed_,
                                     forwarders = forwarders_](Result<void> written) {
      if (!written) {
        failed->store(true);
        log->error("audit records not stored: {}", written.error().describe());
        return;
      }
      for (const auto& forwarder : forwarders)
        forwarder->notify();
    });
  }

  // ---- signed heads and retention ----

  void sign_head() {
    if (!signer_ || !store_ || tail_.seq == 0 || tail_.seq == last_signed_) return;
    store::WriteBatch batch;
    batch.put(kHeadsTable, seq_key(tail_.seq),
              bus::to_body(json{{"seq", tail_.seq},
                                {"hash", hex(tail_.hash)},
                                {"signature", signer_->sign(tail_.seq, tail_.hash)},
                                {"public_key", signer_->public_key()},
                                {"time_us", now_us()}}));
    if (auto written = store_->write(std::move(batch)).wait(); !written) {
      logger("mod.audit")->error("cannot store a signed head: {}", written.error().describe());
      return;
    }
    last_signed_ = tail_.seq;
  }

  // Removes the records older than max_age, keeping the chain verifiable: the last one removed
  // becomes the anchor, in the same commit.
  void sweep() {
    const auto cutoff = now_us() - settings_.max_age_ms * 1000;
    std::optional<Anchor> last_old;
    store::ScanOptions scan;
    scan.limit = kPage;
    for (bool more = true; more;) {
      auto page = store_->scan(kRecordsTable, scan);
      if (!page) return;
      for (const auto& [key, value] : *page) {
        const auto stored = read_record(value);
        if (!stored || stored->record.value("time_us", INT64_MAX) >= cutoff) {
          more = false;
          break;
        }
        last_old = Anchor{seq_of_key(key).value_or(0), stored->hash};
      }
      if (more && page->size() < scan.limit) more = false;
      if (more) scan.from = seq_key(last_old ? last_old->seq + 1 : 0);
    }
    if (!last_old) return;
    store::WriteBatch batch;
    batch.erase_before(kRecordsTable, seq_key(last_old->seq + 1));
    batch.erase_before(kHeadsTable, seq_key(last_old->seq + 1));
    batch.put(kMetaTable, "anchor", bus::to_body(to_json(*last_old)));
    if (auto written = store_->write(std::move(batch)).wait(); !written) {
      logger("mod.audit")->error("audit retention failed: {}", written.error().describe());
      return;
    }
    logger("mod.audit")
        ->info(
            "audit retention: records up to {} removed; the chain is anchored "
            "there",
            last_old->seq);
  }

  // ---- services ----

  void verify(Reply reply) {
    if (verifier_.busy())
      return reply.fail(fail(Errc::Overloaded, "a verify is running; ask again when it ends"));
    auto shared = std::make_shared<Reply>(std::move(reply));
    const std::optional<AuditSigner> signer = signer_;
    verifier_.run(
        [store = store_, signer, until = tail_.seq, started = now_us()] {
          HeadCheck check;
          if (signer) {
            check = [&signer](std::uint64_t seq, const Hash& hash, std::string_view signature) {
              return signer->check(seq, hash, signature);
            };
          }
          return verify_chain(*store, check, until, started, signer);
        },
        [shared](Result<json> verdict) {
          if (!verdict) return shared->fail(verdict.error());
          shared->ok_json(*verdict);
        });
  }

  static Result<json> verify_chain(const store::Store& store, const HeadCheck& check,
                                   std::uint64_t until, std::int64_t started,
                                   const std::optional<AuditSigner>& signer) {
    auto verdict = audit::verify(store, check, until, started);
    if (!verdict) return std::move(verdict).error();
    auto out = verdict->to_json();
    out["public_key"] = signer ? signer->public_key() : "";
    out["signed"] = signer.has_value();
    if (auto anchor = read_anchor(store)) out["anchor"] = to_json(*anchor);
    return out;
  }

  Result<json> answer_query(const bus::Envelope& request) {
    const auto& topic = request.topic;
    if (topic == schema::AuditListRequest::kTopic) {
      auto args = schema::decode_body<schema::AuditListRequest>(request.body);
      if (!args) return std::move(args).error();
      return list(*args);
    }
    if (topic == schema::AuditShowRequest::kTopic) {
      auto args = schema::decode_body<schema::AuditShowRequest>(request.body);
      if (!args) return std::move(args).error();
      if (args->seq < 1) return fail(Errc::InvalidArgument, "audit.show: seq is 1 or more");
      auto stored = store_->get(kRecordsTable, seq_key(static_cast<std::uint64_t>(args->seq)));
      if (!stored) return std::move(stored).error();
      if (!*stored) return fail(Errc::NotFound, "no audit record " + std::to_string(args->seq));
      auto read = read_record(**stored);
      if (!read)
        return fail(Errc::Malformed,
                    "audit record " + std::to_string(args->seq) + " is unreadable");
      return json{{"record", std::move(read->record)},
                  {"hash", hex(read->hash)},
                  {"prev", hex(read->prev)}};
    }
    if (topic == schema::AuditStatsRequest::kTopic) {
      json forwarders = json::array();
      for (const auto& forwarder : forwarders_)
        forwarders.push_back(forwarder->stats());
      json out = {{"last_seq", tail_.seq},
                  {"appended", appended_},
                  {"lost", lost_},
                  {"last_signed", last_signed_},
                  {"signed", signer_.has_value()},
                  {"router_epoch", router_epoch_},
                  {"router_taken", router_last_},
                  {"forwarders", std::move(forwarders)}};
      if (auto anchor = read_anchor(*store_)) out["anchor"] = to_json(*anchor);
      return out;
    }
    return fail(Errc::Unsupported, "unknown service " + topic);
  }

  Result<json> list(const schema::AuditListRequest& args) {
    if (args.limit < 1 || args.limit > static_cast<std::int64_t>(kListMax))
      return fail(Errc::InvalidArgument, "audit.list: limit is 1 to 10000");
    const auto limit = static_cast<std::size_t>(args.limit);
    auto matches = [&args](const json& record) {
      const auto time = record.value("time_us", std::int64_t{0});
      return (args.principal.empty() || record.value("principal", "") == args.principal) &&
             (args.service.empty() || glob_matches(args.service, record.value("service", ""))) &&
             (args.outcome.empty() || record.value("outcome", "") == args.outcome) &&
             (args.since_us == 0 || time >= args.since_us) &&
             (args.until_us == 0 || time < args.until_us);
    };
    std::vector<json> found;
    store::ScanOptions scan;
    scan.limit = kPage;
    scan.reverse = args.after < 0;  // the newest matches, unless paging forward
    if (args.after >= 0) scan.from = seq_key(static_cast<std::uint64_t>(args.after) + 1);
    for (;;) {
      auto page = store_->scan(kRecordsTable, scan);
      if (!page) return std::move(page).error();
      for (const auto& [key, value] : *page) {
        auto stored = read_record(value);
        if (!stored || !matches(stored->record)) continue;
        stored->record["hash"] = hex(stored->hash);
        found.push_back(std::move(stored->record));
        if (found.size() >= limit) break;
      }
      if (found.size() >= limit || page->size() < scan.limit) break;
      if (scan.reverse) {
        scan.until = page->back().first;
      } else {
        scan.from = page->back().first + std::string(1, '\0');
      }
    }
    if (scan.reverse) std::reverse(found.begin(), found.end());
    return json{{"records", std::move(found)}};
  }

  AuditSettings settings_;
  store::Store* store_ = nullptr;
  std::optional<AuditSigner> signer_;
  Anchor tail_;  // the chain's last record in memory (the next links to it)
  std::int64_t router_epoch_ = 0;
  std::uint64_t router_last_ = 0;
  std::uint64_t appended_ = 0;
  std::uint64_t lost_ = 0;
  std::uint64_t last_signed_ = 0;
  std::uint64_t take_failures_ = 0;
  // Set by the store's thread when a commit of records failed; shared, since the callback may
  // run after the module stopped.
  std::shared_ptr<std::atomic<bool>> write_failed_ = std::make_shared<std::atomic<bool>>(false);
  std::vector<std::shared_ptr<AuditForwarder>> forwarders_;
  Offload<Result<json>> verifier_;
};

NAUTO_REGISTER_MODULE(AuditModule, "audit");

}  // namespace nauto::mod::audit
