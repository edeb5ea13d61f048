#include "worker_engine.h"

#include <pthread.h>
#include <unistd.h>

#include <algorithm>

#include "device_task.h"
#include "inventory_host.h"
#include "nauto/base/clock.h"
#include "nauto/base/log.h"
#include "work_streams.h"

namespace nauto::devices {

using nlohmann::json;

namespace {

constexpr std::int64_t kRedisTimeoutMs = 10'000;
// The intake's longest block on XREADGROUP: how soon it sees a stop (items wake it at once).
constexpr std::int64_t kReadBlockMs = 1'000;
constexpr std::int64_t kHeartbeatUs = 1'000'000;
constexpr std::int64_t kCredentialLifetimeUs = 10'000'000;
// How long the intake waits after the control node could not give credentials.
constexpr std::int64_t kCredentialPauseUs = 2'000'000;
constexpr std::size_t kResultsBatch = 512;
// How long a stopping worker lets its devices in flight finish before cancelling them.
constexpr std::int64_t kStopGraceMs = 20'000;

DeviceOutcome decided(const WorkItem& item, DeviceStatus status, Errc code, std::string error) {
  DeviceOutcome outcome;
  outcome.device = item.device;
  outcome.status = status;
  outcome.error_code = std::string(errc_name(code));
  outcome.error = std::move(error);
  outcome.finished_us = now_us();
  return outcome;
}

}  // namespace

struct WorkerEngine::Pending {
  StreamEntry entry;
  WorkItem item;
  long long deliveries = 1;
  std::optional<DeviceOutcome> outcome;  // decided without touching the device
  bool sent = false;                     // a push now recorded in nauto:sent:<pool>
  bool refused = false;                  // reported on nauto:refused; no result
};

WorkerEngine::WorkerEngine(WorkerSettings settings, const drivers::PlatformCatalog& catalog,
                           CredentialFetch fetch)
    : settings_(std::move(settings)),
      catalog_(catalog),
      fetch_(std::move(fetch)),
      stream_(streams::work(settings_.pool)),
      started_us_(now_us()) {
  loops_ = make_session_loops(settings_.session_threads);
  intake_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "worker/intake");
    intake_loop();
  });
  results_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "worker/results");
    results_loop();
  });
}

WorkerEngine::~WorkerEngine() {
  {
    std::unique_lock lock(mutex_);
    stopping_ = true;
    wake_.notify_all();
  }
  intake_.join();
  {
    // Devices in flight finish by themselves, or are cancelled after the grace.
    std::unique_lock lock(mutex_);
    const bool idle = wake_.wait_for(lock, std::chrono::milliseconds(kStopGraceMs),
                                     [this] { return stats_.in_flight == 0; });
    if (!idle)
      for (auto& [job, flag] : job_cancel_)
        flag->store(true);
  }
  loops_.clear();  // waits for the fibers
  {
    std::lock_guard lock(mutex_);
    loops_stopped_ = true;
    wake_.notify_all();  // the results thread drains what is left and ends
  }
  results_.join();
}

std::unique_ptr<RedisConnection> WorkerEngine::connect(std::string& error) {
  auto connection = RedisConnection::open(settings_.redis, kRedisTimeoutMs);
  if (!connection) {
    error = connection.error().describe();
    return nullptr;
  }
  if (auto group = ensure_group(**connection, stream_, streams::kWorkersGroup, kRedisTimeoutMs);
      !group) {
    error = group.error().describe();
    return nullptr;
  }
  error.clear();
  return std::move(*connection);
}

