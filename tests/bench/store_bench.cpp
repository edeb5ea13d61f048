// Store benchmark: durable writes/s through the Store's group-committing writer thread, beside
// raw LMDB in the same run.
//   store_bench [RECORDS]
// Raw LMDB: one thread appends time-ordered keys (16 bytes) with 100-byte values, committing
// (with fsync) every N puts, N swept from 100 to 100,000; the baseline is the fastest N.
// Store: the same records as one-record batches from 1 to 8 threads, each acknowledged only
// after its commit (tickets with a sliding window of 1024 per thread, or callbacks as the
// journal uses); and by one thread as 1000-record batches (the API's overhead alone).

#include <lmdb.h>

#include <atomic>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "nauto/base/clock.h"
#include "nauto/store/store.h"

using namespace nauto;

namespace {

constexpr std::size_t kValueBytes = 100;

std::string temp_dir() {
  char pattern[] = "/tmp/nauto-store-bench-XXXXXX";
  return ::mkdtemp(pattern);
}

double raw_lmdb(std::uint64_t records, std::uint64_t batch) {
  const auto dir = temp_dir();
  MDB_env* env = nullptr;
  mdb_env_create(&env);
  mdb_env_set_maxdbs(env, 4);
  mdb_env_set_mapsize(env, 4ull << 30);
  if (mdb_env_open(env, dir.c_str(), MDB_NOTLS, 0600) != 0) std::abort();
  MDB_txn* txn = nullptr;
  MDB_dbi dbi;
  mdb_txn_begin(env, nullptr, 0, &txn);
  mdb_dbi_open(txn, "records", MDB_CREATE, &dbi);
  mdb_txn_commit(txn);
  const std::string value(kValueBytes, 'v');
  const auto start = steady_us();
  for (std::uint64_t done = 0; done < records;) {
    if (mdb_txn_begin(env, nullptr, 0, &txn) != 0) std::abort();
    for (std::uint64_t i = 0; i < batch && done < records; ++i, ++done) {
      auto key = store::time_key(now_us());
      MDB_val k{key.size(), key.data()}, v{value.size(), const_cast<char*>(value.data())};
      if (mdb_put(txn, dbi, &k, &v, MDB_APPEND) != 0) std::abort();
    }
    if (mdb_txn_commit(txn) != 0) std::abort();
  }
  const auto elapsed = steady_us() - start;
  mdb_env_close(env);
  std::filesystem::remove_all(dir);
  return records * 1e6 / static_cast<double>(elapsed);
}

std::unique_ptr<store::Store> open(const std::string& dir) {
  store::StoreOptions o;
  o.path = dir;
  o.map_size = 4ull << 30;
  o.tables = {"records"};
  auto s = store::Store::open(o);
  if (!s) std::abort();
  return std::move(*s);
}

// Prints how well writes were grouped, closes the store and returns writes per second.
double finish(std::unique_ptr<store::Store> store, const std::string& dir, std::uint64_t writes,
              std::int64_t elapsed_us) {
  const auto stats = store->stats();
  std::printf("    (%llu commits for %llu batches)\n",
              static_cast<unsigned long long>(stats.commits),
              static_cast<unsigned long long>(stats.batches));
  store.reset();
  std::filesystem::remove_all(dir);
  return writes * 1e6 / static_cast<double>(elapsed_us);
}

double store_concurrent(std::uint64_t records, int threads, int window) {
  const auto dir = temp_dir();
  auto store = open(dir);
  const std::string value(kValueBytes, 'v');
  const auto start = steady_us();
  std::vector<std::thread> writers;
  for (int t = 0; t < threads; ++t) {
    writers.emplace_back([&] {
      // A sliding window: when `window` writes are in flight, wait for the oldest.
      std::deque<store::WriteTicket> in_flight;
      const auto mine = records / static_cast<std::uint64_t>(threads);
      for (std::uint64_t i = 0; i < mine; ++i) {
        store::WriteBatch b;
        b.append("records", store::time_key(now_us()), value);
        in_flight.push_back(store->write(std::move(b)));
        if (in_flight.size() >= static_cast<std::size_t>(window)) {
          if (!in_flight.front().wait()) std::abort();
          in_flight.pop_front();
        }
      }
      for (auto& ticket : in_flight) {
        if (!ticket.wait()) std::abort();
      }
    });
  }
  for (auto& w : writers)
    w.join();
  const auto elapsed = steady_us() - start;
  return finish(std::move(store), dir, records, elapsed);
}

// As the journal writes: no waiting per write; a callback counts acknowledgements, and the
// clock stops when the last one is in.
double store_callbacks(std::uint64_t records, int threads) {
  const auto dir = temp_dir();
  auto store = open(dir);
  const std::string value(kValueBytes, 'v');
  std::atomic<std::uint64_t> acknowledged{0}, failed{0};
  const auto start = steady_us();
  std::vector<std::thread> writers;
  for (int t = 0; t < threads; ++t) {
    writers.emplace_back([&] {
      const auto mine = records / static_cast<std::uint64_t>(threads);
      for (std::uint64_t i = 0; i < mine; ++i) {
        store::WriteBatch b;
        b.append("records", store::time_key(now_us()), value);
        store->write(std::move(b), [&](Result<void> r) {
          if (!r) ++failed;
          ++acknowledged;
        });
      }
    });
  }
  for (auto& w : writers)
    w.join();
  const auto expected = records / static_cast<std::uint64_t>(threads) * threads;
  while (acknowledged.load() < expected)
    std::this_thread::yield();
  const auto elapsed = steady_us() - start;
  if (failed) std::abort();
  return finish(std::move(store), dir, expected, elapsed);
}

double store_batched(std::uint64_t records, std::uint64_t batch) {
  const auto dir = temp_dir();
  auto store = open(dir);
  const std::string value(kValueBytes, 'v');
  const auto start = steady_us();
  for (std::uint64_t done = 0; done < records;) {
    store::WriteBatch b;
    for (std::uint64_t i = 0; i < batch && done < records; ++i, ++done) {
      b.append("records", store::time_key(now_us()), value);
    }
    if (!store->write_and_wait(std::move(b))) std::abort();
  }
  const auto elapsed = steady_us() - start;
  store.reset();
  std::filesystem::remove_all(dir);
  return records * 1e6 / static_cast<double>(elapsed);
}

}  // namespace

