#include "work_dispatcher.h"

#include <pthread.h>

#include <algorithm>
#include <chrono>

#include "nauto/base/clock.h"
#include "nauto/base/log.h"
#include "work_streams.h"

namespace nauto::devices {

using nlohmann::json;

namespace {

constexpr std::int64_t kRedisTimeoutMs = 10'000;
constexpr std::int64_t kReadBlockMs = 1'000;
constexpr std::size_t kBatch = 512;
constexpr std::int64_t kStatusEveryUs = 1'000'000;
// A worker whose heartbeat is older than this is shown as not alive.
constexpr std::int64_t kAliveUs = 5'000'000;

bool not_newer(const RedisReply& reply) {
  return reply.is_error() && reply.text.find("equal or smaller") != std::string::npos;
}

// "<ms>-<seq>" -> (ms, seq); (0, 0) when it is not one.
std::pair<std::int64_t, std::int64_t> split_id(const std::string& id) {
  const auto dash = id.find('-');
  if (dash == std::string::npos) return {0, 0};
  try {
    return {std::stoll(id.substr(0, dash)), std::stoll(id.substr(dash + 1))};
  } catch (const std::exception&) {
    return {0, 0};
  }
}

json info_map(const RedisReply& reply) {
  json out = json::object();
  for (std::size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
    const auto& value = reply.elements[i + 1];
    if (value.type == RedisReply::Type::Integer)
      out[reply.elements[i].text] = value.integer;
    else if (value.type == RedisReply::Type::Nil)
      out[reply.elements[i].text] = nullptr;
    else
      out[reply.elements[i].text] = value.text;
  }
  return out;
}

}  // namespace

WorkDispatcher::WorkDispatcher(DispatcherSettings settings, SigningKey key, ResultSink sink)
    : settings_(std::move(settings)), key_(std::move(key)), sink_(std::move(sink)) {
  sender_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "work/send");
    sender_loop();
  });
  results_reader_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "work/results");
    results_loop();
  });
}

WorkDispatcher::~WorkDispatcher() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  sender_.join();
  results_reader_.join();
  if (!queue_.empty())
    logger("mod.devices")
        ->warn("{} work item(s) never reached Redis; their jobs record them as interrupted",
               queue_.size());
}

void WorkDispatcher::send(std::vector<WorkItem> items) {
  {
    std::lock_guard lock(mutex_);
    for (auto& item : items)
      queue_.push_back({std::move(item), {}, false});
  }
  wake_.notify_all();
}

void WorkDispatcher::cancel(const std::string& job, std::int64_t ttl_ms) {
  {
    std::lock_guard lock(mutex_);
    cancels_.emplace_back(job, std::max<std::int64_t>(ttl_ms, 1000));
    // Items still here never go out: their devices are settled by the job engine.
    std::erase_if(queue_, [&](const Queued& q) { return q.item.job == job && !q.attempted; });
  }
  wake_.notify_all();
}

std::string WorkDispatcher::next_id() {
  const auto now_ms = now_us() / 1000;
  if (now_ms > last_ms_) {
    last_ms_ = now_ms;
    seq_ = 0;
  } else {
    ++seq_;
  }
  return std::to_string(last_ms_) + "-" + std::to_string(seq_);
}

bool WorkDispatcher::add(RedisConnection& redis, std::vector<Queued>& batch) {
  std::vector<std::vector<std::string>> setup;
  std::vector<std::string> new_pools;
  {
    std::lock_guard lock(mutex_);
    for (const auto& q : batch)
      if (!pools_.count(q.item.pool) &&
          std::find(new_pools.begin(), new_pools.end(), q.item.pool) == new_pools.end())
        new_pools.push_back(q.item.pool);
  }
  // A pool's group exists before its first item, from the stream's start: items added before
  // any worker joined are delivered when one does.
  for (const auto& pool : new_pools)
    if (!ensure_group(redis, streams::work(pool), streams::kWorkersGroup, kRedisTimeoutMs))
      return false;
  std::vector<std::vector<std::string>> adds;
  for (auto& q : batch) {
    if (q.id.empty()) {
      std::lock_guard lock(mutex_);
      q.id = next_id();
    }
    const auto signed_item = sign_item(q.item, key_);
    adds.push_back({"XADD", streams::work(q.item.pool), q.id, "i", signed_item.payload, "s",
                    signed_item.signature});
  }
  auto replies = redis.pipeline(adds, kRedisTimeoutMs);
  if (!replies) {
    for (auto& q : batch)
      q.attempted = true;
    return false;
  }
  std::vector<Queued> again;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const auto& reply = (*replies)[i];
    if (!reply.is_error()) continue;
    if (not_newer(reply) && batch[i].attempted) continue;  // added by the lost attempt
    if (not_newer(reply)) {
      // The stream is ahead of our clock (another control node, a clock step back): continue
      // past its top.
      auto info =
          redis.command({"XINFO", "STREAM", streams::work(batch[i].item.pool)}, kRedisTimeoutMs);
      if (info) {
        const auto top = split_id(info_map(*info).value("last-generated-id", ""));
        std::lock_guard lock(mutex_);
        if (top.first > last_ms_ || (top.first == last_ms_ && top.second >= seq_)) {
          last_ms_ = top.first;
          seq_ = top.second;
        }
      }
      batch[i].id.clear();
      again.push_back(std::move(batch[i]));
      continue;
    }
    logger("mod.devices")
        ->error("Redis refused a work item for {}: {}", batch[i].item.device, reply.text);
    batch[i].attempted = true;
    again.push_back(std::move(batch[i]));
  }
  {
    std::lock_guard lock(mutex_);
    for (const auto& pool : new_pools)
      pools_.insert(pool);
    sent_ += batch.size() - again.size();
  }
  batch = std::move(again);
  return batch.empty();
}