void WorkerEngine::intake_loop() {
  auto log = logger("mod.worker");
  std::unique_ptr<RedisConnection> redis;
  std::int64_t backoff_ms = 100;
  std::int64_t next_claim_us = 0;
  std::string claim_cursor = "0-0";
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (!redis || redis->broken()) {
      lock.unlock();
      std::string error;
      redis = connect(error);
      lock.lock();
      if (!redis) {
        log->warn("Redis {}: {}; retrying in {} ms", describe(settings_.redis), error, backoff_ms);
        wake_.wait_for(lock, std::chrono::milliseconds(backoff_ms), [this] { return stopping_; });
        backoff_ms = std::min<std::int64_t>(backoff_ms * 2, 5'000);
        continue;
      }
      backoff_ms = 100;
      log->info("taking pool {}'s items from {}", settings_.pool, describe(settings_.redis));
      // Other workers' items are claimed only after each live worker has had time to claim its
      // own in flight again (its heartbeat does, every second): after an outage, every item
      // looks idle for a while.
      next_claim_us = steady_us() + settings_.min_idle_ms * 1000 / 2;
    }
    // Only as many items as there are free sessions: the rest stay in Redis for others.
    wake_.wait(lock, [this] { return stopping_ || stats_.in_flight < settings_.max_sessions; });
    if (stopping_) break;
    if (const auto pause = pause_until_us_ - steady_us(); pause > 0) {
      wake_.wait_for(lock, std::chrono::microseconds(pause), [this] { return stopping_; });
      continue;
    }
    const auto free = settings_.max_sessions - stats_.in_flight;
    lock.unlock();
    const auto now = steady_us();
    if (now >= next_claim_us) {
      auto claimed = redis->command({"XAUTOCLAIM", stream_, streams::kWorkersGroup, settings_.name,
                                     std::to_string(settings_.min_idle_ms), claim_cursor, "COUNT",
                                     std::to_string(std::min<std::int64_t>(free, 100))},
                                    kRedisTimeoutMs);
      if (claimed && claimed->elements.size() >= 2) {
        claim_cursor = claimed->elements[0].text;
        if (claim_cursor == "0-0") next_claim_us = now + settings_.min_idle_ms * 1000 / 2;
        auto entries = stream_entries(claimed->elements[1]);
        if (!entries.empty()) {
          log->warn("claimed {} item(s) of pool {} idle for {} ms or more (a worker stopped)",
                    entries.size(), settings_.pool, settings_.min_idle_ms);
          take(*redis, std::move(entries), true);
        }
      } else if (!claimed && claimed.error().message.rfind("NOGROUP", 0) == 0) {
        (void)ensure_group(*redis, stream_, streams::kWorkersGroup, kRedisTimeoutMs);
      }
      lock.lock();
      continue;
    }
    const auto block_ms = std::clamp<std::int64_t>((next_claim_us - now) / 1000, 1, kReadBlockMs);
    auto read = redis->command(
        {"XREADGROUP", "GROUP", streams::kWorkersGroup, settings_.name, "COUNT",
         std::to_string(free), "BLOCK", std::to_string(block_ms), "STREAMS", stream_, ">"},
        kRedisTimeoutMs + block_ms);
    if (read) {
      auto entries = read_group_entries(*read);
      if (!entries.empty()) take(*redis, std::move(entries), false);
    } else if (read.error().message.rfind("NOGROUP", 0) == 0) {
      // Redis lost its data (restarted without persistence): the group is made again.
      (void)ensure_group(*redis, stream_, streams::kWorkersGroup, kRedisTimeoutMs);
    } else if (!redis->broken()) {
      log->error("XREADGROUP on {}: {}", stream_, read.error().describe());
    }
    lock.lock();
  }
}

void WorkerEngine::refuse(RedisConnection& redis, const StreamEntry& entry,
                          const std::string& reason) {
  logger("mod.worker")->error("item {} of pool {} refused: {}", entry.id, settings_.pool, reason);
  {
    std::lock_guard lock(mutex_);
    ++stats_.refused;
    held_entries_.erase(entry.id);
  }
  (void)redis.pipeline(
      {{"XADD", streams::kRefused, "MAXLEN", "~", std::to_string(streams::kRefusedKept), "*",
        "worker", settings_.name, "pool", settings_.pool, "entry", entry.id, "reason", reason,
        "at_us", std::to_string(now_us())},
       {"XACK", stream_, streams::kWorkersGroup, entry.id},
       {"XDEL", stream_, entry.id}},
      kRedisTimeoutMs);
}

