#include "nauto/store/store.h"

#include <lmdb.h>
#include <pthread.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <utility>

#include "nauto/base/log.h"

namespace nauto::store {
namespace {

constexpr const char* kMetaTable = "_meta";
constexpr const char* kSchemaKey = "schema_version";

std::string human_size(std::uint64_t bytes) {
  if (bytes >= (1ull << 30) && bytes % (1ull << 30) == 0)
    return std::to_string(bytes >> 30) + "GiB";
  if (bytes >= (1ull << 20) && bytes % (1ull << 20) == 0)
    return std::to_string(bytes >> 20) + "MiB";
  return std::to_string(bytes) + "B";
}

MDB_val as_val(const std::string& s) {
  return MDB_val{s.size(), const_cast<char*>(s.data())};
}

std::string as_string(const MDB_val& v) {
  return std::string(static_cast<char*>(v.mv_data), v.mv_size);
}

void put_be64(char* out, std::uint64_t v) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
}

// Read-only transaction that always ends: LMDB requires every txn to be committed or aborted.
class ReadTxn {
 public:
  explicit ReadTxn(MDB_env* env) { rc_ = mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn_); }
  ~ReadTxn() {
    if (rc_ == 0) mdb_txn_abort(txn_);
  }
  int rc() const { return rc_; }
  MDB_txn* get() const { return txn_; }

 private:
  MDB_txn* txn_ = nullptr;
  int rc_ = 0;
};

}  // namespace

class StoreImpl;

// The writer's transaction as migrations see it.
class WriterMigrationTxn final : public MigrationTxn {
 public:
  WriterMigrationTxn(StoreImpl& store, MDB_txn* txn) : store_(store), txn_(txn) {}
  Result<std::optional<std::string>> get(const std::string& table, const std::string& key) override;
  Result<void> put(const std::string& table, const std::string& key,
                   const std::string& value) override;
  Result<void> erase(const std::string& table, const std::string& key) override;

 private:
  StoreImpl& store_;
  MDB_txn* txn_;
};

class StoreImpl {
 public:
  struct Pending {
    WriteBatch batch;
    std::function<void(Result<void>)> done;  // empty for ticket writes
    std::uint64_t sequence = 0;
    bool history = false;  // write_unless_busy(): kept out of the map's last sixteenth
  };

  explicit StoreImpl(StoreOptions options)
      : options_(std::move(options)), log_(logger("kernel.store")) {}

