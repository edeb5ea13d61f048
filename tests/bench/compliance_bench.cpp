// Compliance throughput (issue 28): a policy of 100 config rules over N archived-size configs,
// evaluated as a compliance run evaluates them (ConfigView, then every rule), on T threads.
// Prints the seconds and the pass/fail counts, which compliance_bench.py must reproduce.
//   compliance_bench DIR THREADS     (DIR from compliance_corpus.py)
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "evaluate.h"
#include "policy.h"

using namespace nauto::compliance;

namespace {

std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: compliance_bench DIR THREADS\n";
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  const int threads = std::max(1, std::atoi(argv[2]));
  auto policy = parse_policy(slurp(dir / "policy.yaml"), "policy.yaml");
  if (!policy) {
    std::cerr << policy.error().message << "\n";
    return 1;
  }
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir / "configs"))
    files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  auto read_start = std::chrono::steady_clock::now();
  std::vector<std::string> configs;
  std::size_t bytes = 0;
  for (const auto& file : files) {
    configs.push_back(slurp(file));
    bytes += configs.back().size();
  }
  const double read_seconds = seconds_since(read_start);
  std::vector<const Rule*> rules;
  for (const auto& rule : policy->rules)
    rules.push_back(&rule);

  const nauto::drivers::ConfigDiff parser({}, {});
  std::vector<std::int64_t> passes(threads), fails(threads), errors(threads);
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      nauto::text::Matcher matcher;
      for (std::size_t i = t; i < configs.size(); i += threads) {
        DeviceInput input;
        input.config.emplace(configs[i], parser);
        for (const auto& result : evaluate(rules, input, matcher)) {
          if (result.status == Status::Pass) ++passes[t];
          if (result.status == Status::Fail) ++fails[t];
          if (result.status == Status::Error) ++errors[t];
        }
      }
    });
  }
  for (auto& worker : workers)
    worker.join();
  const double seconds = seconds_since(start);
  std::int64_t pass = 0, fail = 0, error = 0;
  for (int t = 0; t < threads; ++t) {
    pass += passes[t];
    fail += fails[t];
    error += errors[t];
  }
  std::cout << "nauto: " << configs.size() << " configs (" << bytes / configs.size() / 1024.0
            << " KiB each), " << rules.size() << " rules, " << threads << " thread(s): " << seconds
            << " s (reading the files " << read_seconds << " s apart); pass " << pass << ", fail "
            << fail << ", error " << error << "\n";
  std::cout << "RESULT seconds=" << seconds << " pass=" << pass << " fail=" << fail << "\n";
  return error == 0 ? 0 : 1;
}