void WorkDispatcher::sender_loop() {
  auto log = logger("mod.devices");
  std::unique_ptr<RedisConnection> redis;
  std::int64_t backoff_ms = 100;
  std::vector<Queued> batch;
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (batch.empty() && queue_.empty() && cancels_.empty()) {
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty() || !cancels_.empty(); });
      continue;
    }
    if (!redis || redis->broken()) {
      lock.unlock();
      auto opened = RedisConnection::open(settings_.redis, kRedisTimeoutMs);
      lock.lock();
      if (!opened) {
        lock.unlock();
        note_connection(opened.error().describe());
        lock.lock();
        wake_.wait_for(lock, std::chrono::milliseconds(backoff_ms), [this] { return stopping_; });
        backoff_ms = std::min<std::int64_t>(backoff_ms * 2, 5'000);
        continue;
      }
      if (!queue_.empty() || !batch.empty())
        log->info("Redis {}: sending {} item(s)", describe(settings_.redis),
                  queue_.size() + batch.size());
      redis = std::move(*opened);
      lock.unlock();
      note_connection("");
      lock.lock();
      backoff_ms = 100;
      // A new connection: the groups are checked again (Redis may have lost them).
      pools_.clear();
    }
    auto cancels = std::move(cancels_);
    cancels_.clear();
    while (batch.size() < kBatch && !queue_.empty()) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    lock.unlock();
    bool ok = true;
    if (!cancels.empty()) {
      std::vector<std::vector<std::string>> marks;
      for (const auto& [job, ttl] : cancels)
        marks.push_back({"SET", streams::cancel(job), "1", "PX", std::to_string(ttl)});
      ok = redis->pipeline(marks, kRedisTimeoutMs).has_value();
    }
    if (ok && !batch.empty()) ok = add(*redis, batch);
    lock.lock();
    if (!ok && !cancels.empty()) cancels_.insert(cancels_.end(), cancels.begin(), cancels.end());
    if (!ok && redis && !redis->broken())
      wake_.wait_for(lock, std::chrono::milliseconds(backoff_ms), [this] { return stopping_; });
  }
  // Whatever did not go out is kept for the destructor's count.
  for (auto& q : batch)
    queue_.push_front(std::move(q));
}

void WorkDispatcher::refresh_status(RedisConnection& redis) {
  std::set<std::string> pools;
  {
    std::lock_guard lock(mutex_);
    pools = pools_;
  }
  auto workers = redis.command({"HGETALL", streams::kWorkers}, kRedisTimeoutMs);
  if (!workers) return;
  json worker_list = json::array();
  const auto now = now_us();
  for (std::size_t i = 0; i + 1 < workers->elements.size(); i += 2) {
    auto beat = json::parse(workers->elements[i + 1].text, nullptr, false);
    if (!beat.is_object()) continue;
    beat["name"] = workers->elements[i].text;
    const auto beat_us = beat.find("beat_us");
    if (beat_us == beat.end() || !beat_us->is_number_integer() || !beat["pool"].is_string())
      continue;  // not a worker's heartbeat
    const auto age = now - beat_us->get<std::int64_t>();
    beat["age_ms"] = age / 1000;
    beat["alive"] = age < kAliveUs;
    pools.insert(beat["pool"].get<std::string>());
    worker_list.push_back(std::move(beat));
  }
  json pool_list = json::array();
  for (const auto& pool : pools) {
    if (pool.empty()) continue;
    json entry = {{"pool", pool}, {"lag", 0}, {"pending", 0}, {"consumers", 0}, {"workers", 0}};
    auto groups = redis.command({"XINFO", "GROUPS", streams::work(pool)}, kRedisTimeoutMs);
    if (groups) {
      for (const auto& group : groups->elements) {
        const auto info = info_map(group);
        if (info.value("name", "") != streams::kWorkersGroup) continue;
        entry["pending"] = info.value("pending", 0);
        entry["consumers"] = info.value("consumers", 0);
        // lag: entries not yet delivered to any worker (Redis 7); null when Redis cannot tell.
        entry["lag"] = info.contains("lag") ? info["lag"] : json(nullptr);
      }
    }
    int alive = 0;
    for (const auto& w : worker_list)
      if (w.value("pool", "") == pool && w.value("alive", false)) ++alive;
    entry["workers"] = alive;
    pool_list.push_back(std::move(entry));
  }
  json refused = json::array();
  if (auto latest = redis.command({"XREVRANGE", streams::kRefused, "+", "-", "COUNT", "20"},
                                  kRedisTimeoutMs)) {
    for (const auto& e : stream_entries(*latest)) {
      refused.push_back({{"worker", e.field("worker")},
                         {"pool", e.field("pool")},
                         {"entry", e.field("entry")},
                         {"reason", e.field("reason")},
                         {"at_us", std::atoll(e.field("at_us").c_str())}});
    }
  }
  std::lock_guard lock(mutex_);
  snapshot_ = {{"pools", pool_list}, {"workers", worker_list}, {"refused", refused}};
  snapshot_us_ = now;
}