void WorkerEngine::take(RedisConnection& redis, std::vector<StreamEntry> entries, bool claimed) {
  std::vector<Pending> taken;
  for (auto& entry : entries) {
    if (claimed) {
      // Our own items, still running here or waiting for their acknowledgement, claimed back
      // after an outage made them look idle: they are not run twice.
      std::lock_guard lock(mutex_);
      if (held_entries_.count(entry.id)) continue;
    }
    auto item = open_item({entry.field("i"), entry.field("s")}, settings_.control_key);
    if (!item) {
      refuse(redis, entry, item.error().message);
      continue;
    }
    if (item->pool != settings_.pool) {
      refuse(redis, entry, "the item is for pool '" + item->pool + "', not this worker's");
      continue;
    }
    {
      std::lock_guard lock(mutex_);
      held_entries_.insert(entry.id);
    }
    Pending pending;
    pending.entry = std::move(entry);
    pending.item = std::move(*item);
    taken.push_back(std::move(pending));
  }
  if (taken.empty()) return;
  // One round trip decides them all: cancelled jobs, delivery counts, the pushes' sent marks.
  std::vector<std::vector<std::string>> checks;
  std::vector<std::string> jobs;
  for (const auto& p : taken)
    if (std::find(jobs.begin(), jobs.end(), p.item.job) == jobs.end()) jobs.push_back(p.item.job);
  for (const auto& job : jobs)
    checks.push_back({"EXISTS", streams::cancel(job)});
  const auto sent_key = streams::sent(settings_.pool);
  const auto mark = json{{"worker", settings_.name}, {"at_us", now_us()}}.dump();
  for (const auto& p : taken) {
    if (claimed)
      checks.push_back({"XPENDING", stream_, streams::kWorkersGroup, p.entry.id, p.entry.id, "1"});
    if (!p.item.read_only()) {
      const auto field = streams::sent_field(p.item.job, p.item.device);
      checks.push_back(claimed ? std::vector<std::string>{"HGET", sent_key, field}
                               : std::vector<std::string>{"HSETNX", sent_key, field, mark});
    }
  }
  // Not decided (Redis went away): not ours to hold; claimed again later.
  auto let_go = [&] {
    std::lock_guard lock(mutex_);
    for (const auto& p : taken)
      held_entries_.erase(p.entry.id);
  };
  auto replies = redis.pipeline(checks, kRedisTimeoutMs);
  if (!replies) return let_go();
  std::size_t at = 0;
  std::set<std::string> cancelled;
  for (const auto& job : jobs)
    if ((*replies)[at++].integer == 1) cancelled.insert(job);
  const auto now = now_us();
  std::vector<std::vector<std::string>> marks;  // claimed pushes never sent: marked now
  std::vector<Pending*> marking;
  for (auto& p : taken) {
    if (claimed) {
      const auto& pending = (*replies)[at++];
      if (!pending.elements.empty() && pending.elements[0].elements.size() >= 4)
        p.deliveries = pending.elements[0].elements[3].integer;
    }
    const RedisReply* sent = p.item.read_only() ? nullptr : &(*replies)[at++];
    const auto& item = p.item;
    if (sent && claimed && !sent->is_nil()) {
      const auto by = json::parse(sent->text, nullptr, false);
      const auto worker = by.is_object() && by["worker"].is_string()
                              ? by["worker"].get<std::string>()
                              : std::string("?");
      p.outcome = decided(item, DeviceStatus::Failed, Errc::Unavailable,
                          "outcome unknown after worker loss: worker " + worker +
                              " had started the push when it stopped; not repeated - check "
                              "the device");
      p.sent = true;  // the mark goes once this result is stored
      std::lock_guard lock(mutex_);
      ++stats_.outcome_unknown;
    } else if (sent && !claimed && sent->integer == 0) {
      // A second item for a push already sent (a replayed or duplicated entry): never twice,
      // and no result either - the first item's result is the device's.
      refuse(redis, p.entry,
             "a second item for the push " + item.job + "/" + item.device +
                 ", which a worker has already sent: not sent twice");
      p.refused = true;
    } else if (p.deliveries > settings_.max_deliveries) {
      p.outcome = decided(item, DeviceStatus::Failed, Errc::Unavailable,
                          "given up after " + std::to_string(p.deliveries) +
                              " deliveries: the workers that took it stopped each time");
    } else if (cancelled.count(item.job)) {
      p.outcome =
          decided(item, DeviceStatus::Cancelled, Errc::Cancelled, "cancelled before it started");
    } else if (now >= item.deadline_us) {
      p.outcome = decided(item, DeviceStatus::Skipped, Errc::Timeout,
                          "not started: the job deadline passed first");
    } else if (sent && claimed) {
      marks.push_back({"HSETNX", sent_key, streams::sent_field(item.job, item.device), mark});
      marking.push_back(&p);
    } else if (sent) {
      p.sent = true;
    }
  }
  if (!marks.empty()) {
    auto marked = redis.pipeline(marks, kRedisTimeoutMs);
    if (!marked) return let_go();
    for (std::size_t i = 0; i < marking.size(); ++i) {
      if ((*marked)[i].integer == 1) {
        marking[i]->sent = true;
      } else {
        marking[i]->outcome = decided(marking[i]->item, DeviceStatus::Failed, Errc::Unavailable,
                                      "outcome unknown after worker loss: another worker has "
                                      "started this push; not repeated");
      }
    }
  }
  if (claimed) {
    std::lock_guard lock(mutex_);
    stats_.claimed += static_cast<std::int64_t>(taken.size());
  }
  // Credentials for the items that will run, in one request.
  std::vector<const WorkItem*> running;
  for (const auto& p : taken)
    if (!p.outcome && !p.refused) running.push_back(&p.item);
  auto credentials = running.empty() ? Result<json>(json::object()) : credentials_for(running);
  // Unavailable: the router had no devices module to ask, or it left or restarted before
  // answering (the control node restarting), which is as passing as a timeout.
  if (!credentials && (drivers::is_transient(credentials.error()) ||
                       credentials.error().code == Errc::Unavailable)) {
    // The control node cannot answer now (restarting, unreachable): nothing is decided. The
    // pushes' sent marks go, the items stay pending and are claimed again after min_idle.
    logger("mod.worker")
        ->warn("credentials unavailable ({}); {} item(s) left pending for later",
               credentials.error().describe(), taken.size());
    std::vector<std::vector<std::string>> unmark;
    for (const auto& p : taken)
      if (p.sent && !p.outcome)
        unmark.push_back({"HDEL", sent_key, streams::sent_field(p.item.job, p.item.device)});
    if (!unmark.empty()) (void)redis.pipeline(unmark, kRedisTimeoutMs);
    let_go();
    std::lock_guard lock(mutex_);
    pause_until_us_ = steady_us() + kCredentialPauseUs;
    return;
  }
  for (auto& p : taken) {
    if (p.refused) continue;
    if (!p.outcome && !credentials)
      p.outcome = decided(p.item, DeviceStatus::Failed, credentials.error().code,
                          "credentials: " + credentials.error().message);
    if (!p.outcome) {
      auto target = target_of(p.item.host, *credentials);
      if (target) {
        launch(p.entry.id, std::move(p.item), std::move(*target), p.sent);
        continue;
      }
      p.outcome =
          decided(p.item, DeviceStatus::Failed, target.error().code, target.error().message);
    }
    finish({p.entry.id, std::move(p.item), std::move(*p.outcome), p.sent});
  }
}