  ~StoreImpl() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();  // unconditionally: stop must not depend on writer_waiting_
    room_.notify_all();
    if (writer_.joinable()) writer_.join();
    if (env_) mdb_env_close(env_);
  }

  Error lmdb_error(int rc, const std::string& where) const {
    if (rc == MDB_NOTFOUND) return fail(Errc::NotFound, "not found", where);
    if (rc == MDB_MAP_FULL) {
      return fail(Errc::ResourceExhausted,
                  "the store is full (" + human_size(map_size_) +
                      ", its maximum); raise store.max_size in nauto.yaml or lower retention",
                  where);
    }
    if (rc == MDB_READERS_FULL) {
      return fail(Errc::ResourceExhausted, "too many concurrent readers", where);
    }
    if (rc > 0) return fail(Errc::System, std::strerror(rc), where);
    return fail(Errc::Library, std::string("LMDB: ") + mdb_strerror(rc), where);
  }

  Result<void> open() {
    if (::mkdir(options_.path.c_str(), 0700) != 0 && errno != EEXIST) {
      return fail(Errc::System,
                  std::string("cannot create store directory: ") + std::strerror(errno),
                  options_.path);
    }
    int rc = mdb_env_create(&env_);
    if (rc) return lmdb_error(rc, "mdb_env_create");
    mdb_env_set_maxdbs(env_, static_cast<MDB_dbi>(options_.tables.size() + 2));
    mdb_env_set_maxreaders(env_, 1024);
    // An existing store may be larger than the configured start: LMDB keeps the larger size.
    map_size_ = std::min(options_.map_size, options_.max_map_size);
    rc = mdb_env_set_mapsize(env_, map_size_);
    if (rc) return lmdb_error(rc, "store.map_size");
    // NOTLS: read transactions are not tied to a thread's slot, so any thread may read.
    rc = mdb_env_open(env_, options_.path.c_str(), MDB_NOTLS, 0600);
    if (rc) return lmdb_error(rc, options_.path);
    MDB_envinfo info;
    if (mdb_env_info(env_, &info) == 0) map_size_ = info.me_mapsize;

    MDB_txn* txn = nullptr;
    rc = mdb_txn_begin(env_, nullptr, 0, &txn);
    if (rc) return lmdb_error(rc, "open tables");
    std::vector<std::string> names = options_.tables;
    names.push_back(kMetaTable);
    for (const auto& name : names) {
      MDB_dbi dbi;
      rc = mdb_dbi_open(txn, name.c_str(), MDB_CREATE, &dbi);
      if (rc) {
        mdb_txn_abort(txn);
        return lmdb_error(rc, "table '" + name + "'");
      }
      tables_[name] = dbi;
    }
    if (auto migrated = migrate(txn); !migrated) {
      mdb_txn_abort(txn);
      return migrated;
    }
    rc = mdb_txn_commit(txn);
    if (rc) return lmdb_error(rc, "open tables");
    writer_ = std::thread([this] { writer_loop(); });
    return ok();
  }

  Result<MDB_dbi> table(const std::string& name) const {
    auto it = tables_.find(name);
    if (it == tables_.end()) {
      return fail(Errc::NotFound, "no such table; tables are declared when the store opens",
                  "table '" + name + "'");
    }
    return it->second;
  }

  Result<void> migrate(MDB_txn* txn) {
    WriterMigrationTxn view(*this, txn);
    auto stored = view.get(kMetaTable, kSchemaKey);
    if (!stored) return std::move(stored).error();
    const auto target = options_.schema_version;
    std::uint32_t version = target;  // a new store starts at the current version
    if (*stored) version = static_cast<std::uint32_t>(std::stoul(**stored));
    if (version > target) {
      return fail(Errc::InvalidConfig,
                  "the store has schema version " + std::to_string(version) +
                      ", newer than this build understands (" + std::to_string(target) +
                      "); run a newer nautod",
                  options_.path);
    }
    while (version < target) {
      const Migration* step = nullptr;
      for (const auto& m : options_.migrations) {
        if (m.to_version == version + 1) step = &m;
      }
      if (!step) {
        return fail(Errc::Bug, "no migration from schema version " + std::to_string(version),
                    options_.path);
      }
      if (auto applied = step->apply(view); !applied) return applied;
      ++version;
      log_->info("store migrated to schema version {}", version);
    }
    schema_version_ = version;
    return view.put(kMetaTable, kSchemaKey, std::to_string(version));
  }

  // 0 when `shed` and the queue is over the share kept for writers that wait: the batch is
  // dropped and counted, never queued.
  std::uint64_t enqueue(WriteBatch batch, std::function<void(Result<void>)> done,
                        bool shed = false) {
    bool wake = false;
    std::uint64_t sequence = 0;
    const auto bytes = bytes_of(batch);
    {
      std::unique_lock lock(mutex_);
      if (shed && queued_bytes_ > 0 && queued_bytes_ + bytes > options_.max_queued_bytes / 4 * 3) {
        std::lock_guard stats(stats_mutex_);
        ++stats_.shed_writes;
        return 0;
      }
      // Back-pressure: wait while the queue is over its bound (an empty queue takes any batch).
      if (queued_bytes_ > 0 && queued_bytes_ + bytes > options_.max_queued_bytes) {
        {
          std::lock_guard stats(stats_mutex_);
          ++stats_.blocked_writes;
        }
        room_.wait(lock, [&] {
          return stopping_ || queued_bytes_ == 0 ||
                 queued_bytes_ + bytes <= options_.max_queued_bytes;
        });
      }
      queued_bytes_ += bytes;
      sequence = ++last_sequence_;
      queue_.push_back(Pending{std::move(batch), std::move(done), sequence, shed});
      wake = writer_waiting_;  // a busy writer takes the queue on its next round anyway
      writer_waiting_ = false;
    }
    if (wake) wake_.notify_one();
    return sequence;
  }

  // Ticket support: the queue is FIFO and each group is a prefix of it, so "committed up to
  // N" describes every write; failures are kept by sequence until their ticket reads them.
  Result<void> wait_for(std::uint64_t sequence) {
    std::unique_lock lock(done_mutex_);
    done_cv_.wait(lock, [&] { return committed_sequence_ >= sequence; });
    auto failed = failures_.find(sequence);
    if (failed == failures_.end()) return ok();
    Error error = std::move(failed->second);
    failures_.erase(failed);
    return error;
  }

  bool is_done(std::uint64_t sequence) {
    std::lock_guard lock(done_mutex_);
    return committed_sequence_ >= sequence;
  }

  void forget_ticket(std::uint64_t sequence) {
    std::unique_lock lock(done_mutex_);
    done_cv_.wait(lock, [&] { return committed_sequence_ >= sequence; });
    failures_.erase(sequence);
  }

  Result<void> apply(MDB_txn* txn, const WriteOp& op) {
    auto applied = apply_op(txn, op);
    if (!applied && applied.error().code == Errc::ResourceExhausted) map_full_ = true;
    return applied;
  }

  Result<void> apply_op(MDB_txn* txn, const WriteOp& op) {
    auto dbi = table(op.table);
    if (!dbi) return std::move(dbi).error();
    MDB_val key = as_val(op.key), value = as_val(op.value);
    int rc = 0;
    switch (op.kind) {
      case WriteOp::Kind::Append:
        rc = mdb_put(txn, *dbi, &key, &value, MDB_APPEND);
        if (rc != MDB_KEYEXIST) break;
        [[fallthrough]];  // not the largest key: an ordinary put
      case WriteOp::Kind::Put:
        value = as_val(op.value);
        rc = mdb_put(txn, *dbi, &key, &value, 0);
        break;
      case WriteOp::Kind::Erase:
        rc = mdb_del(txn, *dbi, &key, nullptr);
        if (rc == MDB_NOTFOUND) rc = 0;
        break;
      case WriteOp::Kind::EraseBefore:
      case WriteOp::Kind::EraseOldest:
        return erase_range(txn, *dbi, op);
    }
    if (rc) return lmdb_error(rc, "table '" + op.table + "'");
    return ok();
  }

  Result<void> erase_range(MDB_txn* txn, MDB_dbi dbi, const WriteOp& op) {
    MDB_cursor* cursor = nullptr;
    int rc = mdb_cursor_open(txn, dbi, &cursor);
    if (rc) return lmdb_error(rc, "table '" + op.table + "'");
    MDB_val key, value;
    std::uint64_t erased = 0;
    rc = mdb_cursor_get(cursor, &key, &value, MDB_FIRST);
    while (rc == 0) {
      if (op.kind == WriteOp::Kind::EraseOldest && erased >= op.count) break;
      if (op.kind == WriteOp::Kind::EraseBefore && as_string(key) >= op.key) break;
      rc = mdb_cursor_del(cursor, 0);
      if (rc) break;
      ++erased;
      rc = mdb_cursor_get(cursor, &key, &value, MDB_GET_CURRENT);
      if (rc == EINVAL || rc == MDB_NOTFOUND) rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT);
    }
    mdb_cursor_close(cursor);
    if (rc && rc != MDB_NOTFOUND) return lmdb_error(rc, "table '" + op.table + "'");
    return ok();
  }

  void writer_loop() {
    pthread_setname_np(pthread_self(), "store");
    std::vector<Pending> group;
    std::vector<Result<void>> results;
    for (;;) {
      group.clear();
      {
        std::unique_lock lock(mutex_);
        while (!stopping_ && queue_.empty()) {
          writer_waiting_ = true;
          wake_.wait(lock);
        }
        writer_waiting_ = false;
        if (queue_.empty()) return;  // stopping and drained
        std::size_t ops = 0;
        while (!queue_.empty() && (group.empty() || ops + queue_.front().batch.size() <=
                                                        options_.max_ops_per_commit)) {
          ops += queue_.front().batch.size();
          queued_bytes_ -= bytes_of(queue_.front().batch);
          group.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
      }
      room_.notify_all();
      commit_group(group, results);
      {
        std::lock_guard lock(done_mutex_);
        for (std::size_t i = 0; i < group.size(); ++i) {
          if (!group[i].done && !results[i]) failures_[group[i].sequence] = results[i].error();
        }
        committed_sequence_ = group.back().sequence;
      }
      done_cv_.notify_all();
      for (std::size_t i = 0; i < group.size(); ++i) {
        if (group[i].done) group[i].done(std::move(results[i]));
      }
    }
  }

  // Applies every batch of the group in one transaction. A batch that fails is rare (unknown
  // table, full map), so instead of a nested transaction per batch on the hot path, the group
  // is aborted and redone without the failed batch: each batch stays all-or-nothing.
  void commit_group(std::vector<Pending>& group, std::vector<Result<void>>& results) {
    std::vector<bool> excluded;
    // Every attempt after the map grew starts from the whole group (what failed for space may
    // fit now; what failed for itself fails again), less the history the headroom keeps out.
    auto start_over = [&] {
      results.assign(group.size(), ok());
      excluded.assign(group.size(), false);
      keep_headroom(group, results, excluded);
    };
    start_over();
    for (;;) {
      MDB_txn* txn = nullptr;
      int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
      if (rc) {
        fail_remaining(results, excluded, lmdb_error(rc, "begin write"));
        break;
      }
      std::uint64_t ops = 0;
      std::optional<std::size_t> failed_batch;
      for (std::size_t i = 0; i < group.size() && !failed_batch; ++i) {
        if (excluded[i]) continue;
        for (const auto& op : group[i].batch.ops()) {
          auto applied = apply(txn, op);
          if (!applied) {
            results[i] = std::move(applied);
            failed_batch = i;
            break;
          }
        }
        ops += group[i].batch.size();
      }
      if (failed_batch) {
        mdb_txn_abort(txn);
        const bool map_full = std::exchange(map_full_, false);
        // A full map is not the batch's fault: grow it and redo the whole group.
        if (map_full &&
            (grow() || (erases_only(group[*failed_batch].batch) && grow_into_reserve()))) {
          start_over();
          continue;
        }
        excluded[*failed_batch] = true;
        if (map_full && group[*failed_batch].history) {
          // At the maximum, history that did not fit is the flood: the history puts after it in
          // the group are refused with it, and the group is tried once more. Excluding them one
          // by one redid the whole group per batch, minutes for a group of a flood's thousands.
          for (std::size_t i = *failed_batch + 1; i < group.size(); ++i) {
            if (excluded[i] || !group[i].history || erases_only(group[i].batch)) continue;
            excluded[i] = true;
            results[i] = results[*failed_batch];
          }
        }
        continue;
      }
      rc = mdb_txn_commit(txn);
      if (rc == MDB_MAP_FULL && (grow() || (erases_only(group, excluded) && grow_into_reserve()))) {
        start_over();
        continue;  // the aborted commit is redone in the grown map
      }
      if (rc) {
        fail_remaining(results, excluded, lmdb_error(rc, "commit"));
        ops = 0;
      }
      used_changed_ = true;
      note_space(group, results, ops);
      count(group, results, ops);
      return;
    }
    note_space(group, results, 0);
    count(group, results, 0);
  }

  // History (write_unless_busy) stops where the map's last sixteenth begins, once the map is
  // at its maximum: a flood of events fills the store only so far, and runs, jobs and rule
  // state can still write until retention frees room. Checked per group, and only at the
  // maximum, because counting free pages reads LMDB's free list.
  void keep_headroom(const std::vector<Pending>& group, std::vector<Result<void>>& results,
                     std::vector<bool>& excluded) {
    if (map_size_ < options_.max_map_size) return;
    if (std::none_of(group.begin(), group.end(), [](const Pending& p) { return p.history; }))
      return;
    const auto used = used_bytes();
    if (!used || *used + sixteenth() < options_.max_map_size) return;
    for (std::size_t i = 0; i < group.size(); ++i) {
      if (!group[i].history || erases_only(group[i].batch)) continue;
      excluded[i] = true;
      results[i] = Error{Errc::ResourceExhausted,
                         "the store is full for history (" + human_size(*used) + " of " +
                             human_size(options_.max_map_size) +
                             "; the last sixteenth is kept for runs and jobs); lower retention "
                             "or raise store.max_size",
                         "store"};
    }
  }

  // History's headroom below the maximum, and the erase-only reserve above it: a sixteenth of
  // store.max_size, at least 1 MiB.
  std::uint64_t sixteenth() const {
    return std::max<std::uint64_t>(1ull << 20, options_.max_map_size / 16);
  }

  // Doubles the map (up to max_map_size) while no read is in flight. False at the maximum.
  bool grow() {
    if (map_size_ >= options_.max_map_size) return false;  // the reserve is not grown into
    const auto bigger = std::min(map_size_ * 2, options_.max_map_size);
    std::unique_lock readers(remap_);
    const int rc = mdb_env_set_mapsize(env_, bigger);
    if (rc) {
      log_->error("the store's map could not grow to {}: {}", human_size(bigger), mdb_strerror(rc));
      return false;
    }
    log_->info("the store's map grew from {} to {} (maximum {})", human_size(map_size_),
               human_size(bigger), human_size(options_.max_map_size));
    map_size_ = bigger;
    std::lock_guard lock(stats_mutex_);
    ++stats_.grown;
    return true;
  }

  // Deleting in a map that is completely full can itself need pages (LMDB copies the pages it
  // changes), so erase-only batches may use a reserve beyond max_map_size: retention can always
  // free room. The reserve is a sixteenth of the maximum (at least 1 MiB), used once.
  bool grow_into_reserve() {
    const auto reserve = sixteenth();
    if (map_size_ >= options_.max_map_size + reserve) return false;
    std::unique_lock readers(remap_);
    if (mdb_env_set_mapsize(env_, options_.max_map_size + reserve)) return false;
    log_->warn("the store is full; deletes use the reserve ({} over store.max_size)",
               human_size(reserve));
    map_size_ = options_.max_map_size + reserve;
    return true;
  }

  static bool erases_only(const WriteBatch& batch) {
    return std::all_of(batch.ops().begin(), batch.ops().end(), [](const WriteOp& op) {
      return op.kind != WriteOp::Kind::Put && op.kind != WriteOp::Kind::Append;
    });
  }

  static bool erases_only(const std::vector<Pending>& group, const std::vector<bool>& excluded) {
    for (std::size_t i = 0; i < group.size(); ++i) {
      if (!excluded[i] && !erases_only(group[i].batch)) return false;
    }
    return true;
  }

  // After a commit: whether a write was refused for space. History and other writes are
  // tracked apart, so one kind succeeding does not clear the other's refusal (no flapping
  // between full and recovered while a flood's history is refused and runs still write).
  void note_space(const std::vector<Pending>& group, const std::vector<Result<void>>& results,
                  std::uint64_t ops) {
    bool wrote[2] = {false, false}, refused[2] = {false, false};
    for (std::size_t i = 0; i < group.size(); ++i) {
      const int kind = group[i].history ? 1 : 0;
      if (results[i])
        wrote[kind] = wrote[kind] || group[i].batch.size() > 0;
      else if (results[i].error().code == Errc::ResourceExhausted)
        refused[kind] = true;
    }
    std::lock_guard lock(stats_mutex_);
    const bool was_full = stats_.full;
    for (int kind = 0; kind < 2; ++kind) {
      if (refused[kind])
        refused_[kind] = true;
      else if (wrote[kind] && ops > 0)
        refused_[kind] = false;
    }
    stats_.full = refused_[0] || refused_[1];
    if (stats_.full && !was_full) log_->error("the store is full at {}", human_size(map_size_));
    if (!stats_.full && was_full) log_->info("the store accepts writes again");
  }

  static std::size_t bytes_of(const WriteBatch& batch) {
    std::size_t bytes = 0;
    for (const auto& op : batch.ops())
      bytes += op.table.size() + op.key.size() + op.value.size() + 32;
    return bytes;
  }

  static void fail_remaining(std::vector<Result<void>>& results, const std::vector<bool>& excluded,
                             const Error& error) {
    for (std::size_t i = 0; i < results.size(); ++i) {
      if (!excluded[i]) results[i] = error;
    }
  }

  void count(const std::vector<Pending>& group, const std::vector<Result<void>>& results,
             std::uint64_t ops) {
    std::lock_guard lock(stats_mutex_);
    ++stats_.commits;
    stats_.ops += ops;
    for (std::size_t i = 0; i < group.size(); ++i) {
      ++stats_.batches;
      if (!results[i]) ++stats_.failed_batches;
    }
  }

  // Runs `body(txn, dbi)` in a read-only transaction on `table_name`; the transaction ends
  // when it returns, so `body` must copy out what it keeps.
  template <typename Body>
  auto read(const std::string& table_name, Body&& body) const -> decltype(body(nullptr, 0)) {
    auto dbi = table(table_name);
    if (!dbi) return std::move(dbi).error();
    std::shared_lock no_remap(remap_);  // the map is not moved while this read looks at it
    ReadTxn txn(env_);
    if (txn.rc()) return lmdb_error(txn.rc(), "begin read");
    return body(txn.get(), *dbi);
  }

  Result<std::optional<std::string>> get(const std::string& table_name,
                                         const std::string& key) const {
    return read(table_name,
                [&](MDB_txn* txn, MDB_dbi dbi) { return get_in(txn, dbi, table_name, key); });
  }

  // One key inside an open transaction (read-only or the writer's); a copy, or nullopt.
  Result<std::optional<std::string>> get_in(MDB_txn* txn, MDB_dbi dbi,
                                            const std::string& table_name,
                                            const std::string& key) const {
    MDB_val k = as_val(key), v;
    const int rc = mdb_get(txn, dbi, &k, &v);
    if (rc == MDB_NOTFOUND) return std::optional<std::string>();
    if (rc) return lmdb_error(rc, "table '" + table_name + "'");
    return std::optional<std::string>(as_string(v));
  }

  Result<std::vector<Entry>> scan(const std::string& table_name, const ScanOptions& o) const {
    return read(table_name,
                [&](MDB_txn* txn, MDB_dbi dbi) { return scan_in(txn, dbi, table_name, o); });
  }

  Result<std::vector<Entry>> scan_in(MDB_txn* txn, MDB_dbi dbi, const std::string& table_name,
                                     const ScanOptions& o) const {
    MDB_cursor* cursor = nullptr;
    int rc = mdb_cursor_open(txn, dbi, &cursor);
    if (rc) return lmdb_error(rc, "table '" + table_name + "'");
    std::vector<Entry> out;
    MDB_val key, value;
    if (!o.reverse) {
      if (o.from.empty()) {
        rc = mdb_cursor_get(cursor, &key, &value, MDB_FIRST);
      } else {
        key = as_val(o.from);
        rc = mdb_cursor_get(cursor, &key, &value, MDB_SET_RANGE);
      }
      while (rc == 0 && out.size() < o.limit) {
        auto k = as_string(key);
        if (!o.until.empty() && k >= o.until) break;
        out.emplace_back(std::move(k), as_string(value));
        rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT);
      }
    } else {
      if (o.until.empty()) {
        rc = mdb_cursor_get(cursor, &key, &value, MDB_LAST);
      } else {
        key = as_val(o.until);
        rc = mdb_cursor_get(cursor, &key, &value, MDB_SET_RANGE);
        rc = rc == 0 ? mdb_cursor_get(cursor, &key, &value, MDB_PREV)
                     : mdb_cursor_get(cursor, &key, &value, MDB_LAST);
      }
      while (rc == 0 && out.size() < o.limit) {
        auto k = as_string(key);
        if (!o.from.empty() && k < o.from) break;
        out.emplace_back(std::move(k), as_string(value));
        rc = mdb_cursor_get(cursor, &key, &value, MDB_PREV);
      }
    }
    mdb_cursor_close(cursor);
    if (rc && rc != MDB_NOTFOUND) return lmdb_error(rc, "table '" + table_name + "'");
    return out;
  }

  Result<TableSize> size(const std::string& table_name) const {
    return read(table_name, [&](MDB_txn* txn, MDB_dbi dbi) -> Result<TableSize> {
      MDB_stat stat;
      const int rc = mdb_stat(txn, dbi, &stat);
      if (rc) return lmdb_error(rc, "table '" + table_name + "'");
      const std::uint64_t pages =
          stat.ms_branch_pages + stat.ms_leaf_pages + stat.ms_overflow_pages;
      return TableSize{static_cast<std::uint64_t>(stat.ms_entries), pages * stat.ms_psize};
    });
  }

  Result<std::optional<std::string>> nth_key(const std::string& table_name,
                                             std::uint64_t index) const {
    return read(table_name, [&](MDB_txn* txn, MDB_dbi dbi) -> Result<std::optional<std::string>> {
      MDB_cursor* cursor = nullptr;
      int rc = mdb_cursor_open(txn, dbi, &cursor);
      if (rc) return lmdb_error(rc, "table '" + table_name + "'");
      MDB_val key, value;
      rc = mdb_cursor_get(cursor, &key, &value, MDB_FIRST);
      for (std::uint64_t i = 0; rc == 0 && i < index; ++i)
        rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT);
      std::optional<std::string> out;
      if (rc == 0) out = as_string(key);
      mdb_cursor_close(cursor);
      if (rc && rc != MDB_NOTFOUND) return lmdb_error(rc, "table '" + table_name + "'");
      return out;
    });
  }

  Result<std::uint64_t> count_entries(const std::string& table_name) const {
    return read(table_name, [&](MDB_txn* txn, MDB_dbi dbi) -> Result<std::uint64_t> {
      MDB_stat stat;
      const int rc = mdb_stat(txn, dbi, &stat);
      if (rc) return lmdb_error(rc, "table '" + table_name + "'");
      return static_cast<std::uint64_t>(stat.ms_entries);
    });
  }

  StoreStats stats() const {
    // The free list is walked again only after a commit: the supervisor asks every heartbeat
    // interval, and `nauto status` whenever it is run.
    std::optional<std::uint64_t> used;
    if (used_changed_.exchange(false)) {
      used = used_bytes();
      if (!used) used_changed_ = true;  // try again next time
    }
    std::lock_guard lock(stats_mutex_);
    if (used) {
      stats_.used_bytes = *used;
      // Hysteresis: a store hovering at the threshold does not flap between states.
      const auto percent = options_.max_map_size ? *used * 100 / options_.max_map_size : 0;
      if (percent >= options_.warn_percent)
        filling_ = true;
      else if (percent + 5 < options_.warn_percent)
        filling_ = false;
    }
    StoreStats out = stats_;
    out.map_size = map_size_;
    out.max_map_size = options_.max_map_size;
    out.filling = filling_;
    return out;
  }

  std::uint64_t map_size() const { return map_size_; }

  // The pages that hold data: those the file has used so far less those on LMDB's free list
  // (the file never shrinks, so its high-water mark alone would never come down after a sweep).
  std::optional<std::uint64_t> used_bytes() const {
    std::shared_lock no_remap(remap_);
    MDB_envinfo info;
    MDB_stat stat;
    if (mdb_env_info(env_, &info) != 0 || mdb_env_stat(env_, &stat) != 0) return std::nullopt;
    ReadTxn txn(env_);
    if (txn.rc()) return std::nullopt;
    MDB_cursor* cursor = nullptr;
    if (mdb_cursor_open(txn.get(), 0 /* LMDB's free-page table */, &cursor) != 0)
      return std::nullopt;
    std::uint64_t free_pages = 0;
    MDB_val key, value;
    for (int rc = mdb_cursor_get(cursor, &key, &value, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT)) {
      if (value.mv_size >= sizeof(std::size_t)) {  // a page list: its count, then the pages
        std::size_t count = 0;
        std::memcpy(&count, value.mv_data, sizeof count);
        free_pages += count;
      }
    }
    mdb_cursor_close(cursor);
    const std::uint64_t file_pages = info.me_last_pgno + 1;
    return (file_pages - std::min(file_pages, free_pages)) * stat.ms_psize;
  }

  const StoreOptions& options() const { return options_; }
  std::uint32_t schema_version() const { return schema_version_; }

 private:
  StoreOptions options_;
  std::shared_ptr<spdlog::logger> log_;
  MDB_env* env_ = nullptr;
  std::map<std::string, MDB_dbi> tables_;  // fixed after open(): read without a lock
  std::uint32_t schema_version_ = 0;
  std::thread writer_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Pending> queue_;
  std::uint64_t last_sequence_ = 0;  // guarded by mutex_
  std::size_t queued_bytes_ = 0;     // guarded by mutex_
  std::condition_variable room_;     // the queue went below max_queued_bytes
  // Reads hold it shared; growing the map holds it alone (LMDB remaps the file).
  mutable std::shared_mutex remap_;
  std::atomic<std::uint64_t> map_size_{0};  // written by the writer thread only
  bool map_full_ = false;                   // writer thread: the last apply found the map full
  bool writer_waiting_ = false;
  std::mutex done_mutex_;
  std::condition_variable done_cv_;
  std::uint64_t committed_sequence_ = 0;     // guarded by done_mutex_
  std::map<std::uint64_t, Error> failures_;  // guarded by done_mutex_
  bool stopping_ = false;
  mutable std::mutex stats_mutex_;
  mutable StoreStats stats_;                      // used_bytes is refreshed by stats()
  mutable bool filling_ = false;                  // guarded by stats_mutex_
  mutable std::atomic<bool> used_changed_{true};  // a commit since used_bytes was last read
  bool refused_[2] = {false, false};  // the last write of each kind (other, history) refused for
                                      // space; guarded by stats_mutex_
};

