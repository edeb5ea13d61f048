#pragma once
// ConfirmedPushes: config pushes that undo themselves unless confirmed (issue 27).
//
// A push with a confirm window: the devices' configs are archived first (the snapshot), the
// change is pushed, and then either a health-check runbook passes (`check`, run with
// {target: the pushed devices}) or someone confirms (`nauto config confirm ID`) before the
// window ends; otherwise every pushed device is put back to its snapshot (a replace push of the
// archived version, its secrets restored from the device), on every platform. Where the
// platform has its own confirmed commit (Junos), the push also commits with a confirm timeout
// (the window in whole minutes, rounded up) and the confirmation sends the commit that confirms
// it: a device cut off from nautod in the window rolls back by itself.
// Each push is a record in the store table config_pushes, written at every step, so a nautod
// killed during the window rolls back at its next start when the window has passed (or arms the
// rest of it). A device that fails mid-push is counted as failed and rolled back with the
// others, never pushed again.
//
// Thread: the configs module's, for every member.

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "config_archive.h"
#include "config_fetches.h"
#include "nauto/sdk/context.h"
#include "nauto/store/store.h"
#include "run_waits.h"

namespace nauto::configs {

struct PushAsk {
  std::string target;
  std::string config;
  bool replace = false;
  bool save = false;            ///< copy running to startup (after the confirmation, if any)
  std::int64_t confirm_ms = 0;  ///< 0: no window, the push stands
  std::string check;            ///< a runbook that decides, within the window
  std::string check_run;        ///< a running run whose end decides (the runbook that pushes)
  std::string by, why;
  std::string override_window, allow_dangerous;  ///< passed to the push (change_guard.h)
};

class ConfirmedPushes {
 public:
  static constexpr const char* kTable = "config_pushes";
  /// Archives `target`'s configs (a backup) and hands over the backup's record.
  using Snapshot =
      std::function<void(Context& ctx, const std::string& target, const std::string& why,
                         const std::string& by, std::function<void(Result<nlohmann::json>)> done)>;
  using Done = std::function<void(Result<nlohmann::json> record)>;

  ConfirmedPushes(store::Store& store, const ConfigArchive& archive, ConfigFetches& fetches,
                  RunWaits& runs, Snapshot snapshot)
      : store_(store),
        archive_(archive),
        fetches_(fetches),
        runs_(runs),
        snapshot_(std::move(snapshot)) {}

  /// Snapshot, push; `done` gets the record once the push is decided: pushed (no window),
  /// waiting (for a confirmation), confirmed or rolled_back (the check decided).
  void push(Context& ctx, PushAsk ask, Done done);
  /// Confirms a push waiting in its window (saving it if asked).
  void confirm(Context& ctx, const std::string& id, const std::string& by, Done done);
  /// Puts one device back to an archived version (secrets restored from the device);
  /// `override_window` as a push's (change_guard.h).
  void rollback_device(Context& ctx, const std::string& device, std::uint32_t version, bool save,
                       const std::string& by, const std::string& override_window, Done done);
  /// At start: windows that passed while nautod was down roll back; the others are armed.
  void resume(Context& ctx);
  /// The latest records, newest first.
  Result<nlohmann::json> list(std::size_t limit) const;
  /// Fails what waits for an answer (nautod stopping).
  void stop(Context& ctx) noexcept;

 private:
  Result<void> save(const nlohmann::json& record);
  void pushed(Context& ctx, const std::string& id, std::vector<nlohmann::json> results);
  void decided(Context& ctx, nlohmann::json& record);
  void arm(Context& ctx, const nlohmann::json& record);
  void start_check(Context& ctx, nlohmann::json& record);
  void wait_for_run(Context& ctx, const std::string& id, const std::string& run);
  void roll_back(Context& ctx, const std::string& id, const std::string& reason);
  Result<nlohmann::json> stored(const std::string& id) const;

  store::Store& store_;
  const ConfigArchive& archive_;
  ConfigFetches& fetches_;
  RunWaits& runs_;
  Snapshot snapshot_;
  std::map<std::string, Done> waiting_;             // push id -> who waits for its decision
  std::map<std::string, Context::TimerId> timers_;  // push id -> its window's end
};

}  // namespace nauto::configs