int main(int argc, char** argv) {
  const std::uint64_t records = argc > 1 ? std::stoull(argv[1]) : 400000;
  std::printf(
      "store benchmark: %llu records (16-byte time keys, %zu-byte values), durable commits\n",
      static_cast<unsigned long long>(records), kValueBytes);
  double raw = 0;
  std::uint64_t best_batch = 0;
  for (std::uint64_t batch : {100ull, 1000ull, 10000ull, 100000ull}) {
    const double rate = raw_lmdb(records, batch);
    std::printf("  raw LMDB, 1 thread, %6llu puts per commit:      %10.0f writes/s\n",
                static_cast<unsigned long long>(batch), rate);
    if (rate > raw) raw = rate, best_batch = batch;
  }
  std::printf("  baseline: raw LMDB at %llu puts per commit (the fastest of the sweep)\n",
              static_cast<unsigned long long>(best_batch));
  for (int threads : {1, 8}) {
    const double concurrent = store_concurrent(records, threads, 1024);
    std::printf(
        "  Store, %d threads, 1-record batches, tickets, 1024 in flight: %9.0f writes/s  ratio "
        "%.2f\n",
        threads, concurrent, concurrent / raw);
  }
  for (int threads : {1, 4}) {
    const double callbacks = store_callbacks(records, threads);
    std::printf("  Store, %d threads, 1-record batches, callbacks:    %9.0f writes/s  ratio %.2f\n",
                threads, callbacks, callbacks / raw);
  }
  const double batched = store_batched(records, 1000);
  std::printf("  Store, 1 thread, 1000-record batches:            %10.0f writes/s  ratio %.2f\n",
              batched, batched / raw);
  return 0;
}
