#include "job.h"

#include "nauto/sdk/config_reader.h"

namespace nauto::devices {

using nlohmann::json;

std::string_view job_kind_name(JobKind kind) {
  switch (kind) {
    case JobKind::Commands:
      return "commands";
    case JobKind::Push:
      return "push";
    case JobKind::GetConfig:
      return "get_config";
    case JobKind::Facts:
      return "facts";
  }
  return "?";
}

std::string_view device_status_name(DeviceStatus status) {
  switch (status) {
    case DeviceStatus::Ok:
      return "ok";
    case DeviceStatus::Failed:
      return "failed";
    case DeviceStatus::Timeout:
      return "timeout";
    case DeviceStatus::Cancelled:
      return "cancelled";
    case DeviceStatus::Skipped:
      return "skipped";
  }
  return "?";
}

std::string_view job_state_name(JobState state) {
  switch (state) {
    case JobState::Running:
      return "running";
    case JobState::Done:
      return "done";
    case JobState::Cancelled:
      return "cancelled";
    case JobState::TimedOut:
      return "timed_out";
    case JobState::Interrupted:
      return "interrupted";
  }
  return "?";
}

Result<JobSpec> parse_job_spec(const json& body) {
  JobSpec spec;
  ConfigReader r(body, "job");
  const auto kind = r.choice("kind", "commands", {"commands", "push", "get_config", "facts"});
  spec.kind = kind == "push"         ? JobKind::Push
              : kind == "get_config" ? JobKind::GetConfig
              : kind == "facts"      ? JobKind::Facts
                                     : JobKind::Commands;
  spec.target = r.string("target", "");
  spec.commands = r.strings("commands");
  spec.structured = r.boolean("structured", false);
  spec.config = r.string("config", "");
  spec.replace = r.boolean("replace", false);
  spec.dry_run = r.boolean("dry_run", false);
  spec.approved_diff_sha256 = r.string("approved_diff_sha256", "");
  spec.redact_secrets = r.boolean("redact_secrets", false);
  spec.restore_secrets = r.boolean("restore_secrets", false);
  spec.save = r.boolean("save", false);
  spec.confirm_minutes = static_cast<int>(r.integer("confirm_minutes", 0, 0, 65535));
  spec.confirm_commit = r.boolean("confirm_commit", false);
  spec.override_window = r.string("override_window", "");
  spec.override_compliance = r.string("override_compliance", "");
  spec.allow_dangerous = r.string("allow_dangerous", "");
  spec.max_parallel = static_cast<int>(r.integer("max_parallel", 0, 0, 100000));
  spec.device_timeout_ms = r.duration_ms("device_timeout", 0, 0);
  spec.job_timeout_ms = r.duration_ms("job_timeout", 0, 0);
  spec.attempts = static_cast<int>(r.integer("attempts", 0, 0, 20));
  spec.lock_fail_fast = r.choice("lock", "wait", {"wait", "fail"}) == "fail";
  spec.started_by = r.string("started_by", "");
  spec.chain = r.string("chain", "");
  spec.allow_empty = r.boolean("allow_empty", false);
  // A request's problem is the caller's (invalid_argument), whatever ConfigReader calls it.
  if (auto done = r.finish(); !done)
    return Error{Errc::InvalidArgument, done.error().message, done.error().where};
  if (spec.target.empty()) {
    return fail(Errc::InvalidArgument,
                "job.target: which devices? give a selector such as 'site=dc1' or 'all'");
  }
  if (spec.kind == JobKind::Commands && spec.commands.empty()) {
    return fail(Errc::InvalidArgument, "job.commands: give at least one command");
  }
  if (spec.kind == JobKind::Push && spec.config.empty() && !spec.replace && !spec.save &&
      !spec.confirm_commit) {
    return fail(Errc::InvalidArgument, "job.config: the config to push is empty");
  }
  return spec;
}

json to_json(const JobSpec& spec) {
  return json{{"kind", job_kind_name(spec.kind)},
              {"target", spec.target},
              {"commands", spec.commands},
              {"structured", spec.structured},
              {"config", spec.config},
              {"replace", spec.replace},
              {"dry_run", spec.dry_run},
              {"approved_diff_sha256", spec.approved_diff_sha256},
              {"redact_secrets", spec.redact_secrets},
              {"restore_secrets", spec.restore_secrets},
              {"save", spec.save},
              {"confirm_minutes", spec.confirm_minutes},
              {"confirm_commit", spec.confirm_commit},
              {"override_window", spec.override_window},
              {"override_compliance", spec.override_compliance},
              {"allow_dangerous", spec.allow_dangerous},
              {"max_parallel", spec.max_parallel},
              {"device_timeout", spec.device_timeout_ms},
              {"job_timeout", spec.job_timeout_ms},
              {"attempts", spec.attempts},
              {"lock", spec.lock_fail_fast ? "fail" : "wait"},
              {"started_by", spec.started_by},
              {"principal", spec.principal},
              {"chain", spec.chain},
              {"allow_empty", spec.allow_empty}};
}

json to_json(const DeviceOutcome& o) {
  auto out = json{{"device", o.device},
                  {"status", device_status_name(o.status)},
                  {"error_code", o.error_code},
                  {"error", o.error},
                  {"output", o.output},
                  {"attempts", o.attempts},
                  {"started_us", o.started_us},
                  {"finished_us", o.finished_us},
                  {"duration_ms", o.started_us ? (o.finished_us - o.started_us) / 1000 : 0}};
  if (!o.worker.empty()) out["worker"] = o.worker;
  return out;
}

json to_json(const JobCounts& c) {
  return json{{"total", c.total},         {"pending", c.pending},
              {"running", c.running},     {"ok", c.ok},
              {"failed", c.failed},       {"timeout", c.timeout},
              {"cancelled", c.cancelled}, {"skipped", c.skipped}};
}

}  // namespace nauto::devices
