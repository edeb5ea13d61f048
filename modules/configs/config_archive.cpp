#include "config_archive.h"

#include <chrono>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "config_codec.h"
#include "nauto/base/digest.h"
#include "nauto/drivers/config_diff.h"

namespace nauto::configs {

using nlohmann::json;

namespace {

constexpr char kSeparator = '\x1f';  // sorts below every character of a device name

std::string device_prefix(const std::string& device) {
  return device + kSeparator;
}

std::string device_end(const std::string& device) {
  return device + static_cast<char>(kSeparator + 1);
}

std::string to_value(const json& document) {
  auto bytes = json::to_msgpack(document);
  return std::string(bytes.begin(), bytes.end());
}

Result<json> from_value(const std::string& value, const std::string& what) {
  auto document = json::from_msgpack(value, true, false);
  if (document.is_discarded() || !document.is_object())
    return fail(Errc::Malformed, "the archive's " + what + " record does not decode");
  return document;
}

json to_json(const VersionInfo& v) {
  return json{{"sha256", v.sha256},  {"time_us", v.time_us}, {"by", v.by},
              {"why", v.why},        {"job", v.job},         {"platform", v.platform},
              {"bytes", v.bytes},    {"lines", v.lines},     {"added", v.added},
              {"removed", v.removed}};
}

Result<VersionInfo> version_from(const std::string& key, const std::string& value) {
  auto document = from_value(value, "version");
  if (!document) return std::move(document).error();
  const auto split = key.rfind(kSeparator);
  if (split == std::string::npos) return fail(Errc::Malformed, "a config version key is malformed");
  VersionInfo v;
  v.device = key.substr(0, split);
  v.version = static_cast<std::uint32_t>(std::strtoul(key.c_str() + split + 1, nullptr, 10));
  v.sha256 = document->value("sha256", "");
  v.time_us = document->value("time_us", std::int64_t{0});
  v.by = document->value("by", "");
  v.why = document->value("why", "");
  v.job = document->value("job", "");
  v.platform = document->value("platform", "");
  v.bytes = document->value("bytes", std::uint64_t{0});
  v.lines = document->value("lines", std::uint64_t{0});
  v.added = document->value("added", 0u);
  v.removed = document->value("removed", 0u);
  return v;
}

json to_json(const DeviceStatus& s) {
  return json{{"checked_us", s.checked_us},
              {"ok", s.ok},
              {"error", s.error},
              {"job", s.job},
              {"version", s.version}};
}

DeviceStatus status_from(const std::string& device, const json& document) {
  DeviceStatus s;
  s.device = device;
  s.checked_us = document.value("checked_us", std::int64_t{0});
  s.ok = document.value("ok", false);
  s.error = document.value("error", "");
  s.job = document.value("job", "");
  s.version = document.value("version", 0u);
  return s;
}

struct Blob {
  std::string base;  // the SHA-256 of the blob this one is a delta against; empty: whole
  std::uint32_t depth = 0;
  std::size_t size = 0;
  std::string frame;
};

Result<Blob> blob_from(const std::string& value) {
  auto document = from_value(value, "config blob");
  if (!document) return std::move(document).error();
  Blob blob;
  blob.base = document->value("base", "");
  blob.depth = document->value("depth", 0u);
  blob.size = document->value("size", std::size_t{0});
  const auto& frame = (*document)["frame"];
  if (!frame.is_binary()) return fail(Errc::Malformed, "a config blob has no frame");
  blob.frame.assign(frame.get_binary().begin(), frame.get_binary().end());
  return blob;
}

std::string blob_value(const Blob& blob) {
  json::binary_t frame(std::vector<std::uint8_t>(blob.frame.begin(), blob.frame.end()));
  return to_value(
      json{{"base", blob.base}, {"depth", blob.depth}, {"size", blob.size}, {"frame", frame}});
}

ConfigCodec& codec() {
  thread_local ConfigCodec codec;
  return codec;
}

std::uint64_t count_lines(const std::string& text) {
  std::uint64_t lines = 0;
  for (char c : text)
    lines += c == '\n';
  if (!text.empty() && text.back() != '\n') ++lines;
  return lines;
}

std::string two_digits(unsigned value) {
  char text[8];
  std::snprintf(text, sizeof text, "%02u", value);
  return text;
}

std::string iso_date(std::int64_t time_us) {
  const auto day = std::chrono::floor<std::chrono::days>(
      std::chrono::sys_time<std::chrono::microseconds>(std::chrono::microseconds(time_us)));
  const std::chrono::year_month_day ymd(day);
  return std::to_string(static_cast<int>(ymd.year())) + "-" +
         two_digits(static_cast<unsigned>(ymd.month())) + "-" +
         two_digits(static_cast<unsigned>(ymd.day()));
}

}  // namespace

TextChange compare_texts(const std::string& before, const std::string& after,
                         const std::string& label_before, const std::string& label_after,
                         int context) {
  TextChange change;
  change.diff = drivers::unified_diff(before, after, label_before, label_after, context);
  std::tie(change.added, change.removed) = count_diff_lines(change.diff);
  return change;
}

std::pair<std::uint32_t, std::uint32_t> count_diff_lines(const std::string& diff) {
  std::uint32_t added = 0, removed = 0;
  std::size_t start = 0;
  while (start < diff.size()) {
    auto end = diff.find('\n', start);
    if (end == std::string::npos) end = diff.size();
    std::string_view line(diff.data() + start, end - start);
    if (line.starts_with("+") && !line.starts_with("+++ ")) ++added;
    if (line.starts_with("-") && !line.starts_with("--- ")) ++removed;
    start = end + 1;
  }
  return {added, removed};
}

std::string cut_diff(const std::string& diff, std::size_t bytes) {
  if (diff.size() <= bytes) return diff;
  auto end = diff.rfind('\n', bytes);
  end = end == std::string::npos ? 0 : end + 1;
  return diff.substr(0, end) + "... (" + std::to_string(diff.size() - end) + " more bytes)\n";
}

std::string version_key(const std::string& device, std::uint32_t version) {
  char number[16];
  std::snprintf(number, sizeof number, "%010u", version);
  return device_prefix(device) + number;
}

Result<VersionRef> parse_version_ref(std::string_view text) {
  if (text.starts_with("@")) text.remove_prefix(1);
  VersionRef ref;
  if (text.empty() || text == "latest") return ref;
  if (text == "previous") {
    ref.kind = VersionRef::Kind::Previous;
    return ref;
  }
  const std::string s(text);
  if (s.find_first_not_of("0123456789") == std::string::npos && s.size() <= 9) {
    ref.kind = VersionRef::Kind::Number;
    ref.number = static_cast<std::uint32_t>(std::stoul(s));
    if (ref.number > 0) return ref;
  }
  int y = 0, mo = 0, d = 0, h = 23, mi = 59, sec = 59;
  int consumed = 0;
  bool parsed = false;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2d%n", &y, &mo, &d, &consumed) == 3 &&
      static_cast<std::size_t>(consumed) == s.size()) {
    parsed = true;  // the end of that day
  } else if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &y, &mo, &d, &h, &mi, &sec,
                         &consumed) == 6 &&
             static_cast<std::size_t>(consumed) == s.size()) {
    parsed = true;
  }
  const std::chrono::year_month_day ymd{std::chrono::year{y},
                                        std::chrono::month{static_cast<unsigned>(mo)},
                                        std::chrono::day{static_cast<unsigned>(d)}};
  if (!parsed || !ymd.ok() || h > 23 || mi > 59 || sec > 60) {
    return fail(Errc::InvalidArgument,
                "version '" + s +
                    "': give a version number (3 or @3), latest, previous, a day "
                    "(2026-12-01: the version in force at its end, UTC) or a time "
                    "(2026-12-01T10:30:00Z)");
  }
  const auto time = std::chrono::sys_days(ymd) + std::chrono::hours(h) + std::chrono::minutes(mi) +
                    std::chrono::seconds(sec);
  ref.kind = VersionRef::Kind::AtTime;
  ref.time_us =
      std::chrono::duration_cast<std::chrono::microseconds>(time.time_since_epoch()).count() +
      999'999;
  return ref;
}