void WorkDispatcher::results_loop() {
  auto log = logger("mod.devices");
  std::unique_ptr<RedisConnection> redis;
  std::int64_t backoff_ms = 100;
  std::string from = "0";  // own pending entries first, then new ones (">")
  std::int64_t next_status = 0;
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
    }
    if (!redis || redis->broken()) {
      auto opened = RedisConnection::open(settings_.redis, kRedisTimeoutMs);
      Result<void> grouped = opened ? ensure_group(**opened, streams::kResults,
                                                   streams::kControlGroup, kRedisTimeoutMs)
                                    : Result<void>(opened.error());
      // This thread always reads, so it is the one that notices an outage first.
      note_connection(grouped ? "" : grouped.error().describe());
      if (grouped) {
        redis = std::move(*opened);
        backoff_ms = 100;
        from = "0";
      } else {
        std::unique_lock lock(mutex_);
        wake_.wait_for(lock, std::chrono::milliseconds(backoff_ms), [this] { return stopping_; });
        backoff_ms = std::min<std::int64_t>(backoff_ms * 2, 5'000);
        continue;
      }
    }
    if (steady_us() >= next_status) {
      refresh_status(*redis);
      next_status = steady_us() + kStatusEveryUs;
    }
    std::vector<std::string> read = {"XREADGROUP",   "GROUP", streams::kControlGroup,
                                     settings_.node, "COUNT", std::to_string(kBatch)};
    if (from == ">") {
      read.push_back("BLOCK");
      read.push_back(std::to_string(kReadBlockMs));
    }
    read.insert(read.end(), {"STREAMS", streams::kResults, from});
    auto reply = redis->command(read, kRedisTimeoutMs + kReadBlockMs);
    if (!reply) {
      if (reply.error().message.rfind("NOGROUP", 0) == 0)
        (void)ensure_group(*redis, streams::kResults, streams::kControlGroup, kRedisTimeoutMs);
      continue;
    }
    auto entries = read_group_entries(*reply);
    if (entries.empty()) {
      from = ">";  // the pending ones are done
      continue;
    }
    std::vector<WorkResult> results;
    std::vector<std::vector<std::string>> acks;
    std::size_t forged = 0;
    for (const auto& entry : entries) {
      auto result = open_result({entry.field("r"), entry.field("m")}, key_);
      if (!result) {
        ++forged;
        log->error("result {} refused: {}", entry.id, result.error().message);
      } else {
        results.push_back(std::move(*result));
      }
      acks.push_back({"XACK", streams::kResults, streams::kControlGroup, entry.id});
      acks.push_back({"XDEL", streams::kResults, entry.id});
    }
    const auto count = results.size();
    if (!results.empty()) sink_(std::move(results));  // durable when it returns
    (void)redis->pipeline(acks, kRedisTimeoutMs);
    std::lock_guard lock(mutex_);
    results_ += count;
    forged_results_ += forged;
  }
}

void WorkDispatcher::note_connection(const std::string& error) {
  std::lock_guard lock(mutex_);
  if (error.empty()) {
    if (!error_.empty())
      logger("mod.devices")->info("Redis {} answers again", describe(settings_.redis));
    connected_ = true;
    error_.clear();
    return;
  }
  if (error_.empty()) {
    error_since_us_ = now_us();
    logger("mod.devices")
        ->error("Redis {}: {}; dispatch stalls until it is back", describe(settings_.redis), error);
  }
  connected_ = false;
  error_ = error;
}

json WorkDispatcher::status() const {
  std::lock_guard lock(mutex_);
  auto out = snapshot_;
  out["redis"] = {{"url", describe(settings_.redis)},
                  {"connected", connected_},
                  {"error", error_},
                  {"since_us", error_.empty() ? 0 : error_since_us_}};
  out["queued"] = queue_.size();
  out["sent"] = sent_;
  out["results"] = results_;
  out["forged_results"] = forged_results_;
  out["status_age_ms"] = snapshot_us_ ? (now_us() - snapshot_us_) / 1000 : -1;
  for (const char* key : {"pools", "workers", "refused"})
    if (!out.contains(key)) out[key] = json::array();
  return out;
}

}  // namespace nauto::devices
