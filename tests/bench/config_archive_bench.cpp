// The config archive at fleet scale (issue 27): N devices' configs of B bytes, V versions each
// (one to three lines changed between versions, as a day's change on a router), archived in
// pages of 100 as a backup does, in one process. Beside baselines measured in the same run:
//   - size: the store's config tables (LMDB pages, slack included) against the raw texts, and
//     against each version compressed whole with zstd at the same level (an archive without
//     deltas or dedup);
//   - fetch any version (random device and version, store read and delta chain), against
//     decompressing a whole zstd frame of the same text (the least a compressed archive costs);
//   - diff of two random versions of a device (both fetched, unified diff), against GNU
//     `diff -u` of the same two texts from files (a peer tool; its process start included).
//   config_archive_bench [devices=10000] [versions=30] [bytes=20000]

#include <unistd.h>
#include <zstd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "bench_util.h"
#include "config_archive.h"
#include "nauto/drivers/config_diff.h"

using namespace nauto;
using namespace nauto::configs;
using Clock = std::chrono::steady_clock;

namespace {

double micros_since(Clock::time_point began) {
  return std::chrono::duration<double, std::micro>(Clock::now() - began).count();
}

// An IOS-like config of about `bytes`: interfaces, ACL lines, BGP neighbours, with addresses,
// circuit ids and ports drawn at random, so it compresses about as a real one does (5-6x whole
// with zstd, not the 15x of a text that repeats itself).
std::vector<std::string> config_lines(int device, std::size_t bytes) {
  std::mt19937_64 random(static_cast<std::uint64_t>(device) * 7919 + 1);
  auto octet = [&] { return std::to_string(random() % 256); };
  auto address = [&] { return octet() + "." + octet() + "." + octet() + "." + octet(); };
  auto hex = [&](int digits) {
    std::string out;
    for (int i = 0; i < digits; ++i)
      out.push_back("0123456789ABCDEF"[random() % 16]);
    return out;
  };
  std::vector<std::string> lines{"hostname r" + std::to_string(device), "!",
                                 "service timestamps log datetime msec", "ip domain name lab"};
  std::size_t size = 0;
  for (int i = 0; size < bytes; ++i) {
    std::vector<std::string> block;
    switch (i % 3) {
      case 0:
        block = {"interface GigabitEthernet0/" + std::to_string(i),
                 " description CID-" + hex(8) + " to " + hex(4) + "-pe" + octet(),
                 " ip address " + address() + " 255.255.255.252", " no shutdown", "!"};
        break;
      case 1:
        block = {"ip access-list extended EDGE-" + std::to_string(i),
                 " permit tcp " + address() + " 0.0.0.255 host " + address() + " eq " +
                     std::to_string(random() % 65536),
                 " deny ip any any log", "!"};
        break;
      default:
        block = {"router bgp " + std::to_string(65000 + device % 1000),
                 " neighbor " + address() + " remote-as " + std::to_string(random() % 4200000000),
                 "!"};
    }
    for (auto& line : block) {
      size += line.size() + 1;
      lines.push_back(std::move(line));
    }
  }
  lines.push_back("end");
  return lines;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string text;
  for (const auto& line : lines)
    text += line + "\n";
  return text;
}

// One to three lines changed: a description edited, an ACL line added, a line removed.
void change(std::vector<std::string>& lines, std::mt19937_64& random, int version) {
  const int edits = 1 + static_cast<int>(random() % 3);
  for (int e = 0; e < edits; ++e) {
    const auto at = 4 + random() % (lines.size() - 5);
    switch (random() % 3) {
      case 0:
        lines[at] = " description changed in version " + std::to_string(version);
        break;
      case 1:
        lines.insert(lines.begin() + static_cast<long>(at),
                     " permit udp any any eq " + std::to_string(1000 + version));
        break;
      default:
        lines.erase(lines.begin() + static_cast<long>(at));
    }
  }
}

std::string write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

}  // namespace

