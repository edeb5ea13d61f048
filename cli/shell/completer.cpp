#include "completer.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "nauto/text/regex.h"

namespace nauto::cli::shell {

namespace {

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

bool starts_with_nocase(std::string_view text, std::string_view prefix) {
  if (prefix.size() > text.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) !=
        std::tolower(static_cast<unsigned char>(prefix[i])))
      return false;
  }
  return true;
}

std::vector<std::string> words_of(std::string_view text) {
  std::vector<std::string> words;
  std::string word;
  for (const char c : text) {
    if (c == ' ' || c == '\t') {
      if (!word.empty()) words.push_back(std::move(word));
      word.clear();
    } else {
      word += c;
    }
  }
  if (!word.empty()) words.push_back(std::move(word));
  return words;
}

// The word readline replaces: what follows the last break character.
std::string_view word_at_end(std::string_view line) {
  const auto at = line.find_last_of(kWordBreaks);
  return at == std::string_view::npos ? line : line.substr(at + 1);
}

// Candidates for `token` (what this completer reasons about) made relative to `word` (the
// shorter tail readline replaces, e.g. after the '=' of site=dc1), sorted and unique.
Completion finish(std::vector<std::string> candidates, std::string_view token,
                  std::string_view word, char append) {
  Completion out;
  out.append = append;
  const auto cut = token.size() >= word.size() ? token.size() - word.size() : 0;
  for (auto& candidate : candidates) {
    if (!starts_with(candidate, token) && !starts_with_nocase(candidate, token)) continue;
    out.candidates.push_back(candidate.substr(std::min(cut, candidate.size())));
  }
  std::sort(out.candidates.begin(), out.candidates.end());
  out.candidates.erase(std::unique(out.candidates.begin(), out.candidates.end()),
                       out.candidates.end());
  return out;
}

// Where the line ends: inside a string (at the opening quote), in a comment, or in code.
struct LineEnd {
  std::optional<std::size_t> open_quote;
  bool comment = false;
};

LineEnd scan(std::string_view line) {
  std::optional<std::size_t> open;
  char quote = 0;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quote) {
      if (c == '\\') {
        ++i;
      } else if (c == quote) {
        quote = 0;
        open.reset();
      }
    } else if (c == '"' || c == '\'') {
      quote = c;
      open = i;
    } else if (c == '-' && i + 1 < line.size() && line[i + 1] == '-') {
      return LineEnd{std::nullopt, true};
    }
  }
  return LineEnd{open, false};
}

const std::vector<std::string> kLuaKeywords = {
    "and",      "break",  "do",   "else", "elseif", "end",  "false", "for",
    "function", "goto",   "if",   "in",   "local",  "nil",  "not",   "or",
    "repeat",   "return", "then", "true", "until",  "while"};

}  // namespace

const std::vector<std::string>& Completer::meta_commands() {
  static const std::vector<std::string> names = {"help", "devices", "connect", "run",
                                                 "save", "timing",  "more",    "quit"};
  return names;
}

Completion Completer::complete(std::string_view line) const {
  const auto word = word_at_end(line);
  std::size_t first = 0;
  while (first < line.size() && std::isspace(static_cast<unsigned char>(line[first])))
    ++first;
  if (first < line.size() && line[first] == ':') return meta(line.substr(first), word);
  const auto end = scan(line);
  if (end.comment) return {};
  if (end.open_quote)
    return in_string(line.substr(0, *end.open_quote), line.substr(*end.open_quote + 1));
  return identifier(line, word);
}

Completion Completer::meta(std::string_view line, std::string_view word) const {
  const auto space = line.find(' ');
  if (space == std::string_view::npos) {
    std::vector<std::string> names;
    for (const auto& name : meta_commands())
      names.push_back(name);
    return finish(names, line.substr(1), word, ' ');
  }
  const auto command = line.substr(1, space - 1);
  auto argument = line.substr(space + 1);
  while (!argument.empty() && argument.front() == ' ')
    argument.remove_prefix(1);
  if (command == "connect") {
    std::vector<std::string> names;
    for (const auto& [name, platform] : data_.device_platform)
      names.push_back(name);
    return finish(names, argument, word, ' ');
  }
  if (command == "devices") return selector(argument);
  if (command == "timing") return finish({"on", "off"}, argument, word, ' ');
  if (command == "help") return finish(meta_commands(), argument, word, ' ');
  if (command == "run") return files(argument.substr(0, argument.find(' ')), word);
  return {};
}

