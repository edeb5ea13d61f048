// The ntc-templates conformance suite: every fixture in the corpus (tests/<platform>/<command>/
// *.raw with the expected records in *.yml) is parsed through the corpus' own index and
// templates and compared with what ntc-templates expects, as its own test suite does with Python
// TextFSM. The corpus is read where it lies (NAUTO_NTC_TEMPLATES, or ../shared/ntc-templates
// beside the repository); it is data, never copied into the repository.
//
// Usage: ntc_conformance [CORPUS_DIR] [--verbose]. Prints each failure, then
// "textfsm_conformance: N passed, N failed". Exit 0 when all pass, 1 otherwise (a missing corpus
// is a failure: the suite must not pass by not running).
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "nauto/text/textfsm/parser.h"
#include "nauto/text/textfsm/template_library.h"

namespace fs = std::filesystem;
using nauto::textfsm::TemplateLibrary;

namespace {

// YAML as Python's yaml.safe_load reads ntc-templates' fixtures: quoted scalars are strings, ~ or
// null is None.
nlohmann::json from_yaml(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Sequence: {
      auto list = nlohmann::json::array();
      for (const auto& item : node)
        list.push_back(from_yaml(item));
      return list;
    }
    case YAML::NodeType::Map: {
      auto map = nlohmann::json::object();
      for (const auto& entry : node)
        map[entry.first.as<std::string>()] = from_yaml(entry.second);
      return map;
    }
    case YAML::NodeType::Scalar:
      if (node.Tag() == "?" && (node.Scalar() == "~" || node.Scalar() == "null")) return nullptr;
      return node.Scalar();
    default:
      return nullptr;
  }
}

std::string command_of(const fs::path& directory) {
  std::string command = directory.filename().string();
  std::replace(command.begin(), command.end(), '_', ' ');
  return command;
}

fs::path find_corpus(int argc, char** argv) {
  std::vector<fs::path> candidates;
  if (const char* env = std::getenv("NAUTO_NTC_TEMPLATES")) candidates.emplace_back(env);
  for (int i = 1; i < argc; ++i)  // meson passes ../shared/ntc-templates beside the repository
    if (argv[i][0] != '-') candidates.emplace_back(argv[i]);
  candidates.emplace_back("/work/shared/ntc-templates");
  for (const auto& candidate : candidates)
    if (fs::exists(candidate / "ntc_templates" / "templates" / "index")) return candidate;
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  const bool verbose = std::any_of(argv + 1, argv + argc,
                                   [](const char* a) { return std::string(a) == "--verbose"; });
  const fs::path corpus = find_corpus(argc, argv);
  if (corpus.empty()) {
    std::cout << "ntc-templates corpus not found (set NAUTO_NTC_TEMPLATES to the directory "
                 "holding ntc_templates/ and tests/): conformance not run\n";
    return 1;
  }
  auto library = TemplateLibrary::open(corpus / "ntc_templates" / "templates");
  if (!library) {
    std::cout << library.error().describe() << "\n";
    return 1;
  }
  std::vector<fs::path> fixtures;
  for (const auto& entry : fs::recursive_directory_iterator(corpus / "tests"))
    if (entry.is_regular_file() && entry.path().extension() == ".raw" &&
        fs::exists(fs::path(entry.path()).replace_extension(".yml")))
      fixtures.push_back(entry.path());
  std::sort(fixtures.begin(), fixtures.end());

  int passed = 0;
  int failed = 0;
  for (const auto& raw : fixtures) {
    const std::string platform = raw.parent_path().parent_path().filename().string();
    const std::string command = command_of(raw.parent_path());
    const std::string name = fs::relative(raw, corpus / "tests").string();
    auto text = nauto::textfsm::read_text_file(raw);
    auto table = text ? (*library)->parse(platform, command, *text)
                      : nauto::Result<nauto::textfsm::Table>(text.error());
    if (!table) {
      ++failed;
      std::cout << "FAIL " << name << ": " << table.error().describe() << "\n";
      continue;
    }
    nlohmann::json expected;
    try {
      expected = from_yaml(
          YAML::LoadFile(fs::path(raw).replace_extension(".yml").string())["parsed_sample"]);
    } catch (const YAML::Exception& error) {
      ++failed;
      std::cout << "FAIL " << name << ": expected output unreadable: " << error.what() << "\n";
      continue;
    }
    const auto got = nauto::textfsm::to_json(*table);
    if (got == expected) {
      ++passed;
      if (verbose) std::cout << "ok   " << name << " (" << got.size() << " records)\n";
      continue;
    }
    ++failed;
    std::cout << "FAIL " << name << ": records differ (" << got.size() << " parsed, "
              << expected.size() << " expected)\n";
    for (std::size_t i = 0; i < std::max(got.size(), expected.size()); ++i) {
      const auto left = i < got.size() ? got[i] : nlohmann::json();
      const auto right = i < expected.size() ? expected[i] : nlohmann::json();
      if (left == right) continue;
      std::cout << "  record " << i << "\n    parsed:   " << left.dump().substr(0, 600)
                << "\n    expected: " << right.dump().substr(0, 600) << "\n";
      break;
    }
  }
  std::cout << "textfsm_conformance: " << passed << " passed, " << failed << " failed\n";
  return failed == 0 ? 0 : 1;
}
