#include "job_runner.h"

#include <pthread.h>

#include <algorithm>
#include <set>

#include "device_task.h"
#include "nauto/base/clock.h"
#include "nauto/base/log.h"

namespace nauto::devices {

using nlohmann::json;

struct JobRunner::Job {
  std::string id;
  JobSpec spec;
  std::vector<JobDevice> devices;
  std::list<std::size_t> pending;
  JobCounts counts;
  json record;
  std::int64_t started_us = 0;      // wall clock, for records
  std::int64_t started_steady = 0;  // monotonic, for rates
  std::int64_t deadline_steady = 0;
  std::shared_ptr<std::atomic<bool>> cancel = std::make_shared<std::atomic<bool>>(false);
  bool cancel_requested = false;
  bool timed_out = false;
  std::int64_t settle_remote_at = 0;  // steady: remote devices still waiting are recorded then
  // Remote devices waiting for their result: name -> index in devices.
  std::map<std::string, std::size_t> remote;
  int remote_writing = 0;  // result batches of this job being stored by take_remote()
};

json to_json(const JobProgress& p) {
  auto out = json{{"id", p.id},
                  {"state", job_state_name(p.state)},
                  {"counts", to_json(p.counts)},
                  {"started_us", p.started_us},
                  {"finished_us", p.finished_us},
                  {"rate_per_second", p.rate_per_second},
                  {"eta_seconds", p.eta_seconds}};
  if (!p.chain.empty()) out["chain"] = p.chain;
  return out;
}

JobProgress JobRunner::progress_of(const Job& job, JobState state) {
  const auto& counts = job.counts;
  JobProgress p;
  p.id = job.id;
  p.chain = job.spec.chain;
  p.state = state;
  p.counts = counts;
  p.started_us = job.started_us;
  const double elapsed = static_cast<double>(steady_us() - job.started_steady) / 1e6;
  if (elapsed > 0 && counts.finished() > 0) {
    p.rate_per_second = static_cast<double>(counts.finished()) / elapsed;
    p.eta_seconds = static_cast<double>(counts.pending + counts.running) / p.rate_per_second;
  }
  return p;
}

namespace {

void count(JobCounts& counts, DeviceStatus status) {
  switch (status) {
    case DeviceStatus::Ok:
      ++counts.ok;
      break;
    case DeviceStatus::Failed:
      ++counts.failed;
      break;
    case DeviceStatus::Timeout:
      ++counts.timeout;
      break;
    case DeviceStatus::Cancelled:
      ++counts.cancelled;
      break;
    case DeviceStatus::Skipped:
      ++counts.skipped;
      break;
  }
}

}  // namespace

JobRunner::JobRunner(JobRunnerOptions options, store::Store& store,
                     const drivers::PlatformCatalog& catalog)
    : options_(std::move(options)),
      job_store_(store),
      catalog_(catalog),
      gate_(options_.max_sessions, options_.limits) {
  session_loops_ = make_session_loops(options_.session_threads);
  dispatcher_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "jobs/dispatch");
    dispatch_loop();
  });
}

JobRunner::~JobRunner() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    for (auto& job : jobs_)
      job->cancel->store(true);
  }
  dispatcher_wake_.notify_all();
  dispatcher_.join();
  session_loops_.clear();  // waits for the running devices, which see the cancel at their next wait
  // What finished while stopping is recorded; the jobs stay interrupted, as after a crash.
  for (auto& done : done_)
    record(*done.job, done.outcome);
  flush_results();
  for (auto& job : jobs_) {
    if (!job->remote.empty()) {
      // Its workers go on, and their results wait in Redis: the next nautod resumes it.
      job->record["counts"] = to_json(job->counts);
      job->record["note"] = "nautod stopped; " + std::to_string(job->remote.size()) +
                            " device(s) in remote pools still to report";
      if (auto written = job_store_.put_job(job->record); !written)
        logger("mod.devices")->error("job {}: {}", job->id, written.error().describe());
      continue;
    }
    job->record["state"] = job_state_name(JobState::Interrupted);
    job->counts.running = 0;
    job->record["counts"] = to_json(job->counts);
    job->record["finished_us"] = now_us();
    job->record["note"] = "nautod stopped while the job ran";
    if (auto written = job_store_.put_job(job->record); !written) {
      logger("mod.devices")->error("job {}: {}", job->id, written.error().describe());
    }
  }
}