Result<std::vector<VersionInfo>> ConfigArchive::history(const std::string& device,
                                                        std::size_t limit) const {
  store::ScanOptions scan;
  scan.from = device_prefix(device);
  scan.until = device_end(device);
  scan.reverse = true;
  scan.limit = limit;
  auto entries = store_.scan(kVersionsTable, scan);
  if (!entries) return std::move(entries).error();
  std::vector<VersionInfo> versions;
  versions.reserve(entries->size());
  for (const auto& [key, value] : *entries) {
    auto version = version_from(key, value);
    if (!version) return std::move(version).error();
    versions.push_back(std::move(*version));
  }
  return versions;
}

Result<std::optional<VersionInfo>> ConfigArchive::latest(const std::string& device) const {
  auto newest = history(device, 1);
  if (!newest) return std::move(newest).error();
  if (newest->empty()) return std::optional<VersionInfo>{};
  return std::optional<VersionInfo>{std::move(newest->front())};
}

Result<VersionInfo> ConfigArchive::find(const std::string& device, const VersionRef& ref) const {
  auto newest = history(device, 2);
  if (!newest) return std::move(newest).error();
  if (newest->empty()) {
    return fail(Errc::NotFound, "no archived config for '" + device +
                                    "' (`nauto config backup --target name=" + device +
                                    "` makes one)");
  }
  // What exists, for the error: "r1 has versions 1 to 5 (2026-11-02 to 2026-12-04)".
  auto what_exists = [&]() {
    store::ScanOptions first;
    first.from = device_prefix(device);
    first.until = device_end(device);
    first.limit = 1;
    std::string oldest_text;
    if (auto oldest = store_.scan(kVersionsTable, first); oldest && !oldest->empty()) {
      if (auto v = version_from(oldest->front().first, oldest->front().second); v) {
        oldest_text = std::to_string(v->version) + " (" + iso_date(v->time_us) + ")";
      }
    }
    const auto& last = newest->front();
    return device + " has versions " + oldest_text + " to " + std::to_string(last.version) + " (" +
           iso_date(last.time_us) + "); `nauto config history " + device + "` lists them";
  };
  switch (ref.kind) {
    case VersionRef::Kind::Latest:
      return newest->front();
    case VersionRef::Kind::Previous:
      if (newest->size() < 2) return fail(Errc::NotFound, "only one version: " + what_exists());
      return (*newest)[1];
    case VersionRef::Kind::Number: {
      auto value = store_.get(kVersionsTable, version_key(device, ref.number));
      if (!value) return std::move(value).error();
      if (!*value) {
        return fail(Errc::NotFound, "no version " + std::to_string(ref.number) + " of " + device +
                                        ": " + what_exists());
      }
      return version_from(version_key(device, ref.number), **value);
    }
    case VersionRef::Kind::AtTime: {
      // Versions are few per device: walk them newest first to the first one old enough.
      store::ScanOptions scan;
      scan.from = device_prefix(device);
      scan.until = device_end(device);
      scan.reverse = true;
      scan.limit = 100'000;
      auto entries = store_.scan(kVersionsTable, scan);
      if (!entries) return std::move(entries).error();
      for (const auto& [key, value] : *entries) {
        auto version = version_from(key, value);
        if (!version) return std::move(version).error();
        if (version->time_us <= ref.time_us) return version;
      }
      return fail(Errc::NotFound, "no version of " + device + " that old: " + what_exists());
    }
  }
  return fail(Errc::Bug, "unhandled version reference");
}

