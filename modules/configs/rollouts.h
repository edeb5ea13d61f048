#pragma once
// Rollouts: staged rollouts of a push, a template apply or a runbook over a selector (issue 27).
//
// A rollout's devices are split into waves (rollout_plan.h). For each wave, in turn:
//  1. its devices' configs are archived (the snapshot: the version to go back to);
//  2. each device is changed - a push of the rollout's config, a push of its intended config,
//     or a run of the runbook with {target = the device} - `parallel` at a time;
//  3. the health-check runbook, if any, runs with {target = the wave's devices}.
// A device whose snapshot, render or change fails counts as failed; a failed check fails the
// wave. Once more devices failed than tolerated (max_fail), no device is started any more and
// the rollout halts: every device already changed (or whose change was in flight) is put back to
// its snapshot, unless no_rollback. pause holds the rollout after its current wave; abort halts
// it as soon as the devices in flight are done.
//
// Durability: the record (table config_rollouts) is written at every change of state, and each
// device's state (table config_rollout_devices, key "<rollout>/<device>") is written before its
// change starts. After a restart, a device that was in flight is "interrupted": counted as a
// failure and never changed again (it may have been), and the rollout goes on from the next
// wave - or halts, or finishes its rollback. A push rollout's config is not stored (a config may
// hold secrets): such a rollout waits, paused, for `resume` with the same config (its SHA-256 is
// checked). Template and runbook rollouts go on by themselves.
//
// Thread: the configs module's, for every member.

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "config_archive.h"
#include "confirmed_pushes.h"
#include "nauto/bus/schema_types.h"
#include "nauto/sdk/context.h"
#include "nauto/store/store.h"
#include "run_waits.h"

namespace nauto::configs {

class Rollouts {
 public:
  static constexpr const char* kTable = "config_rollouts";
  static constexpr const char* kDevicesTable = "config_rollout_devices";
  /// A host's intended config (IntendedConfigs::render), or why there is none.
  using Render = std::function<Result<std::string>(const nlohmann::json& host)>;
  using Done = std::function<void(Result<nlohmann::json> record)>;

  Rollouts(store::Store& store, const ConfigArchive& archive, ConfirmedPushes& pushes,
           RunWaits& runs, ConfirmedPushes::Snapshot snapshot, Render render)
      : store_(store),
        archive_(archive),
        pushes_(pushes),
        runs_(runs),
        snapshot_(std::move(snapshot)),
        render_(std::move(render)) {}

  /// Plans the waves and starts the first. `done` gets the record at once, or with `wait` when
  /// the rollout stops (finished, halted, rolled back, failed or paused).
  void start(Context& ctx, const bus::schema::ConfigsRolloutRequest& ask, const std::string& by,
             Done done);
  void pause(Context& ctx, const std::string& id, const std::string& by, Done done);
  /// Goes on with a paused rollout; `config` for a push rollout stopped by a restart.
  void resume(Context& ctx, const std::string& id, const std::string& config, const std::string& by,
              Done done);
  void abort(Context& ctx, const std::string& id, bool no_rollback, const std::string& by,
             Done done);
  /// The record with its devices.
  Result<nlohmann::json> show(const std::string& id) const;
  /// The latest records (without devices and waves), newest first.
  Result<nlohmann::json> list(std::size_t limit) const;
  /// The oldest rollout not stopped yet ("" if none): retention keeps it and what follows.
  std::string oldest_running() const;
  /// At start: rollouts nautod was running go on (see the header's comment).
  void resume_all(Context& ctx);
  /// Fails what waits for an answer (nautod stopping).
  void stop(Context& ctx) noexcept;

 private:
  struct Live {
    nlohmann::json record;
    std::map<std::string, nlohmann::json> devices;  // name -> {wave, status, version, ...}
    std::string config;                             // a push rollout's config
    std::map<std::string, std::string> configs;     // a template rollout's wave: device -> text
    std::vector<std::string> queue;                 // the wave's devices not started yet
    std::size_t in_flight = 0;
    std::vector<Done> waiting;
  };

  Result<void> save(const Live& live);
  void save_devices(const Live& live, const std::vector<std::string>& names, bool wait);
  /// The current wave's devices not started yet.
  static std::vector<std::string> pending_in_wave(const Live& live);
  void start_wave(Context& ctx, const std::string& id);
  void snapshotted(Context& ctx, const std::string& id, Result<nlohmann::json> backup);
  void pump(Context& ctx, const std::string& id);
  void change_device(Context& ctx, const std::string& id, const std::string& device);
  void device_done(Context& ctx, const std::string& id, const std::string& device,
                   Result<nlohmann::json> outcome);
  void wave_ended(Context& ctx, const std::string& id);
  void next_wave(Context& ctx, const std::string& id);
  void halt(Context& ctx, const std::string& id, const std::string& reason);
  void finish(Context& ctx, const std::string& id, const std::string& state,
              const std::string& reason);
  void answer_waiting(Live& live);
  bool over_threshold(const Live& live) const;
  Result<nlohmann::json> stored(const std::string& id) const;
  Error refused(const std::string& id, const std::string& rule) const;
  Result<std::map<std::string, nlohmann::json>> stored_devices(const std::string& id) const;
  void publish_wave(Context& ctx, const Live& live, const std::string& state);

  store::Store& store_;
  const ConfigArchive& archive_;
  ConfirmedPushes& pushes_;
  RunWaits& runs_;
  ConfirmedPushes::Snapshot snapshot_;
  Render render_;
  std::map<std::string, Live> live_;  // rollouts not stopped yet, by id
};

}  // namespace nauto::configs