Result<std::string> JobRunner::start(JobSpec spec, std::vector<JobDevice> devices, json extra) {
  auto job = std::make_shared<Job>();
  job->id = JobStore::new_job_id();
  job->spec = std::move(spec);
  job->devices = std::move(devices);
  // Devices in name order keep results, logs and progress lines predictable.
  std::sort(job->devices.begin(), job->devices.end(),
            [](const JobDevice& a, const JobDevice& b) { return a.target.name < b.target.name; });
  std::map<std::string, std::int64_t> pools;
  for (std::size_t i = 0; i < job->devices.size(); ++i) {
    const auto& device = job->devices[i];
    if (device.pool.empty()) {
      job->pending.push_back(i);
      continue;
    }
    if (!remote_.send)
      return fail(Errc::Unsupported, "device " + device.target.name + " is in pool '" +
                                         device.pool +
                                         "', but no Redis is configured for pools "
                                         "(modules.devices.distribution)");
    job->remote[device.target.name] = i;
    ++pools[device.pool];
  }
  job->counts.total = static_cast<std::int64_t>(job->devices.size());
  job->counts.pending = static_cast<std::int64_t>(job->pending.size());
  // A remote device runs from the moment its item is handed over (the worker's own limits
  // decide when it starts).
  job->counts.running = static_cast<std::int64_t>(job->remote.size());
  job->started_us = now_us();
  job->started_steady = steady_us();
  const auto timeout =
      job->spec.job_timeout_ms ? job->spec.job_timeout_ms : options_.job_timeout_ms;
  job->deadline_steady = job->started_steady + timeout * 1000;
  job->record = std::move(extra);
  if (!job->record.is_object()) job->record = json::object();
  job->record["id"] = job->id;
  job->record["spec"] = to_json(job->spec);
  job->record["state"] = job_state_name(JobState::Running);
  job->record["counts"] = to_json(job->counts);
  job->record["created_us"] = job->started_us;
  if (!pools.empty()) {
    // What a restarted nautod needs to resume the job (resume()): which devices went to which
    // pool, and which ran here.
    job->record["pools"] = pools;
    json remote = json::object(), local = json::array();
    for (const auto& device : job->devices) {
      if (device.pool.empty())
        local.push_back(device.target.name);
      else
        remote[device.pool].push_back(device.target.name);
    }
    job->record["remote"] = std::move(remote);
    job->record["local"] = std::move(local);
  }
  if (auto written = job_store_.put_job(job->record); !written) return std::move(written).error();
  std::vector<WorkItem> items;
  for (const auto& [name, index] : job->remote) {
    const auto& device = job->devices[index];
    WorkItem item;
    item.job = job->id;
    item.device = name;
    item.pool = device.pool;
    item.spec = job->spec;
    item.host = device.host;
    item.deadline_us = job->started_us + (job->deadline_steady - job->started_steady);
    item.issued_us = job->started_us;
    items.push_back(std::move(item));
  }
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return fail(Errc::Unavailable, "the job runner is stopping");
    jobs_.push_back(job);
    dispatch_needed_ = true;
  }
  dispatcher_wake_.notify_one();
  if (!items.empty()) remote_.send(std::move(items));
  return job->id;
}

