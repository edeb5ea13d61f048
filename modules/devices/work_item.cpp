#include "work_item.h"

#include <limits>
#include <optional>
#include <type_traits>

#include "nauto/base/digest.h"

namespace nauto::devices {

using nlohmann::json;

namespace {

// Bumped on a change an older worker would misread: it refuses the item instead.
constexpr int kItemVersion = 1;

Result<json> parse_object(std::string_view text, const char* what) {
  auto document = json::parse(text, nullptr, false);
  if (document.is_discarded() || !document.is_object())
    return fail(Errc::Malformed, std::string(what) + " is not a JSON object");
  return document;
}

// A whole number that fits T: nlohmann's get<integer>() of a float out of range is undefined
// behaviour (found by fuzz_work_item), so only integers are read as integers.
template <typename T>
std::optional<T> whole_number(const json& value) {
  if (value.is_number_unsigned()) {
    const auto n = value.get<std::uint64_t>();
    if (n > static_cast<std::uint64_t>(std::numeric_limits<T>::max())) return std::nullopt;
    return static_cast<T>(n);
  }
  if (!value.is_number_integer()) return std::nullopt;
  const auto n = value.get<std::int64_t>();
  if (n < std::numeric_limits<T>::min() || n > std::numeric_limits<T>::max()) return std::nullopt;
  return static_cast<T>(n);
}

// An optional whole number: `fallback` when absent, an error when present and not one.
template <typename T>
Result<T> whole_or(const json& document, const char* name, T fallback, const char* what) {
  const auto it = document.find(name);
  if (it == document.end()) return fallback;
  if (auto n = whole_number<T>(*it)) return *n;
  return fail(Errc::Malformed, std::string(what) + ": " + name + " is not a whole number");
}

template <typename T>
Result<T> field(const json& document, const char* name, const char* what) {
  const auto it = document.find(name);
  if (it == document.end()) return fail(Errc::Malformed, std::string(what) + " has no " + name);
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    if (auto n = whole_number<T>(*it)) return *n;
    return fail(Errc::Malformed, std::string(what) + ": " + name + " is not a whole number");
  }
  try {
    return it->get<T>();
  } catch (const json::exception&) {
    return fail(Errc::Malformed, std::string(what) + ": " + name + " has the wrong type");
  }
}

DeviceStatus status_from_name(std::string_view name) {
  if (name == "ok") return DeviceStatus::Ok;
  if (name == "timeout") return DeviceStatus::Timeout;
  if (name == "cancelled") return DeviceStatus::Cancelled;
  if (name == "skipped") return DeviceStatus::Skipped;
  return DeviceStatus::Failed;
}

}  // namespace

// open_item and open_result without their guard against exceptions.
static Result<WorkItem> decode_item(const SignedItem& signed_item, std::string_view public_key);
static Result<WorkResult> decode_result(const SignedItem& sealed, const SigningKey& control_key);

// The JobSpec fields a device task reads, in job.run's own form.
constexpr const char* kItemSpecFields[] = {"kind",
                                           "commands",
                                           "structured",
                                           "config",
                                           "replace",
                                           "dry_run",
                                           "approved_diff_sha256",
                                           "redact_secrets",
                                           "restore_secrets",
                                           "save",
                                           "confirm_minutes",
                                           "confirm_commit",
                                           "device_timeout",
                                           "attempts",
                                           "lock"};

json item_spec_json(const JobSpec& spec) {
  const auto whole = to_json(spec);
  json out = json::object();
  for (const auto* field : kItemSpecFields)
    out[field] = whole.at(field);
  return out;
}

Result<JobSpec> item_spec_from_json(const json& s) {
  if (!s.is_object()) return fail(Errc::Malformed, "the item's spec is not an object");
  // job.run's reader checks every value (and never throws); the target is the item's device.
  auto body = s;
  body["target"] = "(the item's device)";
  auto spec = parse_job_spec(body);
  if (!spec) return fail(Errc::Malformed, "the item's spec: " + spec.error().describe());
  return spec;
}

SignedItem sign_item(const WorkItem& item, const SigningKey& key) {
  SignedItem out;
  out.payload = json{{"v", kItemVersion},
                     {"job", item.job},
                     {"device", item.device},
                     {"pool", item.pool},
                     {"spec", item_spec_json(item.spec)},
                     {"host", item.host},
                     {"deadline_us", item.deadline_us},
                     {"issued_us", item.issued_us}}
                    .dump();
  out.signature = key.sign(out.payload);
  return out;
}

Result<WorkItem> open_item(const SignedItem& signed_item, std::string_view public_key) {
  // Decoding never throws out of here: a field of the wrong type is a malformed item.
  try {
    return decode_item(signed_item, public_key);
  } catch (const json::exception& e) {
    return fail(Errc::Malformed, std::string("the item: ") + e.what());
  }
}

