#include "device_task.h"

#include <algorithm>
#include <thread>
#include <unordered_map>

#include "nauto/base/clock.h"
#include "nauto/base/digest.h"
#include "nauto/drivers/config_diff.h"
#include "nauto/drivers/indented_push.h"
#include "nauto/drivers/make_driver.h"

namespace nauto::devices {

using drivers::Deadline;
using drivers::Driver;
using nlohmann::json;

namespace {

// A push's diff with the platform's secrets redacted: both configs redacted and diffed again,
// so a secret line that did not change is no difference; a diff made on the device (Junos'
// `show | compare`, no texts) has each of its lines redacted.
std::string redacted_diff(const drivers::PushResult& result,
                          const drivers::PlatformDefinition& platform, bool dry_run) {
  if (!result.before.empty() || !result.after.empty()) {
    return drivers::unified_diff(drivers::redact_secrets(result.before, platform),
                                 drivers::redact_secrets(result.after, platform), "running",
                                 dry_run ? "intended" : "running (after)");
  }
  // Redacted without the diff's first column, which the patterns do not expect.
  std::string marks, bodies;
  std::size_t start = 0;
  while (start < result.diff.size()) {
    auto end = result.diff.find('\n', start);
    if (end == std::string::npos) end = result.diff.size();
    const std::string_view line(result.diff.data() + start, end - start);
    const bool marked =
        !line.empty() && std::string_view("+- ").find(line[0]) != std::string_view::npos;
    marks.push_back(marked ? line[0] : '\0');
    bodies += std::string(marked ? line.substr(1) : line) + "\n";
    start = end + 1;
  }
  const auto redacted = drivers::redact_secrets(bodies, platform);
  std::string out;
  std::size_t line = 0;
  start = 0;
  while (start < redacted.size() && line < marks.size()) {
    auto end = redacted.find('\n', start);
    if (end == std::string::npos) end = redacted.size();
    if (marks[line]) out.push_back(marks[line]);
    out.append(redacted, start, end - start);
    out.push_back('\n');
    start = end + 1;
    ++line;
  }
  return out;
}

// `text` (from the archive) with each line holding <redacted> given back the secret the device
// has now: the running line that redacts to the same text. A line whose secret the device no
// longer has is left out (counted in `unknown`): its secret is not known anywhere.
std::string restore_secrets(const std::string& text, const std::string& running,
                            const drivers::PlatformDefinition& platform, std::size_t& unknown) {
  std::unordered_map<std::string, std::string> originals;
  for (const auto& line : drivers::split_lines_of(running)) {
    auto redacted = drivers::redact_secrets(line, platform);
    if (redacted != line) originals.emplace(std::move(redacted), line);
  }
  std::string out;
  for (const auto& line : drivers::split_lines_of(text)) {
    if (line.find(drivers::kRedacted) == std::string::npos) {
      out += line + "\n";
    } else if (auto found = originals.find(line); found != originals.end()) {
      out += found->second + "\n";
    } else {
      ++unknown;
    }
  }
  return out;
}

// A config command with its secret redacted, a `no` in front of it included (the patterns
// describe config lines, and removing a secret line repeats the secret).
std::string redacted_command(const std::string& command,
                             const drivers::PlatformDefinition& platform) {
  const auto indent = command.find_first_not_of(' ');
  if (indent == std::string::npos) return command;
  const bool negated = command.compare(indent, 3, "no ") == 0;
  const auto body = indent + (negated ? 3 : 0);
  return command.substr(0, body) + drivers::redact_secrets(command.substr(body), platform);
}

// Command outputs carry the device's platform so a caller can pick its parsing template.
Result<json> operate(const JobSpec& spec, Driver& driver, const Deadline& deadline,
                     const drivers::PlatformCatalog& catalog, const std::string& platform) {
  switch (spec.kind) {
    case JobKind::Commands: {
      json outputs = json::array();
      drivers::CallOptions options;
      options.structured =
          spec.structured && driver.capabilities().has(drivers::Capability::StructuredOutput);
      for (const auto& command : spec.commands) {
        auto output = driver.run(command, deadline, options);
        if (!output) return std::move(output).error();
        json entry = {{"command", command}, {"text", output->text}, {"platform", platform}};
        if (!output->json.empty()) {
          auto document = json::parse(output->json, nullptr, false);
          if (!document.is_discarded()) entry["json"] = std::move(document);
        }
        outputs.push_back(std::move(entry));
      }
      return outputs;
    }
    case JobKind::Push: {
      std::string text = spec.config;
      std::size_t secrets_unknown = 0;
      if (spec.restore_secrets && text.find(drivers::kRedacted) != std::string::npos) {
        auto definition = catalog.find(platform);
        if (!definition) return std::move(definition).error();
        auto running = driver.get_config(drivers::ConfigSource::Running, deadline);
        if (!running) return std::move(running).error();
        text = restore_secrets(text, *running, **definition, secrets_unknown);
      }
      // A config from the archive has <redacted> where its secrets were: pushed, the device
      // would take the placeholder as the secret.
      if (!spec.dry_run && text.find(drivers::kRedacted) != std::string::npos) {
        return fail(Errc::InvalidArgument,
                    "the config holds <redacted> placeholders (it came from the archive, where "
                    "secrets are redacted): put the secrets back, leave those lines out, or push "
                    "with restore_secrets",
                    spec.target);
      }
      const auto capabilities = driver.capabilities();
      // A confirmation of an earlier `commit confirmed`: any commit confirms it.
      bool confirmed = false;
      if (spec.confirm_commit && !spec.dry_run && capabilities.has(drivers::Capability::Commit)) {
        if (auto committed = driver.commit(0, deadline); !committed)
          return std::move(committed).error();
        confirmed = true;
      }
      drivers::ConfigPush push;
      push.text = std::move(text);
      push.mode = spec.replace ? drivers::PushMode::Replace : drivers::PushMode::Merge;
      push.dry_run = spec.dry_run;
      push.save = spec.save;
      if (capabilities.has(drivers::Capability::ConfirmedCommit))
        push.confirm_minutes = spec.confirm_minutes;
      // An approved change is pushed only if it is still the change that was approved: the
      // diff is computed again under this device's write lock and compared by hash.
      if (!spec.approved_diff_sha256.empty() && !spec.dry_run) {
        drivers::ConfigPush check = push;
        check.dry_run = true;
        auto preview = driver.push_config(check, deadline);
        if (!preview) return std::move(preview).error();
        if (auto now = sha256_hex(preview->diff); now != spec.approved_diff_sha256) {
          return fail(Errc::Conflict,
                      "the change differs from the approved diff (approved sha256 " +
                          spec.approved_diff_sha256.substr(0, 12) + ", now " + now.substr(0, 12) +
                          "); nothing was pushed — ask for approval of the new diff",
                      spec.target);
        }
      }
      auto result = driver.push_config(push, deadline);
      if (!result) return std::move(result).error();
      if (spec.redact_secrets) {
        auto definition = catalog.find(platform);
        if (!definition) return std::move(definition).error();
        result->diff = redacted_diff(*result, **definition, spec.dry_run);
        for (auto& command : result->commands)
          command = redacted_command(command, **definition);
      }
      return json{{"changed", result->changed},
                  {"saved", spec.save && !spec.dry_run},
                  {"native_confirm", push.confirm_minutes > 0 && result->changed && !spec.dry_run},
                  {"confirmed", confirmed},
                  {"secrets_unknown", secrets_unknown},
                  {"dry_run", spec.dry_run},
                  {"diff", result->diff},
                  {"diff_sha256", sha256_hex(result->diff)},
                  {"commands", result->commands}};
    }
    case JobKind::GetConfig: {
      auto config = driver.get_config(drivers::ConfigSource::Running, deadline);
      if (!config) return std::move(config).error();
      // Redacted here, so the secrets never leave this module: not in the reply, the job's
      // results, its job.device event or the journal that keeps it.
      std::size_t secrets = 0;
      if (spec.redact_secrets) {
        auto definition = catalog.find(platform);
        if (!definition) return std::move(definition).error();
        *config = drivers::redact_secrets(*config, **definition, &secrets);
      }
      return json{{"config", std::move(*config)},
                  {"platform", platform},
                  {"redacted", spec.redact_secrets},
                  {"secrets_redacted", secrets}};
    }
    case JobKind::Facts: {
      auto facts = driver.facts(deadline);
      if (!facts) return std::move(facts).error();
      return json{{"hostname", facts->hostname}, {"vendor", facts->vendor},
                  {"model", facts->model},       {"os_version", facts->os_version},
                  {"serial", facts->serial},     {"uptime", facts->uptime}};
    }
  }
  return fail(Errc::Bug, "unhandled job kind");
}

}  // namespace

DeviceOutcome run_device_task(const DeviceTaskContext& context, const drivers::DeviceTarget& target,
                              Deadline deadline) {
  DeviceOutcome outcome;
  outcome.device = target.name;
  outcome.started_us = now_us();
  const bool writes = context.spec.kind == JobKind::Push && !context.spec.dry_run;
  bool locked = false;
  auto finish = [&](Result<json> result) {
    if (locked) context.locks.release(target.name, context.job_id);
    outcome.finished_us = now_us();
    if (result) {
      outcome.status = DeviceStatus::Ok;
      outcome.output = std::move(*result);
      return outcome;
    }
    const auto& error = result.error();
    outcome.status = deadline.cancelled()          ? DeviceStatus::Cancelled
                     : error.code == Errc::Timeout ? DeviceStatus::Timeout
                                                   : DeviceStatus::Failed;
    outcome.error_code = std::string(errc_name(error.code));
    outcome.error = deadline.cancelled() ? "cancelled: " + error.describe() : error.describe();
    return outcome;
  };

  if (writes) {
    auto lock =
        context.locks.acquire(target.name, context.job_id, context.spec.lock_fail_fast, deadline);
    if (!lock) return finish(std::move(lock).error());
    locked = true;
  }
  std::unique_ptr<drivers::Driver> session;
  if (!writes && context.sessions) {
    session = context.sessions->borrow(target.name);
    // A kept session to where the inventory no longer points is not this device's any more.
    if (session &&
        (session->target().host != target.host || session->target().port != target.port)) {
      session->close();
      session.reset();
    }
  }
  if (!session) {
    auto made = drivers::make_driver(target, context.catalog);
    if (!made) return finish(std::move(made).error());
    session = std::move(*made);
  }
  auto& driver = *session;

  if (writes) {
    // Only connecting is retried: a push that may have reached the device is never repeated.
    const std::function<Result<bool>()> connect = [&]() -> Result<bool> {
      ++outcome.attempts;
      if (auto opened = driver.open(deadline); !opened) return std::move(opened).error();
      return true;
    };
    if (auto opened = drivers::with_retry<bool>(context.retry, deadline, connect); !opened) {
      return finish(std::move(opened).error());
    }
    auto pushed = operate(context.spec, driver, deadline, context.catalog, target.platform);
    driver.close();
    if (!pushed && drivers::is_transient(pushed.error())) {
      auto error = std::move(pushed).error();
      error.message += " (the push may be partly applied; check the device before retrying)";
      return finish(std::move(error));
    }
    return finish(std::move(pushed));
  }
  const std::function<Result<json>()> attempt = [&]() -> Result<json> {
    ++outcome.attempts;
    if (!driver.is_open()) {
      if (auto opened = driver.open(deadline); !opened) return std::move(opened).error();
    }
    auto result = operate(context.spec, driver, deadline, context.catalog, target.platform);
    if (!result) driver.close();  // a transient fault may have broken the session
    return result;
  };
  auto result = drivers::with_retry<json>(context.retry, deadline, attempt);
  if (context.sessions) {
    context.sessions->give_back(target.name, std::move(session));  // closes it unless held
  } else {
    driver.close();
  }
  return finish(std::move(result));
}

std::vector<std::unique_ptr<FiberLoop>> make_session_loops(int configured) {
  int count = configured;
  if (count <= 0) count = static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 4u));
  std::vector<std::unique_ptr<FiberLoop>> loops;
  for (int i = 0; i < count; ++i)
    loops.push_back(std::make_unique<FiberLoop>());
  return loops;
}

}  // namespace nauto::devices