Result<void> JobRunner::cancel(const std::string& id) {
  std::int64_t remote_ttl_ms = 0;
  {
    std::lock_guard lock(mutex_);
    auto it =
        std::find_if(jobs_.begin(), jobs_.end(), [&](const auto& job) { return job->id == id; });
    if (it == jobs_.end()) return fail(Errc::NotFound, "no running job " + id);
    auto& job = **it;
    if (!job.cancel_requested && !job.remote.empty()) {
      // Workers stop the job's items; what they report within the grace is recorded as such.
      job.settle_remote_at = steady_us() + kRemoteGraceUs;
      remote_ttl_ms = (job.deadline_steady - steady_us() + kRemoteGraceUs) / 1000;
    }
    job.cancel_requested = true;
    job.cancel->store(true);
    dispatch_needed_ = true;
  }
  dispatcher_wake_.notify_one();
  if (remote_ttl_ms > 0) remote_.cancel(id, remote_ttl_ms);
  return ok();
}

Result<std::size_t> JobRunner::resume(json stored, const std::set<std::string>& recorded) {
  auto job = std::make_shared<Job>();
  job->id = stored.value("id", "");
  auto spec_json = stored.value("spec", json::object());
  const auto principal = spec_json.value("principal", "");
  spec_json.erase("principal");
  auto spec = parse_job_spec(spec_json);
  if (!spec) return std::move(spec).error();
  job->spec = std::move(*spec);
  job->spec.principal = principal;
  job->started_us = stored.value("created_us", now_us());
  job->started_steady = steady_us() - (now_us() - job->started_us);
  const auto timeout =
      job->spec.job_timeout_ms ? job->spec.job_timeout_ms : options_.job_timeout_ms;
  job->deadline_steady = job->started_steady + timeout * 1000;
  // The devices that ran here and had not finished are recorded as interrupted; the remote
  // ones without a result are waited for again.
  std::vector<DeviceOutcome> interrupted;
  for (const auto& name : stored.value("local", json::array())) {
    if (!name.is_string() || recorded.count(name.get<std::string>())) continue;
    DeviceOutcome outcome;
    outcome.device = name.get<std::string>();
    outcome.status = DeviceStatus::Failed;
    outcome.error_code = "unavailable";
    outcome.error = "interrupted: nautod stopped while the device ran here";
    outcome.finished_us = now_us();
    interrupted.push_back(std::move(outcome));
  }
  const auto remote = stored.value("remote", json::object());  // items() needs a living object
  for (const auto& [pool, names] : remote.items()) {
    for (const auto& name : names) {
      if (!name.is_string() || recorded.count(name.get<std::string>())) continue;
      JobDevice device;
      device.target.name = name.get<std::string>();
      device.pool = pool;
      job->remote[device.target.name] = job->devices.size();
      job->devices.push_back(std::move(device));
    }
  }
  auto counts = job_store_.count_results(job->id, stored["counts"].value("total", std::int64_t{0}));
  if (!counts) return std::move(counts).error();
  job->counts = *counts;
  job->counts.pending = 0;
  job->counts.running = static_cast<std::int64_t>(job->remote.size());
  job->record = std::move(stored);
  job->record["resumed_us"] = now_us();
  const auto waiting = job->remote.size();
  std::lock_guard lock(mutex_);
  for (const auto& outcome : interrupted)
    this->record(*job, outcome);
  jobs_.push_back(job);
  dispatch_needed_ = true;
  dispatcher_wake_.notify_one();
  return waiting;
}

void JobRunner::set_remote(RemoteWork remote) {
  std::lock_guard lock(mutex_);
  remote_ = std::move(remote);
}

RemoteTaken JobRunner::take_remote(std::vector<WorkResult> results) {
  RemoteTaken taken;
  store::WriteBatch batch;
  std::vector<std::shared_ptr<Job>> writing;
  {
    std::lock_guard lock(mutex_);
    for (auto& result : results) {
      auto it = std::find_if(jobs_.begin(), jobs_.end(),
                             [&](const auto& job) { return job->id == result.job; });
      if (it == jobs_.end()) {
        ++taken.dropped;
        continue;
      }
      auto& job = **it;
      const auto waiting = job.remote.find(result.device);
      if (waiting == job.remote.end()) {
        ++taken.dropped;  // a duplicate, or recorded without it after the grace
        continue;
      }
      job.remote.erase(waiting);
      --job.counts.running;
      result.outcome.device = result.device;
      note(job, result.outcome);
      JobStore::add_result(batch, job.id, result.outcome);
      if (std::find(writing.begin(), writing.end(), *it) == writing.end()) {
        ++job.remote_writing;
        writing.push_back(*it);
      }
      ++taken.recorded;
    }
  }
  if (!batch.empty()) {
    if (auto stored = job_store_.put_results_durably(std::move(batch)); !stored)
      logger("mod.devices")
          ->error("{} results from workers were not stored: {}", taken.recorded,
                  stored.error().describe());
  }
  {
    std::lock_guard lock(mutex_);
    for (auto& job : writing)
      --job->remote_writing;
    if (!writing.empty()) dispatch_needed_ = true;
  }
  if (!writing.empty()) dispatcher_wake_.notify_one();
  return taken;
}

