#include "nauto/runbook/runbook_catalog.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "nauto/runbook/yaml_compiler.h"

namespace nauto::runbook {

namespace fs = std::filesystem;

std::string language_of(const std::string& path) {
  const auto extension = fs::path(path).extension().string();
  if (extension == ".lua") return "lua";
  if (extension == ".yaml" || extension == ".yml") return "yaml";
  return {};
}

Result<std::string> read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(Errc::System, std::strerror(errno), path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

Result<RunbookFile> RunbookCatalog::find(const std::string& name) const {
  if (name.empty() || name.find('/') != std::string::npos) {
    return fail(Errc::InvalidArgument, "a runbook name has no '/' (give a file path instead)",
                name);
  }
  for (const auto& dir : directories_) {
    for (const char* extension : {".lua", ".yaml", ".yml"}) {
      const auto path = (fs::path(dir) / (name + extension)).string();
      std::error_code error;
      if (fs::is_regular_file(path, error)) return RunbookFile{name, path, language_of(path)};
    }
  }
  std::string searched;
  for (const auto& dir : directories_)
    searched += (searched.empty() ? "" : ", ") + dir;
  return fail(
      Errc::NotFound,
      "no runbook named '" + name + "' in " +
          (searched.empty() ? std::string("any directory (set modules.runbooks.dirs)") : searched) +
          " (`nauto runbook list` shows them)");
}

std::vector<RunbookFile> RunbookCatalog::list() const {
  std::map<std::string, RunbookFile> found;
  for (const auto& dir : directories_) {
    std::error_code error;
    for (fs::directory_iterator it(dir, error), end; !error && it != end; it.increment(error)) {
      const auto path = it->path().string();
      const auto language = language_of(path);
      if (language.empty() || !it->is_regular_file(error)) continue;
      const auto name = it->path().stem().string();
      found.emplace(name, RunbookFile{name, path, language});
    }
  }
  std::vector<RunbookFile> out;
  for (auto& [name, file] : found)
    out.push_back(std::move(file));
  return out;
}

Result<std::string> lua_source_of(const std::string& text, const std::string& language,
                                  const std::string& chunk_name) {
  if (language == "lua") return text;
  if (language == "yaml") return compile_yaml_runbook(text, chunk_name);
  return fail(Errc::InvalidArgument,
              "unknown runbook language '" + language + "' (a .lua or .yaml file)", chunk_name);
}

}  // namespace nauto::runbook