int main(int argc, char** argv) {
  const int devices = argc > 1 ? std::atoi(argv[1]) : 10000;
  const int versions = argc > 2 ? std::atoi(argv[2]) : 30;
  const std::size_t bytes = argc > 3 ? static_cast<std::size_t>(std::atol(argv[3])) : 20000;
  char pattern[] = "/tmp/nauto-archive-bench-XXXXXX";
  const std::string dir = ::mkdtemp(pattern);
  store::StoreOptions options;
  options.path = dir;
  options.max_map_size = 64ull << 30;
  options.tables = {ConfigArchive::kVersionsTable, ConfigArchive::kBlobsTable,
                    ConfigArchive::kStatusTable};
  auto opened = store::Store::open(options);
  if (!opened) {
    std::fprintf(stderr, "store: %s\n", opened.error().describe().c_str());
    return 1;
  }
  auto store = std::move(*opened);
  ConfigArchive archive(*store);
  std::printf("config archive: %d devices x %d versions of ~%zu bytes\n", devices, versions, bytes);

  std::mt19937_64 random(27);
  std::vector<std::vector<std::string>> current(static_cast<std::size_t>(devices));
  for (int d = 0; d < devices; ++d)
    current[static_cast<std::size_t>(d)] = config_lines(d, bytes);
  std::uint64_t raw_bytes = 0, whole_zstd_bytes = 0;
  double archive_us = 0;
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  std::string frame;
  for (int v = 1; v <= versions; ++v) {
    for (int first = 0; first < devices; first += 100) {
      std::vector<ConfigSnapshot> page;
      for (int d = first; d < std::min(devices, first + 100); ++d) {
        auto& lines = current[static_cast<std::size_t>(d)];
        if (v > 1) change(lines, random, v);
        page.push_back(ConfigSnapshot{"r" + std::to_string(d), "cisco_ios", joined(lines),
                                      1'700'000'000'000'000 + v * 86'400'000'000LL, "bench",
                                      "nightly", "job-" + std::to_string(v)});
        const auto& text = page.back().text;
        raw_bytes += text.size();
        frame.resize(ZSTD_compressBound(text.size()));
        whole_zstd_bytes +=
            ZSTD_compressCCtx(cctx, frame.data(), frame.size(), text.data(), text.size(), 6);
      }
      const auto began = Clock::now();
      auto recorded = archive.record(page);
      archive_us += micros_since(began);
      if (!recorded) {
        std::fprintf(stderr, "record: %s\n", recorded.error().describe().c_str());
        return 1;
      }
    }
    if (v % 10 == 0) std::fprintf(stderr, "version %d of %d archived\n", v, versions);
  }
  ZSTD_freeCCtx(cctx);
  const auto stored = devices * static_cast<std::uint64_t>(versions);
  std::uint64_t archive_bytes = 0;
  for (const char* table :
       {ConfigArchive::kVersionsTable, ConfigArchive::kBlobsTable, ConfigArchive::kStatusTable})
    archive_bytes += store->size(table)->bytes;
  std::printf("archiving: %.0f us per version (pages of 100, one commit each)\n",
              archive_us / static_cast<double>(stored));
  std::printf("size: raw %.1f MB, whole-copy zstd %.1f MB, archive %.1f MB\n", raw_bytes / 1e6,
              whole_zstd_bytes / 1e6, archive_bytes / 1e6);
  std::printf(
      "size ratios: archive / raw = %.4f (%.0fx smaller); archive / whole-copy zstd = "
      "%.3f\n",
      static_cast<double>(archive_bytes) / static_cast<double>(raw_bytes),
      static_cast<double>(raw_bytes) / static_cast<double>(archive_bytes),
      static_cast<double>(archive_bytes) / static_cast<double>(whole_zstd_bytes));

  // Fetch: random device and version, beside a whole frame of the same text decompressed.
  const int samples = 2000;
  std::vector<std::int64_t> fetch_us, baseline_us;
  ZSTD_DCtx* dctx = ZSTD_createDCtx();
  cctx = ZSTD_createCCtx();
  for (int i = 0; i < samples; ++i) {
    const auto device = "r" + std::to_string(random() % static_cast<std::uint64_t>(devices));
    const auto number =
        static_cast<std::uint32_t>(1 + random() % static_cast<std::uint64_t>(versions));
    auto began = Clock::now();
    auto version = archive.find(device, VersionRef{VersionRef::Kind::Number, number, 0});
    auto text = version ? archive.text(*version) : Result<std::string>(version.error());
    fetch_us.push_back(static_cast<std::int64_t>(micros_since(began)));
    if (!text) {
      std::fprintf(stderr, "fetch: %s\n", text.error().describe().c_str());
      return 1;
    }
    frame.resize(ZSTD_compressBound(text->size()));
    frame.resize(
        ZSTD_compressCCtx(cctx, frame.data(), frame.size(), text->data(), text->size(), 6));
    std::string out(text->size(), '\0');
    began = Clock::now();
    ZSTD_decompressDCtx(dctx, out.data(), out.size(), frame.data(), frame.size());
    baseline_us.push_back(static_cast<std::int64_t>(micros_since(began)));
  }
  ZSTD_freeDCtx(dctx);
  ZSTD_freeCCtx(cctx);
  std::printf(
      "fetch any version: p50 %.0f us, p99 %.0f us, max %.0f us (target < 5 ms); "
      "whole-frame zstd decompress p50 %.0f us; ratio p50 %.1f\n",
      bench::percentile(fetch_us, 50), bench::percentile(fetch_us, 99),
      bench::percentile(fetch_us, 100), bench::percentile(baseline_us, 50),
      bench::percentile(fetch_us, 50) / std::max(1.0, bench::percentile(baseline_us, 50)));

  // Diff: two random versions of a device, fetched and diffed, beside `diff -u` of the texts.
  std::vector<std::int64_t> diff_us, peer_us;
  const std::string a_path = dir + "/a.txt", b_path = dir + "/b.txt";
  for (int i = 0; i < 200; ++i) {
    const auto device = "r" + std::to_string(random() % static_cast<std::uint64_t>(devices));
    const auto first =
        static_cast<std::uint32_t>(1 + random() % static_cast<std::uint64_t>(versions));
    const auto second =
        static_cast<std::uint32_t>(1 + random() % static_cast<std::uint64_t>(versions));
    auto began = Clock::now();
    auto a = archive.text(*archive.find(device, VersionRef{VersionRef::Kind::Number, first, 0}));
    auto b = archive.text(*archive.find(device, VersionRef{VersionRef::Kind::Number, second, 0}));
    auto change = compare_texts(*a, *b, "a", "b");
    diff_us.push_back(static_cast<std::int64_t>(micros_since(began)));
    write_file(a_path, *a);
    write_file(b_path, *b);
    began = Clock::now();
    const auto command = "diff -u " + a_path + " " + b_path + " >/dev/null";
    if (std::system(command.c_str()) == -1) return 1;
    peer_us.push_back(static_cast<std::int64_t>(micros_since(began)));
    if (change.added + change.removed > 0 && change.diff.empty()) return 1;
  }
  std::printf(
      "diff two versions: p50 %.0f us, p99 %.0f us, max %.0f us (target < 20 ms); "
      "GNU diff -u p50 %.0f us; ratio p50 %.2f\n",
      bench::percentile(diff_us, 50), bench::percentile(diff_us, 99),
      bench::percentile(diff_us, 100), bench::percentile(peer_us, 50),
      bench::percentile(diff_us, 50) / std::max(1.0, bench::percentile(peer_us, 50)));
  store.reset();
  std::filesystem::remove_all(dir);
  return 0;
}