std::string JobRunner::oldest_running_job() const {
  std::lock_guard lock(mutex_);
  std::string oldest;
  for (const auto& job : jobs_)
    if (oldest.empty() || job->id < oldest) oldest = job->id;
  return oldest;
}

std::optional<JobProgress> JobRunner::progress(const std::string& id) const {
  std::lock_guard lock(mutex_);
  for (const auto& job : jobs_) {
    if (job->id == id) {
      return progress_of(*job, JobState::Running);
    }
  }
  return std::nullopt;
}

json to_json(const DeviceFinished& f) {
  auto out = json{{"job", f.job},
                  {"device", f.device},
                  {"status", device_status_name(f.status)},
                  {"error_code", f.error_code},
                  {"error", f.error},
                  {"duration_ms", f.duration_ms}};
  if (!f.chain.empty()) out["chain"] = f.chain;
  return out;
}

RunnerNews JobRunner::poll() {
  std::lock_guard lock(mutex_);
  RunnerNews news;
  news.jobs = std::move(ended_);
  ended_.clear();
  for (const auto& job : jobs_) {
    news.jobs.push_back(progress_of(*job, JobState::Running));
  }
  news.devices.assign(std::make_move_iterator(announced_.begin()),
                      std::make_move_iterator(announced_.end()));
  announced_.clear();
  news.devices_dropped = announced_dropped_;
  announced_dropped_ = 0;
  news.outcomes = std::move(outcomes_);
  outcomes_.clear();
  return news;
}

void JobRunner::flush_results() {
  if (unflushed_results_.empty()) return;
  job_store_.put_results(std::move(unflushed_results_));
  unflushed_results_ = {};
}

int JobRunner::peak(std::size_t index, const std::string& value) const {
  std::lock_guard lock(mutex_);
  return gate_.peak(index, value);
}

void JobRunner::record(Job& job, const DeviceOutcome& outcome) {
  // The dispatcher hands batches to the store (a write may wait for room in its queue, which
  // a session loop must not): it is woken for a batch's first result, to time the batch, and
  // when the batch is full.
  if (unflushed_results_.empty()) {
    results_flush_due_us_ = steady_us() + kResultsBatchWindowUs;
    dispatch_needed_ = true;
  }
  JobStore::add_result(unflushed_results_, job.id, outcome);
  if (unflushed_results_.size() >= kResultsBatchMax) dispatch_needed_ = true;
  note(job, outcome);
}

void JobRunner::note(Job& job, const DeviceOutcome& outcome) {
  count(job.counts, outcome.status);
  if (announced_.size() >= kMaxAnnounced) {
    announced_.pop_front();
    ++announced_dropped_;
  }
  announced_.push_back(
      {job.id, job.spec.chain, outcome.device, outcome.status, outcome.error_code, outcome.error,
       outcome.started_us ? (outcome.finished_us - outcome.started_us) / 1000 : 0});
  // A one-device job (device.call: a runbook step, a shell call) is waited for: its outcome
  // wakes the module at once. A fleet's devices are announced at the module's next progress
  // tick, a few times a second, instead of one wake-up (and bus hop) each.
  if (job.devices.size() == 1) {
    outcomes_[job.id] = outcome;
    news_.ring();
  }
}