Result<json> WorkerEngine::credentials_for(const std::vector<const WorkItem*>& items) {
  const auto now = steady_us();
  json known = json::object();
  std::vector<std::string> devices;
  for (const auto* item : items) {
    const auto name = item->host.value("credential", "");
    if (name.empty()) continue;
    const auto cached = credentials_.find(name);
    if (cached != credentials_.end() && now - cached->second.second < kCredentialLifetimeUs)
      known[name] = cached->second.first;
    else if (std::find(devices.begin(), devices.end(), item->device) == devices.end())
      devices.push_back(item->device);
  }
  if (devices.empty()) return known;
  auto fetched = fetch_(devices);
  if (!fetched) return std::move(fetched).error();
  for (const auto& [name, secrets] : fetched->items()) {
    credentials_[name] = {secrets, now};
    known[name] = secrets;
  }
  return known;
}

void WorkerEngine::launch(std::string entry, WorkItem item, drivers::DeviceTarget target,
                          bool sent) {
  std::shared_ptr<std::atomic<bool>> cancel;
  {
    std::lock_guard lock(mutex_);
    ++stats_.in_flight;
    in_flight_entries_.insert(entry);
    auto& flag = job_cancel_[item.job];
    if (!flag) flag = std::make_shared<std::atomic<bool>>(false);
    cancel = flag;
    ++job_items_[item.job];
  }
  auto& loop = *loops_[next_loop_++ % loops_.size()];
  loop.spawn([this, entry = std::move(entry), item = std::move(item), target = std::move(target),
              sent, cancel]() mutable {
    const auto timeout =
        item.spec.device_timeout_ms ? item.spec.device_timeout_ms : settings_.device_timeout_ms;
    const auto left_ms = std::max<std::int64_t>(0, (item.deadline_us - now_us()) / 1000);
    auto deadline = drivers::Deadline::after_ms(std::min(timeout, left_ms)).cancellable(cancel);
    auto retry = settings_.retry;
    if (item.spec.attempts > 0) retry.max_attempts = item.spec.attempts;
    DeviceTaskContext context{item.spec, item.job, catalog_, locks_, retry, nullptr};
    auto outcome = run_device_task(context, target, deadline);
    finish({std::move(entry), std::move(item), std::move(outcome), sent});
  });
}