// Runbook files: directories (to go into) and *.lua / *.yaml / *.yml, as typed (relative or
// absolute). Done here rather than by libedit, whose word would stop at the '.' of a path.
Completion Completer::files(std::string_view typed, std::string_view word) const {
  namespace fs = std::filesystem;
  const std::string path(typed);
  const auto slash = path.rfind('/');
  const std::string directory = slash == std::string::npos ? "" : path.substr(0, slash + 1);
  std::vector<std::string> names;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(directory.empty() ? "." : directory, error)) {
    const auto name = entry.path().filename().string();
    if (name.empty() || name[0] == '.') continue;
    const auto extension = entry.path().extension().string();
    if (entry.is_directory(error)) {
      names.push_back(directory + name + "/");
    } else if (extension == ".lua" || extension == ".yaml" || extension == ".yml") {
      names.push_back(directory + name);
    }
  }
  auto completion = finish(names, typed, word, ' ');
  if (completion.candidates.size() == 1 && completion.candidates[0].back() == '/')
    completion.append = '\0';  // into the directory: keep typing
  return completion;
}

Completion Completer::in_string(std::string_view before, std::string_view text) const {
  using text::Regex;
  static const auto device_call = Regex::literal(R"(device\s*\(?\s*\Z)", Regex::Anchor::Anywhere);
  static const auto select_call =
      Regex::literal(R"(inventory\s*\.\s*select\s*\(\s*\Z)", Regex::Anchor::Anywhere);
  static const auto run_call = Regex::literal(
      R"((?:device\s*\(\s*["']([^"']+)["']\s*\)|([A-Za-z_][\w.]*))\s*:\s*run\s*\(\s*(?:\{\s*)?\Z)",
      Regex::Anchor::Anywhere);
  const std::string_view head = before;
  if (text::matches(device_call, head)) {
    std::vector<std::string> names;
    for (const auto& [name, platform] : data_.device_platform)
      names.push_back(name);
    return finish(names, text, word_at_end(text), '\0');
  }
  if (text::matches(select_call, head)) {
    auto completion = selector(text);
    completion.append = '\0';
    return completion;
  }
  if (auto match = text::match_groups(run_call, head)) {
    std::optional<std::string> device;
    if (!(*match)[1].empty()) {  // device("name"):run(
      device = (*match)[1];
    } else if (lookup_.device_of) {  // a variable holding a device
      device = lookup_.device_of((*match)[2]);
    }
    if (device) return commands(*device, text);
  }
  return {};
}

Completion Completer::selector(std::string_view text) const {
  const auto start = text.find_last_of(" (");
  const auto token = start == std::string_view::npos ? text : text.substr(start + 1);
  const auto word = word_at_end(text);
  if (const auto eq = token.find('='); eq != std::string_view::npos) {
    auto key = std::string(token.substr(0, eq));
    if (!key.empty() && key.back() == '!') key.pop_back();
    const auto prefix = std::string(token.substr(0, eq + 1));
    std::vector<std::string> values;
    if (const auto it = data_.selector_values.find(key); it != data_.selector_values.end()) {
      for (const auto& value : it->second)
        values.push_back(prefix + value);
    }
    return finish(values, token, word, ' ');
  }
  std::vector<std::string> words = {"and", "or", "not", "all"};
  for (const auto& [key, values] : data_.selector_values)
    words.push_back(key + "=");
  for (const auto& [name, platform] : data_.device_platform)
    words.push_back(name);
  auto completion = finish(words, token, word, ' ');
  // "site=" wants its value next, not a space.
  if (completion.candidates.size() == 1 && !completion.candidates[0].empty() &&
      completion.candidates[0].back() == '=')
    completion.append = '\0';
  return completion;
}

Completion Completer::commands(const std::string& device, std::string_view text) const {
  const auto platform = data_.device_platform.find(device);
  if (platform == data_.device_platform.end()) return {};
  const auto list = data_.platform_commands.find(platform->second);
  if (list == data_.platform_commands.end()) return {};
  const auto typed = words_of(text);
  const bool at_new_word = text.empty() || text.back() == ' ';
  const std::size_t whole = at_new_word ? typed.size() : typed.size() - 1;
  const std::string partial = at_new_word ? "" : typed.back();
  std::vector<std::string> next;
  for (const auto& command : list->second) {
    const auto words = words_of(command);
    if (words.size() <= whole) continue;
    bool fits = true;
    for (std::size_t i = 0; i < whole && fits; ++i)
      fits = starts_with_nocase(words[i], typed[i]);
    if (fits && starts_with_nocase(words[whole], partial)) next.push_back(words[whole]);
  }
  return finish(next, partial, word_at_end(text), ' ');
}

Completion Completer::identifier(std::string_view line, std::string_view word) const {
  static const auto member = text::Regex::literal(
      R"(([A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)*)\s*[.:]\s*(\w*)\Z)", text::Regex::Anchor::Anywhere);
  if (auto match = text::match_groups(member, line); match && lookup_.fields) {
    return finish(lookup_.fields((*match)[1]), (*match)[2], word, '\0');
  }
  std::vector<std::string> names = lookup_.fields ? lookup_.fields("") : std::vector<std::string>{};
  for (const auto& keyword : kLuaKeywords)
    names.push_back(keyword);
  return finish(names, word, word, '\0');
}

}  // namespace nauto::cli::shell
