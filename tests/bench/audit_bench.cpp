// Verifying the audit chain (issue 30: 1 million records in under 2 s). Builds a store with N
// records as the audit module writes them (router-sized records, in batches of 1,000), then
// times audit::verify three times. Baseline in the same run: the least any verify must do - read
// every record from LMDB (the store's scan) and SHA-256 its bytes with OpenSSL - timed the same
// way, so the ratio is what the chain's own checks cost on top.
//   audit_bench [RECORDS]

#include <openssl/evp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <vector>

#include "audit_chain.h"

using namespace nauto;
using namespace nauto::mod::audit;
using nlohmann::json;

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const std::uint64_t records = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1'000'000;
  char pattern[] = "/tmp/nauto-audit-bench-XXXXXX";
  const std::string dir = ::mkdtemp(pattern);
  store::StoreOptions options;
  options.path = dir + "/store";
  options.tables = {kRecordsTable, kHeadsTable, kMetaTable};
  options.max_map_size = 8ull << 30;
  auto store = store::Store::open(options);
  if (!store) {
    std::fprintf(stderr, "%s\n", store.error().describe().c_str());
    return 1;
  }
  const auto filling = std::chrono::steady_clock::now();
  Anchor tail;
  for (std::uint64_t done = 0; done < records;) {
    store::WriteBatch batch;
    for (int i = 0; i < 1000 && done < records; ++i, ++done) {
      const auto seq = tail.seq + 1;
      json record = {{"seq", seq},
                     {"time_us", 1'765'000'000'000'000 + static_cast<std::int64_t>(seq)},
                     {"duration_us", 1234},
                     {"request_id", "0193a1b2c3d4e5f6a7b8c9d0e1f2a3b4"},
                     {"principal", "alice"},
                     {"roles", "operator,approver"},
                     {"via", "ipc"},
                     {"uid", 1001},
                     {"pid", 4242},
                     {"service", "device.call"},
                     {"access", "operate"},
                     {"target", "device=leaf-" + std::to_string(seq % 5000)},
                     {"outcome", "ok"}};
      Hash hash{};
      batch.append(kRecordsTable, seq_key(seq), encode_link(seq, tail.hash, record, hash));
      tail = Anchor{seq, hash};
    }
    if (auto written = (*store)->write(std::move(batch)).wait(); !written) {
      std::fprintf(stderr, "%s\n", written.error().describe().c_str());
      return 1;
    }
  }
  std::printf("== %llu records written in %.2f s (%.1f MiB of table)\n",
              static_cast<unsigned long long>(records), seconds_since(filling),
              static_cast<double>((*store)->size(kRecordsTable)->bytes) / (1 << 20));

  std::vector<double> verify_s, baseline_s;
  for (int round = 0; round < 3; ++round) {
    auto started = std::chrono::steady_clock::now();
    auto verdict = verify(**store, {}, tail.seq, INT64_MAX);
    verify_s.push_back(seconds_since(started));
    if (!verdict || !verdict->ok || verdict->records != records) {
      std::fprintf(stderr, "verify failed\n");
      return 1;
    }
    // The baseline: every value read and hashed, nothing checked.
    started = std::chrono::steady_clock::now();
    EVP_MD_CTX* context = EVP_MD_CTX_new();
    unsigned char digest[32];
    unsigned int size = 0;
    std::uint64_t seen = 0;
    store::ScanOptions scan;
    scan.limit = 4096;
    for (;;) {
      auto page = (*store)->scan(kRecordsTable, scan);
      if (!page) return 1;
      for (const auto& [key, value] : *page) {
        EVP_DigestInit_ex(context, EVP_sha256(), nullptr);
        EVP_DigestUpdate(context, value.data(), value.size());
        EVP_DigestFinal_ex(context, digest, &size);
        ++seen;
      }
      if (page->size() < scan.limit) break;
      scan.from = page->back().first + std::string(1, '\0');
    }
    EVP_MD_CTX_free(context);
    baseline_s.push_back(seconds_since(started));
    if (seen != records) return 1;
  }
  const auto v = median(verify_s), b = median(baseline_s);
  std::printf("verify:   %.3f s median of 3 [%.3f-%.3f], %.0f records/s\n", v,
              *std::min_element(verify_s.begin(), verify_s.end()),
              *std::max_element(verify_s.begin(), verify_s.end()), records / v);
  std::printf("baseline: %.3f s median of 3 [%.3f-%.3f] (LMDB scan + SHA-256 of every value)\n", b,
              *std::min_element(baseline_s.begin(), baseline_s.end()),
              *std::max_element(baseline_s.begin(), baseline_s.end()));
  std::printf("verify = %.2fx the baseline\n", v / b);
  store->reset();
  std::filesystem::remove_all(dir);
  return 0;
}