void WorkerEngine::finish(Finished finished) {
  std::lock_guard lock(mutex_);
  if (in_flight_entries_.erase(finished.entry)) {
    --stats_.in_flight;
    if (--job_items_[finished.item.job] == 0) {
      job_items_.erase(finished.item.job);
      job_cancel_.erase(finished.item.job);
    }
  }
  finished_.push_back(std::move(finished));
  wake_.notify_all();
}

void WorkerEngine::heartbeat(RedisConnection& redis) {
  std::vector<std::vector<std::string>> commands;
  std::vector<std::string> jobs;
  {
    std::lock_guard lock(mutex_);
    const auto beat = json{{"pool", settings_.pool},
                           {"host", settings_.host},
                           {"pid", ::getpid()},
                           {"started_us", started_us_},
                           {"beat_us", now_us()},
                           {"in_flight", stats_.in_flight},
                           {"done", stats_.done},
                           {"refused", stats_.refused},
                           {"claimed", stats_.claimed},
                           {"outcome_unknown", stats_.outcome_unknown},
                           {"max_sessions", settings_.max_sessions}};
    commands.push_back({"HSET", streams::kWorkers, settings_.name, beat.dump()});
    // The items in flight are claimed again by this worker, which resets their idle time: a
    // device slower than min_idle is not taken for abandoned.
    if (!held_entries_.empty()) {
      std::vector<std::string> claim = {"XCLAIM", stream_, streams::kWorkersGroup, settings_.name,
                                        "0"};
      claim.insert(claim.end(), held_entries_.begin(), held_entries_.end());
      claim.push_back("JUSTID");
      commands.push_back(std::move(claim));
    }
    for (const auto& [job, flag] : job_cancel_) {
      jobs.push_back(job);
      commands.push_back({"EXISTS", streams::cancel(job)});
    }
  }
  auto replies = redis.pipeline(commands, kRedisTimeoutMs);
  if (!replies) return;
  std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    const auto& reply = (*replies)[replies->size() - jobs.size() + i];
    if (reply.integer != 1) continue;
    if (auto it = job_cancel_.find(jobs[i]); it != job_cancel_.end()) it->second->store(true);
  }
}