Result<std::optional<std::string>> WriterMigrationTxn::get(const std::string& table,
                                                           const std::string& key) {
  auto dbi = store_.table(table);
  if (!dbi) return std::move(dbi).error();
  return store_.get_in(txn_, *dbi, table, key);
}

Result<void> WriterMigrationTxn::put(const std::string& table, const std::string& key,
                                     const std::string& value) {
  WriteOp op{WriteOp::Kind::Put, table, key, value, 0};
  return store_.apply(txn_, op);
}

Result<void> WriterMigrationTxn::erase(const std::string& table, const std::string& key) {
  WriteOp op{WriteOp::Kind::Erase, table, key, {}, 0};
  return store_.apply(txn_, op);
}

void WriteBatch::put(std::string table, std::string key, std::string value) {
  ops_.push_back({WriteOp::Kind::Put, std::move(table), std::move(key), std::move(value), 0});
}
void WriteBatch::append(std::string table, std::string key, std::string value) {
  ops_.push_back({WriteOp::Kind::Append, std::move(table), std::move(key), std::move(value), 0});
}
void WriteBatch::erase(std::string table, std::string key) {
  ops_.push_back({WriteOp::Kind::Erase, std::move(table), std::move(key), {}, 0});
}
void WriteBatch::erase_before(std::string table, std::string key) {
  ops_.push_back({WriteOp::Kind::EraseBefore, std::move(table), std::move(key), {}, 0});
}
void WriteBatch::erase_oldest(std::string table, std::uint64_t count) {
  ops_.push_back({WriteOp::Kind::EraseOldest, std::move(table), {}, {}, count});
}