Result<std::string> ConfigArchive::text_of(const std::string& sha256) const {
  // The chain from this blob back to its keyframe, then forwards, each text the next's base.
  std::vector<Blob> chain;
  std::string next = sha256;
  while (!next.empty()) {
    if (chain.size() > kKeyframeEvery * 4)
      return fail(Errc::Malformed, "a config blob's delta chain does not end");
    auto value = store_.get(kBlobsTable, next);
    if (!value) return std::move(value).error();
    if (!*value) return fail(Errc::Malformed, "config blob " + next.substr(0, 12) + " is missing");
    auto blob = blob_from(**value);
    if (!blob) return std::move(blob).error();
    next = blob->base;
    chain.push_back(std::move(*blob));
  }
  std::string text;
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    auto decoded = codec().decompress(it->frame, text, it->size);
    if (!decoded) return std::move(decoded).error();
    text = std::move(*decoded);
  }
  return text;
}

Result<std::string> ConfigArchive::text(const VersionInfo& version) const {
  return text_of(version.sha256);
}

Result<std::vector<std::string>> ConfigArchive::devices() const {
  auto statuses_now = statuses();
  if (!statuses_now) return std::move(statuses_now).error();
  std::vector<std::string> names;
  for (const auto& status : *statuses_now) {
    if (status.version > 0) names.push_back(status.device);
  }
  return names;
}