bool WorkerEngine::write_results(RedisConnection& redis, std::vector<Finished>& batch) {
  // Results first; an item is acknowledged only once its result is on nauto:results. A result
  // written before a failure is not written again (only its acknowledgement is retried).
  std::vector<std::vector<std::string>> adds;
  std::vector<Finished*> adding;
  for (auto& f : batch) {
    if (f.added) continue;
    auto sealed =
        seal_result({f.item.job, f.item.device, f.item.pool, settings_.name, f.entry, f.outcome},
                    settings_.result_key);
    adds.push_back({"XADD", streams::kResults, "*", "r", sealed.payload, "m", sealed.signature});
    adding.push_back(&f);
  }
  if (!adds.empty()) {
    auto added = redis.pipeline(adds, kRedisTimeoutMs);
    if (!added) return false;
    for (std::size_t i = 0; i < adding.size(); ++i) {
      if ((*added)[i].is_error())
        logger("mod.worker")->error("nauto:results refused a result: {}", (*added)[i].text);
      else
        adding[i]->added = true;
    }
  }
  std::vector<std::vector<std::string>> acks;
  for (const auto& f : batch) {
    if (!f.added) continue;
    acks.push_back({"XACK", stream_, streams::kWorkersGroup, f.entry});
    acks.push_back({"XDEL", stream_, f.entry});
    if (f.sent)
      acks.push_back(
          {"HDEL", streams::sent(settings_.pool), streams::sent_field(f.item.job, f.item.device)});
  }
  if (!acks.empty() && !redis.pipeline(acks, kRedisTimeoutMs)) return false;
  return std::all_of(batch.begin(), batch.end(), [](const Finished& f) { return f.added; });
}

void WorkerEngine::results_loop() {
  auto log = logger("mod.worker");
  std::unique_ptr<RedisConnection> redis;
  std::int64_t next_beat = 0;
  std::int64_t backoff_ms = 100;
  std::unique_lock lock(mutex_);
  for (;;) {
    const bool stopped = stopping_ && loops_stopped_;
    if (stopped && finished_.empty()) break;
    if (!redis || redis->broken()) {
      lock.unlock();
      auto opened = RedisConnection::open(settings_.redis, kRedisTimeoutMs);
      lock.lock();
      if (!opened) {
        if (stopped) {
          log->error("stopping with {} result(s) not written: Redis {}", finished_.size(),
                     opened.error().describe());
          break;  // their items stay pending in Redis and are claimed by another worker
        }
        wake_.wait_for(lock, std::chrono::milliseconds(backoff_ms));
        backoff_ms = std::min<std::int64_t>(backoff_ms * 2, 5'000);
        continue;
      }
      redis = std::move(*opened);
      backoff_ms = 100;
    }
    const auto now = steady_us();
    if (finished_.empty()) {
      if (now < next_beat) {
        wake_.wait_for(lock, std::chrono::microseconds(next_beat - now));
        continue;
      }
    }
    std::vector<Finished> batch;
    while (!finished_.empty() && batch.size() < kResultsBatch) {
      batch.push_back(std::move(finished_.front()));
      finished_.pop_front();
    }
    lock.unlock();
    if (steady_us() >= next_beat) {
      heartbeat(*redis);
      next_beat = steady_us() + kHeartbeatUs;
    }
    const bool written = batch.empty() || write_results(*redis, batch);
    lock.lock();
    if (!written) {
      // Back to the front, in order, for the next connection.
      for (auto it = batch.rbegin(); it != batch.rend(); ++it)
        finished_.push_front(std::move(*it));
      if (redis && !redis->broken()) wake_.wait_for(lock, std::chrono::milliseconds(backoff_ms));
    } else {
      stats_.done += static_cast<std::int64_t>(batch.size());
      for (const auto& f : batch)
        held_entries_.erase(f.entry);
    }
  }
}

}  // namespace nauto::devices