Result<std::unique_ptr<Store>> Store::open(StoreOptions options) {
  if (options.path.empty()) return fail(Errc::InvalidConfig, "store path is empty", "store");
  auto impl = std::make_unique<StoreImpl>(std::move(options));
  if (auto opened = impl->open(); !opened) return std::move(opened).error();
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

Store::Store(std::unique_ptr<StoreImpl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

WriteTicket Store::write(WriteBatch batch) {
  return WriteTicket(impl_.get(), impl_->enqueue(std::move(batch), nullptr));
}

WriteTicket::WriteTicket(WriteTicket&& other) noexcept
    : store_(other.store_), sequence_(other.sequence_) {
  other.store_ = nullptr;
}

WriteTicket& WriteTicket::operator=(WriteTicket&& other) noexcept {
  if (this != &other) {
    if (store_) store_->forget_ticket(sequence_);
    store_ = other.store_;
    sequence_ = other.sequence_;
    other.store_ = nullptr;
  }
  return *this;
}

WriteTicket::~WriteTicket() {
  if (store_) store_->forget_ticket(sequence_);
}

Result<void> WriteTicket::wait() {
  if (!store_) return fail(Errc::Bug, "wait() on a ticket that was already waited on", "store");
  auto result = store_->wait_for(sequence_);
  store_ = nullptr;
  return result;
}

bool WriteTicket::ready() const {
  return !store_ || store_->is_done(sequence_);
}

void Store::write(WriteBatch batch, std::function<void(Result<void>)> done) {
  impl_->enqueue(std::move(batch), std::move(done));
}

Result<void> Store::write_unless_busy(WriteBatch batch, std::function<void(Result<void>)> done) {
  if (impl_->enqueue(std::move(batch), std::move(done), true) == 0)
    return fail(Errc::ResourceExhausted,
                "the store's write queue is three-quarters full; this write was dropped");
  return ok();
}

Result<std::optional<std::string>> Store::get(const std::string& table,
                                              const std::string& key) const {
  return impl_->get(table, key);
}
Result<std::vector<Entry>> Store::scan(const std::string& table, const ScanOptions& o) const {
  return impl_->scan(table, o);
}
Result<std::uint64_t> Store::count(const std::string& table) const {
  return impl_->count_entries(table);
}
Result<TableSize> Store::size(const std::string& table) const {
  return impl_->size(table);
}
Result<std::optional<std::string>> Store::nth_key(const std::string& table,
                                                  std::uint64_t index) const {
  return impl_->nth_key(table, index);
}
std::uint32_t Store::schema_version() const {
  return impl_->schema_version();
}
StoreStats Store::stats() const {
  return impl_->stats();
}
std::uint64_t Store::map_size() const {
  return impl_->map_size();
}

std::string time_key(std::int64_t time_us) {
  static std::atomic<std::uint64_t> sequence{0};
  std::string key(16, '\0');
  put_be64(key.data(), static_cast<std::uint64_t>(time_us));
  put_be64(key.data() + 8, sequence.fetch_add(1, std::memory_order_relaxed) + 1);
  return key;
}

std::string time_key_bound(std::int64_t time_us) {
  std::string key(16, '\0');
  put_be64(key.data(), static_cast<std::uint64_t>(time_us < 0 ? 0 : time_us));
  return key;
}

std::int64_t time_of_key(const std::string& key) {
  if (key.size() != 16) return 0;
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v = (v << 8) | static_cast<unsigned char>(key[i]);
  return static_cast<std::int64_t>(v);
}

}  // namespace nauto::store
