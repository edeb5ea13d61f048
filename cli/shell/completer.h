#pragma once
// Completer: what Tab offers at the cursor of a shell line — device names inside device("…")
// and after :connect, selector keys and values inside inventory.select("…") and after
// :devices, device commands inside d:run("…") from the device's platform's command list
// (word by word, abbreviations accepted: "sh ip bgp s" offers "summary"), Lua globals and the
// fields and methods of tables and device handles, meta-commands after ':', and runbook files
// (and directories) after :run. It only looks at text and at what it was told; the session's
// globals come through the Lookup callbacks.

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace nauto::cli::shell {

/// What the inventory and the platforms say, read once when the shell starts (and on :devices).
struct CompletionData {
  std::map<std::string, std::string> device_platform;            ///< device -> platform
  std::map<std::string, std::set<std::string>> selector_values;  ///< key -> values seen
  std::map<std::string, std::vector<std::string>> platform_commands;
};

struct Completion {
  std::vector<std::string> candidates;  ///< whole words replacing the word at the cursor
  char append = ' ';                    ///< after a single match ('\0' inside strings)
};

/// Characters that end a word for completion (the word at the cursor starts after the last).
inline constexpr const char* kWordBreaks = " \t\n\"'(),=.:[]{}<>~!";

class Completer {
 public:
  struct Lookup {
    std::function<std::vector<std::string>(const std::string& path)> fields;  ///< "" = globals
    std::function<std::optional<std::string>(const std::string& global)> device_of;
  };
  Completer(const CompletionData& data, Lookup lookup) : data_(data), lookup_(std::move(lookup)) {}

  /// Candidates for the word that ends `line_to_cursor`, sorted, starting with that word.
  Completion complete(std::string_view line_to_cursor) const;
  /// The meta-commands, for :help and completion.
  static const std::vector<std::string>& meta_commands();

 private:
  Completion meta(std::string_view line, std::string_view word) const;
  Completion in_string(std::string_view before_quote, std::string_view text) const;
  Completion selector(std::string_view text) const;
  Completion commands(const std::string& device, std::string_view text) const;
  Completion files(std::string_view typed, std::string_view word) const;
  Completion identifier(std::string_view line, std::string_view word) const;

  const CompletionData& data_;
  Lookup lookup_;
};

}  // namespace nauto::cli::shell
