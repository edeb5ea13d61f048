#pragma once
// The kernel's store: one LMDB environment with named tables, msgpack values (the store itself
// treats values as bytes) and one writer thread that commits writes from many threads together
// (group commit). A write is acknowledged only after its transaction is committed to disk, so
// acknowledged data survives kill -9 (and, with the default sync, power loss).
// Readers use their own read-only transactions and never block the writer (LMDB MVCC); values
// are copied out before a read transaction ends.
// The map grows before a write fails: a commit that finds the map full is redone after the map
// doubled, up to `max_map_size`; only then is the write refused (ResourceExhausted), and the
// store reports itself full (StoreStats::full, the kernel's alarm) until a commit succeeds
// again. Growing waits for the reads in flight (a shared lock each read takes), since LMDB
// remaps the file. The writer's queue is bounded (`max_queued_bytes`): write() blocks its
// caller while the queue is over the bound, so a flood slows its producer instead of growing
// memory without end.
// Thread-safe: every public member may be called from any thread.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "nauto/base/result.h"

namespace nauto::store {

/// One change inside a WriteBatch.
struct WriteOp {
  enum class Kind { Put, Append, Erase, EraseBefore, EraseOldest };
  Kind kind = Kind::Put;
  std::string table;
  std::string key;          ///< Put/Append/Erase: the key; EraseBefore: first key kept
  std::string value;        ///< Put/Append only
  std::uint64_t count = 0;  ///< EraseOldest: how many of the lowest keys to remove
};

/// Changes applied atomically: all of a batch commits, or none of it.
class WriteBatch {
 public:
  void put(std::string table, std::string key, std::string value);
  /// A put whose key sorts after every key in the table (e.g. a time_key); LMDB then appends
  /// without searching. Falls back to a plain put when the key is not the largest.
  void append(std::string table, std::string key, std::string value);
  void erase(std::string table, std::string key);
  /// Erases every key that sorts before `key`.
  void erase_before(std::string table, std::string key);
  /// Erases the `count` lowest keys.
  void erase_oldest(std::string table, std::uint64_t count);
  bool empty() const { return ops_.empty(); }
  std::size_t size() const { return ops_.size(); }
  const std::vector<WriteOp>& ops() const { return ops_; }

 private:
  std::vector<WriteOp> ops_;
};

/// A read/write view used by migrations, inside the writer's transaction.
class MigrationTxn {
 public:
  virtual ~MigrationTxn() = default;
  virtual Result<std::optional<std::string>> get(const std::string& table,
                                                 const std::string& key) = 0;
  virtual Result<void> put(const std::string& table, const std::string& key,
                           const std::string& value) = 0;
  virtual Result<void> erase(const std::string& table, const std::string& key) = 0;
};

/// Moves the schema from `to_version - 1` to `to_version`.
struct Migration {
  std::uint32_t to_version = 0;
  std::function<Result<void>(MigrationTxn&)> apply;
};

struct StoreOptions {
  std::string path;                         ///< a directory; created if missing
  std::uint64_t map_size = 64ull << 20;     ///< the LMDB map at open (grown as needed)
  std::uint64_t max_map_size = 1ull << 30;  ///< the most the map grows to (store.max_size)
  std::vector<std::string> tables;          ///< named tables (LMDB DBIs), created if missing
  std::uint32_t schema_version = 1;         ///< the version this build expects
  std::vector<Migration> migrations;        ///< run in order at open for older stores
  std::size_t max_ops_per_commit = 65536;   ///< bound on one group commit
  std::size_t max_queued_bytes = 256u
                                 << 20;  ///< writes queued beyond this block the writer's callers
  /// StoreStats::filling is set when the pages in use reach this share of max_map_size
  /// (store.warn_at), and cleared 5 points below it.
  unsigned warn_percent = 90;
};

/// Counters for benchmarks and `nauto status`.
struct StoreStats {
  std::uint64_t commits = 0;         ///< LMDB transactions committed by the writer
  std::uint64_t batches = 0;         ///< WriteBatches acknowledged
  std::uint64_t ops = 0;             ///< operations applied
  std::uint64_t failed_batches = 0;  ///< batches answered with an error
  std::uint64_t map_size = 0;        ///< the LMDB map now
  std::uint64_t max_map_size = 0;
  std::uint64_t used_bytes = 0;      ///< pages holding data (the file's pages less free ones)
  std::uint64_t grown = 0;           ///< times the map grew
  bool filling = false;              ///< used_bytes reached warn_percent of max_map_size
  bool full = false;                 ///< the last write was refused for space at max_map_size
  std::uint64_t blocked_writes = 0;  ///< write() calls that waited for room in the queue
  std::uint64_t shed_writes = 0;     ///< write_unless_busy() calls dropped for a busy queue
};

struct ScanOptions {
  std::string from;          ///< first key (inclusive); empty = start of table
  std::string until;         ///< stop before this key (exclusive); empty = end of table
  std::size_t limit = 1000;  ///< at most this many entries
  bool reverse = false;      ///< newest (highest key) first
};

using Entry = std::pair<std::string, std::string>;

/// A table's entries and the bytes of the pages holding them (LMDB's page count times the page
/// size: what the table costs the map, slack included).
struct TableSize {
  std::uint64_t entries = 0;
  std::uint64_t bytes = 0;
};

class StoreImpl;

/// The receipt of one queued write: wait() returns once the commit that holds it is on disk.
/// Cheap by design (a sequence number, no allocation): the writer announces "committed up to
/// N" once per group commit, so thousands of writes in flight cost one wake-up, not thousands.
/// Move-only; may be waited on from any thread, once. Must not outlive its Store.
/// Destroying a ticket that was never waited on also waits for its commit, so a failure is
/// never left behind unread: drop tickets only where blocking until the commit is fine, and
/// use the callback form of write() for fire-and-forget.
class WriteTicket {
 public:
  WriteTicket(WriteTicket&& other) noexcept;
  WriteTicket& operator=(WriteTicket&& other) noexcept;
  WriteTicket(const WriteTicket&) = delete;
  WriteTicket& operator=(const WriteTicket&) = delete;
  ~WriteTicket();