static Result<WorkItem> decode_item(const SignedItem& signed_item, std::string_view public_key) {
  if (!signature_valid(public_key, signed_item.payload, signed_item.signature))
    return fail(Errc::Untrusted,
                "the item's signature does not verify with the control node's key: forged or "
                "altered, refused");
  auto document = parse_object(signed_item.payload, "the item");
  if (!document) return std::move(document).error();
  auto version = field<int>(*document, "v", "the item");
  if (!version) return std::move(version).error();
  if (*version != kItemVersion)
    return fail(Errc::Unsupported, "the item has version " + std::to_string(*version) +
                                       "; this worker reads version " +
                                       std::to_string(kItemVersion) + " (upgrade it)");
  WorkItem item;
  auto job = field<std::string>(*document, "job", "the item");
  auto device = field<std::string>(*document, "device", "the item");
  auto pool = field<std::string>(*document, "pool", "the item");
  auto deadline = field<std::int64_t>(*document, "deadline_us", "the item");
  auto issued = field<std::int64_t>(*document, "issued_us", "the item");
  if (!job) return std::move(job).error();
  if (!device) return std::move(device).error();
  if (!pool) return std::move(pool).error();
  if (!deadline) return std::move(deadline).error();
  if (!issued) return std::move(issued).error();
  auto spec = item_spec_from_json(document->value("spec", json()));
  if (!spec) return std::move(spec).error();
  item.job = *job;
  item.device = *device;
  item.pool = *pool;
  item.deadline_us = *deadline;
  item.issued_us = *issued;
  item.spec = std::move(*spec);
  item.host = document->value("host", json::object());
  if (!item.host.is_object() || item.host.value("name", "") != item.device)
    return fail(Errc::Malformed, "the item's host record does not name its device");
  return item;
}

std::string worker_result_key(const SigningKey& control_key, std::string_view worker) {
  return hmac_sha256_hex(control_key.private_seed(),
                         "nauto worker results\n" + std::string(worker));
}

SignedItem seal_result(const WorkResult& result, std::string_view worker_key) {
  SignedItem out;
  out.payload = json{{"v", kItemVersion},
                     {"job", result.job},
                     {"device", result.device},
                     {"pool", result.pool},
                     {"worker", result.worker},
                     {"entry", result.entry},
                     {"outcome", to_json(result.outcome)}}
                    .dump();
  out.signature = hmac_sha256_hex(worker_key, out.payload);
  return out;
}

Result<WorkResult> open_result(const SignedItem& sealed, const SigningKey& control_key) {
  try {
    return decode_result(sealed, control_key);
  } catch (const json::exception& e) {
    return fail(Errc::Malformed, std::string("the result: ") + e.what());
  }
}

static Result<WorkResult> decode_result(const SignedItem& sealed, const SigningKey& control_key) {
  auto document = parse_object(sealed.payload, "the result");
  if (!document) return std::move(document).error();
  WorkResult result;
  result.worker = document->value("worker", "");
  if (result.worker.empty()) return fail(Errc::Malformed, "the result names no worker");
  const auto expected =
      hmac_sha256_hex(worker_result_key(control_key, result.worker), sealed.payload);
  if (!equal_in_constant_time(expected, sealed.signature))
    return fail(Errc::Untrusted, "the result's MAC does not verify for worker '" + result.worker +
                                     "': forged or altered, refused");
  result.job = document->value("job", "");
  result.device = document->value("device", "");
  result.pool = document->value("pool", "");
  result.entry = document->value("entry", "");
  const auto outcome = document->value("outcome", json::object());
  if (result.job.empty() || result.device.empty() || !outcome.is_object())
    return fail(Errc::Malformed, "the result lacks its job, device or outcome");
  auto& o = result.outcome;
  try {
    o.device = result.device;
    o.status = status_from_name(outcome.value("status", "failed"));
    o.error_code = outcome.value("error_code", "");
    o.error = outcome.value("error", "");
    o.output = outcome.value("output", json());
    auto attempts = whole_or<int>(outcome, "attempts", 0, "the result");
    auto started = whole_or<std::int64_t>(outcome, "started_us", 0, "the result");
    auto finished = whole_or<std::int64_t>(outcome, "finished_us", 0, "the result");
    if (!attempts) return std::move(attempts).error();
    if (!started) return std::move(started).error();
    if (!finished) return std::move(finished).error();
    o.attempts = *attempts;
    o.started_us = *started;
    o.finished_us = *finished;
    o.worker = result.worker;
  } catch (const json::exception& e) {
    return fail(Errc::Malformed, std::string("the result's outcome: ") + e.what());
  }
  return result;
}

}  // namespace nauto::devices