Result<std::vector<DeviceStatus>> ConfigArchive::statuses() const {
  std::vector<DeviceStatus> out;
  store::ScanOptions scan;
  scan.limit = 10'000;
  for (;;) {
    auto entries = store_.scan(kStatusTable, scan);
    if (!entries) return std::move(entries).error();
    for (const auto& [device, value] : *entries) {
      auto document = from_value(value, "device status");
      if (!document) return std::move(document).error();
      out.push_back(status_from(device, *document));
    }
    if (entries->size() < scan.limit) break;
    scan.from = entries->back().first + '\0';
  }
  return out;
}

Result<std::vector<RecordOutcome>> ConfigArchive::record(
    const std::vector<ConfigSnapshot>& snapshots) {
  store::WriteBatch batch;
  std::vector<RecordOutcome> outcomes;
  // Within one call, what this batch has written so far (the store shows it only after commit).
  std::map<std::string, VersionInfo> latest_in_batch;
  std::map<std::string, std::uint32_t> blob_depth_in_batch;
  std::map<std::string, std::string> text_in_batch;
  for (const auto& snapshot : snapshots) {
    RecordOutcome outcome;
    outcome.device = snapshot.device;
    std::optional<VersionInfo> previous;
    if (auto it = latest_in_batch.find(snapshot.device); it != latest_in_batch.end()) {
      previous = it->second;
    } else {
      auto stored = latest(snapshot.device);
      if (!stored) return std::move(stored).error();
      previous = std::move(*stored);
    }
    const auto sha = sha256_hex(snapshot.text);
    DeviceStatus status{snapshot.device, snapshot.time_us, true, "", snapshot.job, 0};
    if (previous && previous->sha256 == sha) {
      outcome.version = previous->version;
      outcome.previous = previous->version;
      status.version = previous->version;
      batch.put(kStatusTable, snapshot.device, to_value(to_json(status)));
      outcomes.push_back(outcome);
      continue;
    }
    std::string previous_text;
    if (previous) {
      if (auto it = text_in_batch.find(previous->sha256); it != text_in_batch.end()) {
        previous_text = it->second;
      } else {
        auto read = text(*previous);
        if (!read) return std::move(read).error();
        previous_text = std::move(*read);
      }
    }
    // The blob, unless this text is stored already (a config gone back to an earlier one).
    bool stored = blob_depth_in_batch.contains(sha);
    if (!stored) {
      auto existing = store_.get(kBlobsTable, sha);
      if (!existing) return std::move(existing).error();
      stored = existing->has_value();
    }
    if (!stored) {
      Blob blob;
      blob.size = snapshot.text.size();
      std::uint32_t base_depth = kKeyframeEvery;
      if (previous) {
        if (auto it = blob_depth_in_batch.find(previous->sha256); it != blob_depth_in_batch.end()) {
          base_depth = it->second;
        } else if (auto value = store_.get(kBlobsTable, previous->sha256); value && *value) {
          if (auto base = blob_from(**value)) base_depth = base->depth;
        }
      }
      const bool delta = previous && base_depth + 1 < kKeyframeEvery;
      if (delta) {
        blob.base = previous->sha256;
        blob.depth = base_depth + 1;
      }
      auto frame = codec().compress(snapshot.text, delta ? previous_text : std::string{});
      if (!frame) return std::move(frame).error();
      blob.frame = std::move(*frame);
      batch.put(kBlobsTable, sha, blob_value(blob));
      blob_depth_in_batch[sha] = blob.depth;
    }
    text_in_batch[sha] = snapshot.text;
    VersionInfo version;
    version.device = snapshot.device;
    version.version = previous ? previous->version + 1 : 1;
    version.sha256 = sha;
    version.time_us = snapshot.time_us;
    version.by = snapshot.by;
    version.why = snapshot.why;
    version.job = snapshot.job;
    version.platform = snapshot.platform;
    version.bytes = snapshot.text.size();
    version.lines = count_lines(snapshot.text);
    // A first version adds every line; diffing it against nothing would cost the diff's
    // worst case (every line an edit) for a diff nobody reads.
    TextChange change;
    if (previous) {
      change = compare_texts(previous_text, snapshot.text,
                             snapshot.device + "@" + std::to_string(previous->version),
                             snapshot.device + "@" + std::to_string(version.version));
    } else {
      change.added = static_cast<std::uint32_t>(version.lines);
    }
    version.added = change.added;
    version.removed = change.removed;
    batch.put(kVersionsTable, version_key(snapshot.device, version.version),
              to_value(to_json(version)));
    status.version = version.version;
    batch.put(kStatusTable, snapshot.device, to_value(to_json(status)));
    outcome.changed = true;
    outcome.version = version.version;
    outcome.previous = previous ? previous->version : 0;
    outcome.added = version.added;
    outcome.removed = version.removed;
    outcome.diff = cut_diff(change.diff, kDiffSummaryBytes);
    latest_in_batch[snapshot.device] = std::move(version);
    outcomes.push_back(outcome);
  }
  if (batch.empty()) return outcomes;
  if (auto written = store_.write_and_wait(std::move(batch)); !written)
    return std::move(written).error();
  return outcomes;
}

