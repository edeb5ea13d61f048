#pragma once
// WorkDispatcher: the control node's side of distributed work (ADR 0020, docs/workers.md).
// It signs the items of devices in remote pools and adds them to their pools' streams
// (nauto:work:<pool>), reads the workers' results from nauto:results as the consumer group
// "control", and hands them to the job engine, acknowledging each only once the engine says it
// is stored.
//
//   - Entry ids are ours ("<ms>-<seq>", rising): an XADD sent again after a lost answer is
//     refused by Redis as not newer, which tells us it was added - never added twice.
//   - A Redis outage holds the items in memory (status says since when and why) and sends them
//     when Redis is back; the results reader starts again from the group, its own pending
//     entries first, so a result read before a restart of nautod is not lost.
//   - Cancelling a job marks nauto:cancel:<job> (with a TTL): workers skip its items and stop
//     those in flight.
//   - status(): the pools' backlog (lag), pending items, workers and their heartbeats, as read
//     at most a second ago.
//
// Threads: a sender and a results reader, each with its own connection. send(), cancel() and
// status() from any thread; the sink runs on the results reader.

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>
#include <vector>

#include "nauto/base/signing_key.h"
#include "redis_connection.h"
#include "work_item.h"

namespace nauto::devices {

struct DispatcherSettings {
  RedisEndpoint redis;
  std::string node = "control";  ///< the results consumer's name
};

class WorkDispatcher {
 public:
  /// Stores a batch of verified results (duplicates, and results for jobs or devices no longer
  /// waiting, are dropped). Blocking: it returns once they are durable.
  using ResultSink = std::function<void(std::vector<WorkResult> results)>;

  WorkDispatcher(DispatcherSettings settings, SigningKey key, ResultSink sink);
  ~WorkDispatcher();
  WorkDispatcher(const WorkDispatcher&) = delete;
  WorkDispatcher& operator=(const WorkDispatcher&) = delete;

  void send(std::vector<WorkItem> items);
  /// Workers skip the job's items from now on and stop those in flight; the mark expires after
  /// `ttl_ms` (the job's deadline has passed by then).
  void cancel(const std::string& job, std::int64_t ttl_ms);
  /// The view workers.list answers with.
  nlohmann::json status() const;
  const SigningKey& key() const { return key_; }
  const DispatcherSettings& settings() const { return settings_; }

 private:
  struct Queued {
    WorkItem item;
    std::string id;          // the entry id given at the first attempt
    bool attempted = false;  // an XADD went out: "not newer" then means it was added
  };
  void sender_loop();
  void results_loop();
  /// Adds a batch; false when Redis could not be reached (the batch stays queued).
  bool add(RedisConnection& redis, std::vector<Queued>& batch);
  std::string next_id();
  void refresh_status(RedisConnection& redis);
  /// Records whether Redis answers ("" when it does), logging the change. Takes the mutex.
  void note_connection(const std::string& error);

  DispatcherSettings settings_;
  SigningKey key_;
  ResultSink sink_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::deque<Queued> queue_;
  std::vector<std::pair<std::string, std::int64_t>> cancels_;  // job, ttl
  std::set<std::string> pools_;                                // streams with a group
  std::int64_t last_ms_ = 0, seq_ = 0;                         // the last id given
  bool connected_ = false;
  std::string error_;
  std::int64_t error_since_us_ = 0;
  std::uint64_t sent_ = 0, results_ = 0, forged_results_ = 0;
  nlohmann::json snapshot_ = nlohmann::json::object();  // refreshed by the results reader
  std::int64_t snapshot_us_ = 0;

  std::thread sender_;
  std::thread results_reader_;
};

}  // namespace nauto::devices
