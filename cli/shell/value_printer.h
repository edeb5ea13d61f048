#pragma once
// How the shell shows what a chunk returned: parsed records (a list of flat tables) as an
// aligned table, unified diffs colored (+ green, - red, @@ cyan) when writing to a terminal,
// device handles as device("r1"), other tables as YAML, strings as they are (device output
// keeps its lines). Long text is cut to a page; the rest waits in the Pager for `:more`.

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace nauto::cli::shell {

/// The terminal colors the shell uses (only when writing to a terminal without NO_COLOR).
namespace ansi {
inline constexpr const char* kRed = "\x1b[31m";
inline constexpr const char* kGreen = "\x1b[32m";
inline constexpr const char* kCyan = "\x1b[36m";
inline constexpr const char* kReset = "\x1b[0m";
}  // namespace ansi

struct PrintStyle {
  bool color = false;
};

/// The text of one value as the session's loop sent it ({type, value}, with "$shell" markers
/// for handles, functions and keyed tables).
std::string render_value(const nlohmann::json& typed_value, const PrintStyle& style);
/// Whether `text` is a unified diff (has @@ hunks, or starts with ---/+++ file lines).
bool looks_like_diff(const std::string& text);
std::string color_diff(const std::string& text);

/// Holds the lines of long output past the first page until `:more` asks for them.
class Pager {
 public:
  explicit Pager(std::size_t page_lines) : page_lines_(page_lines) {}
  /// The first page of `text` (all of it when short), with a note of what is held back.
  std::string first_page(const std::string& text);
  /// The next page, or a note that nothing is left.
  std::string next_page();
  bool has_more() const { return next_ < lines_.size(); }
  void set_page_lines(std::size_t lines) { page_lines_ = lines; }

 private:
  std::string page();
  std::size_t page_lines_;
  std::vector<std::string> lines_;
  std::size_t next_ = 0;
};

}  // namespace nauto::cli::shell