Result<void> ConfigArchive::note_failures(const std::vector<DeviceStatus>& failures) {
  store::WriteBatch batch;
  for (auto status : failures) {
    // The latest version stays what it was.
    auto newest = latest(status.device);
    if (!newest) return std::move(newest).error();
    status.ok = false;
    status.version = *newest ? (*newest)->version : 0;
    batch.put(kStatusTable, status.device, to_value(to_json(status)));
  }
  if (batch.empty()) return ok();
  return store_.write_and_wait(std::move(batch));
}

Result<SweepOutcome> ConfigArchive::sweep(const ArchiveRetention& retention, std::int64_t now_us) {
  SweepOutcome outcome;
  // 1. Versions: per device, newest first; the latest always stays.
  std::set<std::string> kept_blobs;
  store::WriteBatch batch;
  std::string current_device;
  std::uint32_t seen = 0;
  store::ScanOptions scan;
  scan.limit = 10'000;
  scan.reverse = true;
  for (;;) {
    auto entries = store_.scan(kVersionsTable, scan);
    if (!entries) return std::move(entries).error();
    for (const auto& [key, value] : *entries) {
      auto version = version_from(key, value);
      if (!version) return std::move(version).error();
      if (version->device != current_device) {
        current_device = version->device;
        seen = 0;
      }
      ++seen;
      const bool too_many = retention.keep_versions > 0 && seen > retention.keep_versions;
      const bool too_old =
          retention.max_age_us > 0 && version->time_us < now_us - retention.max_age_us;
      if (seen > 1 && (too_many || too_old)) {
        batch.erase(kVersionsTable, key);
        ++outcome.versions_erased;
      } else {
        kept_blobs.insert(version->sha256);
      }
    }
    if (entries->size() < scan.limit) break;
    scan.until = entries->back().first;  // exclusive: the next page starts below it
  }
  // 2. Blobs: what a kept version reads, and the bases its chain reads through.
  std::vector<std::string> pending(kept_blobs.begin(), kept_blobs.end());
  while (!pending.empty()) {
    auto sha = std::move(pending.back());
    pending.pop_back();
    auto value = store_.get(kBlobsTable, sha);
    if (!value) return std::move(value).error();
    if (!*value) continue;
    auto blob = blob_from(**value);
    if (!blob) return std::move(blob).error();
    if (!blob->base.empty() && kept_blobs.insert(blob->base).second) pending.push_back(blob->base);
  }
  store::ScanOptions blobs;
  blobs.limit = 10'000;
  for (;;) {
    auto entries = store_.scan(kBlobsTable, blobs);
    if (!entries) return std::move(entries).error();
    for (const auto& [sha, value] : *entries) {
      if (!kept_blobs.contains(sha)) {
        batch.erase(kBlobsTable, sha);
        ++outcome.blobs_erased;
      }
      // Commits stay small enough for the store's group commit (max_ops_per_commit).
      if (batch.size() >= 10'000) {
        if (auto written = store_.write_and_wait(std::move(batch)); !written)
          return std::move(written).error();
        batch = store::WriteBatch{};
      }
    }
    if (entries->size() < blobs.limit) break;
    blobs.from = entries->back().first + '\0';
  }
  if (!batch.empty()) {
    if (auto written = store_.write_and_wait(std::move(batch)); !written)
      return std::move(written).error();
  }
  return outcome;
}

}  // namespace nauto::configs
