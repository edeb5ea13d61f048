#pragma once
// A job: one operation (commands, a config push, a config fetch, facts) over a set of
// devices. JobSpec is what was asked; DeviceOutcome is what happened on one device; JobRecord
// is the job's stored state. All three have a JSON form (stored as msgpack, sent on the bus).

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nauto/base/result.h"

namespace nauto::devices {

enum class JobKind { Commands, Push, GetConfig, Facts };

std::string_view job_kind_name(JobKind kind);

/// What a caller asks for. Invariant after parse_job_spec: the fields the kind needs are set,
/// limits are positive.
struct JobSpec {
  JobKind kind = JobKind::Commands;
  std::string target;                 ///< a selector (modules/inventory/selector.h)
  std::vector<std::string> commands;  ///< Commands
  /// Commands: JSON from the device where its platform gives it (eAPI, NX-API); each output
  /// then carries it as `json`. Ignored by drivers without StructuredOutput.
  bool structured = false;
  std::string config;    ///< Push: the lines to apply
  bool replace = false;  ///< Push: make the config equal `config`
  bool dry_run = false;  ///< Push: compute the diff, change nothing
  /// Push: if set, push only when the diff (recomputed under the device's write lock) still has
  /// this SHA-256 — the diff an approver saw; otherwise fail with Errc::Conflict.
  std::string approved_diff_sha256;
  /// GetConfig: secrets (the platform's secret_patterns) replaced by <redacted> on the device's
  /// fiber, before the config is a result, an event or a reply.
  bool redact_secrets = false;
  /// Push: lines holding <redacted> (a config from the archive) get the secret the device has
  /// now, from its running line that redacts to the same text; a secret it no longer has is
  /// left out. For rollbacks to an archived version.
  bool restore_secrets = false;
  /// Push: copy running to startup afterwards (CLI platforms); with no config, only that.
  bool save = false;
  /// Push: commit with this confirm timeout on platforms with ConfirmedCommit (Junos): the
  /// device rolls back by itself unless a commit comes in time. 0, or elsewhere: a plain push.
  int confirm_minutes = 0;
  /// Push: first a commit with nothing to change on platforms with Commit, which confirms a
  /// pending confirmed commit (with no config, only that).
  bool confirm_commit = false;
  /// Push: why it may go outside the devices' change windows (change_guard.h); empty: it may not.
  std::string override_window;
  /// Push: why it may go although the compliance gate refuses it (a gate policy's rule would
  /// newly fail); kept in the job's record, and the gate publishes it. Empty: it may not.
  std::string override_compliance;
  /// Why commands the platform calls dangerous (reload, write erase...) may be sent; empty:
  /// they may not, unless a person approved the push's diff.
  std::string allow_dangerous;
  int max_parallel = 0;                ///< 0: only the global limit applies
  std::int64_t device_timeout_ms = 0;  ///< 0: the module's default
  std::int64_t job_timeout_ms = 0;     ///< 0: the module's default
  int attempts = 0;                    ///< per device, transient faults only; 0: default
  bool lock_fail_fast = false;         ///< a device locked by another job: fail at once
  std::string started_by;
  /// The caller as the router verified it (bus::Header::principal), and the devices it may act
  /// on (bus::Header::scope, an inventory selector; empty: all). A job selecting a device
  /// outside the scope is refused before anything starts.
  std::string principal;
  std::string scope;
  /// The causal chain the job belongs to (a schedule's firing, an event's id); carried on its
  /// job.device, job.progress and job.finished events so `nauto events tail --chain` finds them.
  std::string chain;
  /// A selector that matches no device starts a job of 0 devices, which succeeds at once (a
  /// schedule over an empty group records "0 devices"), instead of failing not_found.
  bool allow_empty = false;
};

/// Reads a job.run / job.push request body. Errors name the field and the expected form.
Result<JobSpec> parse_job_spec(const nlohmann::json& body);
nlohmann::json to_json(const JobSpec& spec);

enum class DeviceStatus { Ok, Failed, Timeout, Cancelled, Skipped };
std::string_view device_status_name(DeviceStatus status);

/// One device's result, written to the store the moment the device is done.
struct DeviceOutcome {
  std::string device;
  DeviceStatus status = DeviceStatus::Ok;
  std::string error_code;  ///< errc_name of the error, empty when Ok
  std::string error;
  nlohmann::json output;  ///< per kind: [{command, text}], {diff, commands, changed}, ...
  int attempts = 0;
  std::int64_t started_us = 0;
  std::int64_t finished_us = 0;
  std::string worker;  ///< the worker node that ran it (a remote pool's); empty: here
};

nlohmann::json to_json(const DeviceOutcome& outcome);

enum class JobState { Running, Done, Cancelled, TimedOut, Interrupted };
std::string_view job_state_name(JobState state);

/// Counts by outcome; `pending` + `running` + the rest = `total`.
struct JobCounts {
  std::int64_t total = 0, pending = 0, running = 0, ok = 0, failed = 0, timeout = 0, cancelled = 0,
               skipped = 0;
  std::int64_t finished() const { return ok + failed + timeout + cancelled + skipped; }
};
nlohmann::json to_json(const JobCounts& counts);

}  // namespace nauto::devices