// Pending devices of a cancelled or expired job are recorded without being touched.
void JobRunner::settle(Job& job, std::int64_t now) {
  if (!job.timed_out && !job.cancel_requested && now >= job.deadline_steady) {
    job.timed_out = true;
    job.settle_remote_at = job.deadline_steady + kRemoteGraceUs;
  }
  if (!job.cancel_requested && !job.timed_out) return;
  // Remote devices whose result did not come within the grace: recorded without it. A result
  // that comes later is dropped (take_remote).
  if (!job.remote.empty() && now >= job.settle_remote_at) {
    for (const auto& [name, index] : job.remote) {
      DeviceOutcome outcome;
      outcome.device = name;
      const auto& pool = job.devices[index].pool;
      outcome.status = job.cancel_requested ? DeviceStatus::Cancelled : DeviceStatus::Timeout;
      outcome.error_code = job.cancel_requested ? "cancelled" : "timeout";
      outcome.error = job.cancel_requested ? "cancelled; no result from pool " + pool +
                                                 " since (a worker may have run it)"
                                           : "no result from pool " + pool +
                                                 " by the job deadline (is a worker "
                                                 "of the pool running? nauto workers)";
      outcome.finished_us = now_us();
      --job.counts.running;
      record(job, outcome);
    }
    job.remote.clear();
  }
  for (const auto index : job.pending) {
    DeviceOutcome outcome;
    outcome.device = job.devices[index].target.name;
    outcome.status = job.cancel_requested ? DeviceStatus::Cancelled : DeviceStatus::Skipped;
    outcome.error_code = job.cancel_requested ? "cancelled" : "timeout";
    outcome.error = job.cancel_requested ? "cancelled before it started"
                                         : "not started: the job deadline passed first";
    outcome.finished_us = now_us();
    record(job, outcome);
  }
  job.counts.pending = 0;
  job.pending.clear();
}

void JobRunner::admit(std::int64_t& wake_at_us) {
  const auto now = steady_us();
  // Values found saturated in this pass: later devices with them are skipped without asking.
  std::vector<std::set<std::string>> saturated(gate_.limits().size());
  for (auto& job : jobs_) {
    for (auto it = job->pending.begin(); it != job->pending.end();) {
      if (gate_.in_use() >= gate_.max_sessions()) return;
      if (job->spec.max_parallel > 0 && job->counts.running >= job->spec.max_parallel) break;
      const auto& values = job->devices[*it].limit_values;
      bool skip = false;
      for (std::size_t i = 0; i < values.size() && i < saturated.size() && !skip; ++i) {
        skip = !values[i].empty() && saturated[i].count(values[i]) > 0;
      }
      int blocking = -1;
      if (skip || !gate_.try_acquire(values, now, wake_at_us, &blocking)) {
        if (!skip && blocking >= 0) saturated[blocking].insert(values[blocking]);
        ++it;
        continue;
      }
      ++job->counts.running;
      --job->counts.pending;
      launch({job, *it});
      it = job->pending.erase(it);
    }
  }
}

void JobRunner::dispatch_loop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    dispatch_needed_ = false;
    while (!done_.empty()) {
      auto done = std::move(done_.front());
      done_.pop_front();
      release(*done.job, done.device, done.outcome);
    }
    const auto now = steady_us();
    if (!unflushed_results_.empty() &&
        (now >= results_flush_due_us_ || unflushed_results_.size() >= kResultsBatchMax))
      flush_results();
    std::vector<std::shared_ptr<Job>> finished;
    for (auto it = jobs_.begin(); it != jobs_.end();) {
      settle(**it, now);
      if ((*it)->pending.empty() && (*it)->counts.running == 0 && (*it)->remote_writing == 0) {
        finished.push_back(*it);
        it = jobs_.erase(it);
      } else {
        ++it;
      }
    }
    if (!finished.empty()) {
      flush_results();  // queued before the final records, so committed with or before them
      lock.unlock();    // the job records are committed without holding up the workers
      for (const auto& job : finished)
        finish_job(job);
      lock.lock();
      continue;
    }
    std::int64_t wake_at = now + 1'000'000;
    for (const auto& job : jobs_)
      wake_at = std::min(wake_at, next_wake(*job));
    if (!unflushed_results_.empty()) wake_at = std::min(wake_at, results_flush_due_us_);
    admit(wake_at);
    const auto wait_us = std::max<std::int64_t>(wake_at - steady_us(), 1000);
    // Woken by a new or cancelled job, a finished device, or the next deadline.
    dispatcher_wake_.wait_for(lock, std::chrono::microseconds(wait_us),
                              [this] { return stopping_ || dispatch_needed_ || !done_.empty(); });
  }
}

