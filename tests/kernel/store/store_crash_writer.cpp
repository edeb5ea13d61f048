// Helper for the kill -9 test: writes records one batch at a time and prints "ack N" after each
// batch is acknowledged, until killed. Several writer threads run so group commit is exercised.
//   store_crash_writer PATH THREADS

#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "nauto/store/store.h"

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  nauto::store::StoreOptions options;
  options.path = argv[1];
  options.map_size = 64ull << 20;
  options.tables = {"records"};
  auto store = nauto::store::Store::open(options);
  if (!store) {
    std::fprintf(stderr, "%s\n", store.error().describe().c_str());
    return 1;
  }
  const int threads = std::stoi(argv[2]);
  std::vector<std::thread> writers;
  for (int t = 0; t < threads; ++t) {
    writers.emplace_back([&, t] {
      for (int n = 0;; ++n) {
        nauto::store::WriteBatch batch;
        const auto key = std::to_string(t) + ":" + std::to_string(n);
        batch.put("records", key, "value-" + key);
        if (!(*store)->write_and_wait(std::move(batch))) return;
        std::printf("ack %s\n", key.c_str());
        std::fflush(stdout);
      }
    });
  }
  for (auto& w : writers)
    w.join();
  return 0;
}
