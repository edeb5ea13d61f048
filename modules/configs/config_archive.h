#pragma once
// ConfigArchive: every version of every device's config, in the store.
//
// Tables (all msgpack values):
//   config_versions  "<device>\x1f<version, 10 digits>" -> VersionInfo: who, when, why, which job,
//                    its size and how many lines it added and removed from the version before
//   config_blobs     "<SHA-256 of the text>" -> {base, depth, size, frame}: the text compressed
//                    with zstd, as a delta against `base` (another blob) or whole (depth 0)
//   config_status    "<device>" -> the last backup of the device: when, ok or the error, its job
//
// A version is stored only when the text changed. Texts are content-addressed: a device that
// goes back to an earlier config, or two devices with the same config, share a blob. A new blob
// is a delta against the device's latest text while the chain of deltas behind it is shorter
// than kKeyframeEvery, so reading any version decompresses at most that many frames.
//
// Thread: record(), note_failure() and sweep() only on one thread at a time (the configs
// module's): each reads what the one before committed. The readers may be called from any
// thread (they use the store's read transactions and a thread_local codec).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "nauto/base/result.h"
#include "nauto/store/store.h"

namespace nauto::configs {

/// One fetched config, to be archived.
struct ConfigSnapshot {
  std::string device;
  std::string platform;
  std::string text;
  std::int64_t time_us = 0;
  std::string by;   ///< who asked for the backup
  std::string why;  ///< the reason they gave ("nightly", "before change CHG-42")
  std::string job;  ///< the get_config job that fetched it
};

/// What the archive knows about one version.
struct VersionInfo {
  std::string device;
  std::uint32_t version = 0;  ///< 1, 2, ... per device
  std::string sha256;
  std::int64_t time_us = 0;
  std::string by;
  std::string why;
  std::string job;
  std::string platform;
  std::uint64_t bytes = 0;
  std::uint64_t lines = 0;
  std::uint32_t added = 0;    ///< lines added since the version before (all, for version 1)
  std::uint32_t removed = 0;  ///< lines removed since the version before
};

/// What archiving one snapshot did.
struct RecordOutcome {
  std::string device;
  bool changed = false;        ///< a new version was stored
  std::uint32_t version = 0;   ///< the device's latest version now
  std::uint32_t previous = 0;  ///< the version before it (0: the first one)
  std::uint32_t added = 0;
  std::uint32_t removed = 0;
  std::string diff;  ///< unified diff from the version before, cut at kDiffSummaryBytes
};

/// How much of a diff a RecordOutcome (and so a config.changed event) carries.
inline constexpr std::size_t kDiffSummaryBytes = 4096;

/// The unified diff of two texts and the lines it adds and removes.
struct TextChange {
  std::string diff;
  std::uint32_t added = 0;
  std::uint32_t removed = 0;
};
TextChange compare_texts(const std::string& before, const std::string& after,
                         const std::string& label_before, const std::string& label_after,
                         int context = 3);
/// The lines a unified diff adds and removes (its --- and +++ headers aside).
std::pair<std::uint32_t, std::uint32_t> count_diff_lines(const std::string& diff);
/// `diff` cut at `bytes`, at a line end, with a line saying how much was left out.
std::string cut_diff(const std::string& diff, std::size_t bytes);

/// The last backup of a device.
struct DeviceStatus {
  std::string device;
  std::int64_t checked_us = 0;
  bool ok = false;
  std::string error;
  std::string job;
  std::uint32_t version = 0;  ///< the latest version (0: none yet)
};

/// Which version: a number, the latest, the one before it, or the one in force at a time.
struct VersionRef {
  enum class Kind { Number, Latest, Previous, AtTime } kind = Kind::Latest;
  std::uint32_t number = 0;
  std::int64_t time_us = 0;  ///< AtTime: the latest version stored at or before this time
};

/// Parses "3", "@3", "latest", "previous", "2026-12-01" (the version in force at the end of that
/// day, UTC) or "2026-12-01T10:30:00Z". Errors name the forms accepted.
Result<VersionRef> parse_version_ref(std::string_view text);

/// How much history to keep. The latest version of a device is always kept.
struct ArchiveRetention {
  std::uint32_t keep_versions = 1000;  ///< per device; 0: no limit
  std::int64_t max_age_us = 0;         ///< older versions go; 0: no limit
};

struct SweepOutcome {
  std::uint64_t versions_erased = 0;
  std::uint64_t blobs_erased = 0;
};

class ConfigArchive {
 public:
  /// A delta chain is at most this long before a whole text (a keyframe) is stored again.
  static constexpr std::uint32_t kKeyframeEvery = 16;
  static constexpr const char* kVersionsTable = "config_versions";
  static constexpr const char* kBlobsTable = "config_blobs";
  static constexpr const char* kStatusTable = "config_status";

  explicit ConfigArchive(store::Store& store) : store_(store) {}

  /// Archives snapshots in one commit (durable when it returns); one outcome per snapshot.
  Result<std::vector<RecordOutcome>> record(const std::vector<ConfigSnapshot>& snapshots);
  /// Records that a device's backup failed (its versions stay as they are).
  Result<void> note_failures(const std::vector<DeviceStatus>& failures);

  /// The device's versions, newest first, at most `limit`.
  Result<std::vector<VersionInfo>> history(const std::string& device, std::size_t limit) const;
  /// The device's latest version; nullopt when it has none.
  Result<std::optional<VersionInfo>> latest(const std::string& device) const;
  /// The version `ref` names. Errc::NotFound says which versions the device has.
  Result<VersionInfo> find(const std::string& device, const VersionRef& ref) const;
  /// A version's text.
  Result<std::string> text(const VersionInfo& version) const;
  /// The text of a blob by its SHA-256.
  Result<std::string> text_of(const std::string& sha256) const;
  /// Every device with at least one version, in name order.
  Result<std::vector<std::string>> devices() const;
  /// The last backup of each device, in name order.
  Result<std::vector<DeviceStatus>> statuses() const;

  /// Erases versions beyond the retention (never a device's latest), then every blob no kept
  /// version needs (its own or a base of its chain). Durable when it returns.
  Result<SweepOutcome> sweep(const ArchiveRetention& retention, std::int64_t now_us);

 private:
  store::Store& store_;
};

/// The store key of a device's version.
std::string version_key(const std::string& device, std::uint32_t version);

}  // namespace nauto::configs