  /// Blocks until the batch is committed (success) or rejected (its error).
  Result<void> wait();
  /// True once wait() would not block.
  bool ready() const;

 private:
  friend class Store;
  WriteTicket(StoreImpl* store, std::uint64_t sequence) : store_(store), sequence_(sequence) {}
  StoreImpl* store_;
  std::uint64_t sequence_;
};

class Store {
 public:
  /// Opens or creates the store and runs migrations. Errors: Errc::System (path),
  /// Errc::Library (LMDB), Errc::InvalidConfig (a store newer than this build).
  static Result<std::unique_ptr<Store>> open(StoreOptions options);
  ~Store();

  /// Queues a batch; the ticket's wait() returns after the commit that contains it.
  /// Errors: Errc::ResourceExhausted when the map is full, Errc::NotFound for an undeclared table.
  WriteTicket write(WriteBatch batch);
  /// Same, with a callback that runs on the store's writer thread after the commit.
  void write(WriteBatch batch, std::function<void(Result<void>)> done);
  /// For writers that must never block — history fed by a flood (the journal): queues the
  /// batch like write(), unless the queue holds three-quarters of max_queued_bytes already;
  /// then the batch is dropped (counted as shed_writes) and Errc::ResourceExhausted returned,
  /// `done` not called. The last quarter of the queue stays for writers that wait (runs,
  /// jobs), so a flood never holds them up behind it.
  Result<void> write_unless_busy(WriteBatch batch, std::function<void(Result<void>)> done);
  /// Convenience: write and wait.
  Result<void> write_and_wait(WriteBatch batch) { return write(std::move(batch)).wait(); }

  /// std::nullopt when the key is absent.
  Result<std::optional<std::string>> get(const std::string& table, const std::string& key) const;
  Result<std::vector<Entry>> scan(const std::string& table, const ScanOptions& options) const;
  Result<std::uint64_t> count(const std::string& table) const;
  Result<TableSize> size(const std::string& table) const;
  /// The key at `index` (0: the lowest) in key order; std::nullopt past the end. Walks a cursor
  /// without copying values: O(index), no allocation but the key.
  Result<std::optional<std::string>> nth_key(const std::string& table, std::uint64_t index) const;

  std::uint32_t schema_version() const;
  StoreStats stats() const;
  std::uint64_t map_size() const;

 private:
  explicit Store(std::unique_ptr<StoreImpl> impl);
  std::unique_ptr<StoreImpl> impl_;
};

/// A 16-byte key that sorts by time, then by a process-wide sequence number, so keys made from
/// the same microsecond stay unique and in order. Thread-safe.
std::string time_key(std::int64_t time_us);
/// The smallest key at `time_us` (for range bounds).
std::string time_key_bound(std::int64_t time_us);
/// The time encoded in a time_key; 0 for a key of the wrong size.
std::int64_t time_of_key(const std::string& key);

}  // namespace nauto::store