std::int64_t JobRunner::next_wake(const Job& job) {
  if (!job.timed_out && !job.cancel_requested) return job.deadline_steady;
  // Settled already, but for remote devices that may still answer within the grace.
  return job.remote.empty() ? INT64_MAX : job.settle_remote_at;
}

void JobRunner::finish_job(const std::shared_ptr<Job>& job) {
  const auto state = job->cancel_requested ? JobState::Cancelled
                     : job->timed_out      ? JobState::TimedOut
                                           : JobState::Done;
  auto progress = progress_of(*job, state);
  progress.finished_us = now_us();
  progress.eta_seconds = 0;
  job->record["state"] = job_state_name(state);
  job->record["counts"] = to_json(job->counts);
  job->record["finished_us"] = progress.finished_us;
  job->record["duration_ms"] = (progress.finished_us - job->started_us) / 1000;
  if (auto written = job_store_.put_job(job->record); !written) {
    logger("mod.devices")
        ->error("job {}: the final record was not stored: {}", job->id, written.error().describe());
  }
  std::lock_guard lock(mutex_);
  ended_.push_back(progress);
  news_.ring();
}

void JobRunner::launch(Work work) {
  auto& loop = *session_loops_[next_loop_++ % session_loops_.size()];
  loop.spawn([this, work = std::move(work)]() mutable { run_device(work); });
}

void JobRunner::run_device(Work& work) {
  auto& job = *work.job;
  const auto device_timeout =
      job.spec.device_timeout_ms ? job.spec.device_timeout_ms : options_.device_timeout_ms;
  const auto job_left_ms = std::max<std::int64_t>(0, (job.deadline_steady - steady_us()) / 1000);
  auto deadline =
      drivers::Deadline::after_ms(std::min(device_timeout, job_left_ms)).cancellable(job.cancel);
  auto retry = options_.retry;
  if (job.spec.attempts > 0) retry.max_attempts = job.spec.attempts;
  DeviceTaskContext context{job.spec, job.id, catalog_, locks_, retry, &sessions_};
  end_device(work, run_device_task(context, job.devices[work.device].target, deadline));
}

void JobRunner::release(Job& job, std::size_t device, const DeviceOutcome& outcome) {
  gate_.release(job.devices[device].limit_values);
  --job.counts.running;
  record(job, outcome);
}

void JobRunner::end_device(Work& work, DeviceOutcome outcome) {
  std::lock_guard lock(mutex_);
  Job& job = *work.job;
  // The dispatcher's cases: stopping, a job that ends (its final record waits for the store)
  // or must settle its pending devices, and results waiting behind others (order).
  const bool ends = job.pending.empty() && job.counts.running == 1;
  if (stopping_ || ends || job.cancel_requested || job.timed_out || !done_.empty()) {
    done_.push_back({std::move(work.job), work.device, std::move(outcome)});
    dispatcher_wake_.notify_one();
    return;
  }
  release(job, work.device, outcome);
  // The session this device held goes to the next pending device at once, from here.
  constexpr std::int64_t kNoWake = INT64_MAX;
  std::int64_t wake_at = kNoWake;
  admit(wake_at);
  // A rate limit that admits later, or a batch to time or store, needs the dispatcher.
  if (wake_at != kNoWake) dispatch_needed_ = true;
  if (dispatch_needed_) dispatcher_wake_.notify_one();
}

}  // namespace nauto::devices
