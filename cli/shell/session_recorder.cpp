#include "session_recorder.h"

#include <ctime>
#include <filesystem>
#include <fstream>

#include "nauto/text/regex.h"

namespace nauto::cli::shell {

void SessionRecorder::record(const std::string& chunk, bool expression) {
  chunks_.push_back(expression ? "print(" + chunk + ")" : chunk);
}

Result<std::string> SessionRecorder::runbook(const std::string& name,
                                             const std::string& author) const {
  static const auto valid =
      text::Regex::literal(R"([A-Za-z0-9_][A-Za-z0-9_\-]*)", text::Regex::Anchor::Whole);
  if (!text::matches(valid, name)) {
    return fail(Errc::InvalidArgument, "':save " + name +
                                           "': a runbook name is letters, digits, _ and - (such as "
                                           "bgp_check)");
  }
  if (chunks_.empty()) {
    return fail(Errc::InvalidArgument,
                "nothing to save yet: no chunk of this session has run without error");
  }
  char date[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
  std::string text = "-- Saved from `nauto shell` by " + author + " on " + date + ".\n" +
                     "return runbook {\n  name = \"" + name + "\",\n" +
                     "  description = \"saved from nauto shell\",\n" + "  run = function(params)\n";
  for (const auto& chunk : chunks_) {
    std::size_t start = 0;
    while (start <= chunk.size()) {
      const auto end = chunk.find('\n', start);
      const auto line =
          chunk.substr(start, end == std::string::npos ? std::string::npos : end - start);
      text += line.empty() ? "\n" : "    " + line + "\n";
      if (end == std::string::npos) break;
      start = end + 1;
    }
  }
  text += "  end,\n}\n";
  return text;
}

Result<std::string> SessionRecorder::save(const std::string& name_or_path,
                                          const std::string& author, bool overwrite) const {
  namespace fs = std::filesystem;
  fs::path path(name_or_path);
  if (path.extension() != ".lua") path += ".lua";
  auto text = runbook(path.stem().string(), author);
  if (!text) return std::move(text).error();
  std::error_code error;
  if (!overwrite && fs::exists(path, error)) {
    return fail(Errc::Conflict, path.string() + " exists; use :save! " + name_or_path +
                                    " to replace it, or another name");
  }
  std::ofstream out(path, std::ios::trunc);
  out << *text;
  out.close();
  if (!out) return fail(Errc::System, "cannot write " + path.string());
  return path.string();
}

}  // namespace nauto::cli::shell
