// TextFSM parse throughput over the whole ntc-templates fixture corpus (issue 7). Each fixture's
// template(s) are looked up in the index and compiled before timing, as a long-running nautod
// keeps them; then every fixture is parsed ROUNDS times. textfsm_bench.py does the same with
// Python TextFSM; textfsm_bench.sh runs both and prints the ratio. Fixtures of one template,
// cisco_s300_show_vlan.textfsm, are also timed apart: its rule ^(\s*-*)*\s*$$ backtracks
// exponentially on indented lines and dominates Python's time, so the ratio without it is the one
// that describes ordinary templates.
//   textfsm_bench CORPUS_DIR [ROUNDS]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "nauto/text/textfsm/parser.h"
#include "nauto/text/textfsm/template_library.h"

namespace fs = std::filesystem;
using namespace nauto::textfsm;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: textfsm_bench CORPUS_DIR [ROUNDS]\n");
    return 2;
  }
  const fs::path corpus = argv[1];
  const int rounds = argc > 2 ? std::stoi(argv[2]) : 5;
  using clock = std::chrono::steady_clock;
  const auto compile_start = clock::now();
  auto library = TemplateLibrary::open(corpus / "ntc_templates" / "templates");
  if (!library) {
    std::fprintf(stderr, "%s\n", library.error().describe().c_str());
    return 1;
  }
  constexpr std::string_view kPathological = "cisco_s300_show_vlan.textfsm";
  struct Fixture {
    std::vector<std::shared_ptr<const Template>> templates;
    std::string text;
    bool pathological = false;
  };
  std::vector<fs::path> paths;
  for (const auto& entry : fs::recursive_directory_iterator(corpus / "tests"))
    if (entry.path().extension() == ".raw" &&
        fs::exists(fs::path(entry.path()).replace_extension(".yml")))
      paths.push_back(entry.path());
  std::sort(paths.begin(), paths.end());
  std::vector<Fixture> fixtures;
  std::size_t bytes = 0;
  for (const auto& path : paths) {
    std::string command = path.parent_path().filename().string();
    std::replace(command.begin(), command.end(), '_', ' ');
    const std::string platform = path.parent_path().parent_path().filename().string();
    auto names = (*library)->index().find(platform, command);
    auto text = read_text_file(path);
    if (!names || !text) return 1;
    Fixture fixture{{},
                    std::move(*text),
                    std::find(names->begin(), names->end(), kPathological) != names->end()};
    for (const auto& name : *names) {
      auto compiled = (*library)->get(name);
      if (!compiled) return 1;
      fixture.templates.push_back(*compiled);
    }
    bytes += fixture.text.size();
    fixtures.push_back(std::move(fixture));
  }
  const double compile_s = std::chrono::duration<double>(clock::now() - compile_start).count();

  std::size_t records = 0;
  double pathological_s = 0;
  const auto start = clock::now();
  for (int round = 0; round < rounds; ++round)
    for (const auto& fixture : fixtures) {
      const auto fixture_start = clock::now();
      for (const auto& fsm : fixture.templates) {
        auto table = parse(*fsm, fixture.text);
        if (!table) {
          std::fprintf(stderr, "%s\n", table.error().describe().c_str());
          return 1;
        }
        records += table->rows.size();
      }
      if (fixture.pathological)
        pathological_s += std::chrono::duration<double>(clock::now() - fixture_start).count();
    }
  const double parse_s = std::chrono::duration<double>(clock::now() - start).count();
  const double per_round = parse_s / rounds;
  const double ordinary = (parse_s - pathological_s) / rounds;
  std::printf(
      "nauto  : %zu fixtures, %.2f MB, %zu records per round; index + templates %.3f s; "
      "parse %.4f s per round = %.0f fixtures/s, %.1f MB/s\n",
      fixtures.size(), bytes / 1e6, records / rounds, compile_s, per_round,
      fixtures.size() / per_round, bytes / 1e6 / per_round);
  std::printf("         without %s: %.4f s per round; its fixtures alone: %.4f s\n",
              std::string(kPathological).c_str(), ordinary, pathological_s / rounds);
  std::printf("RESULT nauto parse_seconds_per_round=%.6f compile_seconds=%.6f ordinary=%.6f\n",
              per_round, compile_s, ordinary);
  return 0;
}
