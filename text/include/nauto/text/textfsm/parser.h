#pragma once
// parse(): runs a compiled template over command output, record by record, with Python TextFSM's
// semantics (Filldown, Fillup, Required, List, Key; Next/Continue/Error; Record, NoRecord, Clear,
// Clearall; the implicit record at end of input unless the template declares EOF).
#include <nauto/base/result.h>

#include <array>
#include <chrono>
#include <string_view>

#include "nauto/text/textfsm/table.h"
#include "nauto/text/textfsm/template.h"

namespace nauto::textfsm {

/// Bounds on one parse. Each regex match is bounded by Matcher::kMatchLimit; the time budget
/// bounds a whole parse of many lines that each come close to it.
struct ParseLimits {
  std::chrono::milliseconds time_budget{10'000};
};

/// Parses `text` (UTF-8; lines end as Python's str.splitlines() ends them). Fails with the
/// template's message when an `Error` rule fires, and with Errc::ResourceExhausted when a regex
/// exceeds its match limit or the parse its time budget; never hangs.
Result<Table> parse(const Template& fsm, std::string_view text, const ParseLimits& limits = {});

namespace detail {
// The bytes a line separator can start with: one lookup per byte skips the rest of a line.
inline constexpr auto kSeparatorLead = [] {
  std::array<bool, 256> lead{};
  for (const unsigned char c : {'\n', '\v', '\f', '\r', '\x1c', '\x1d', '\x1e', '\xc2', '\xe2'})
    lead[c] = true;
  return lead;
}();
}  // namespace detail

/// Calls visit(line) for each line of `text` until it returns false. Lines end at \n, \r\n, \r,
/// \v, \f, \x1c-\x1e, U+0085, U+2028 and U+2029, with no trailing empty line: Python's
/// str.splitlines(), which TextFSM uses.
template <typename Visitor>
void for_each_line(std::string_view text, Visitor&& visit) {
  std::size_t start = 0;
  std::size_t i = 0;
  const std::size_t size = text.size();
  while (i < size) {
    while (i < size && !detail::kSeparatorLead[static_cast<unsigned char>(text[i])])
      ++i;
    if (i == size) break;
    const auto c = static_cast<unsigned char>(text[i]);
    std::size_t separator = 0;
    if (c == '\n' || c == '\v' || c == '\f' || (c >= 0x1c && c <= 0x1e)) {
      separator = 1;
    } else if (c == '\r') {
      separator = (i + 1 < size && text[i + 1] == '\n') ? 2 : 1;
    } else if (c == 0xc2 && i + 1 < size && static_cast<unsigned char>(text[i + 1]) == 0x85) {
      separator = 2;
    } else if (c == 0xe2 && i + 2 < size && static_cast<unsigned char>(text[i + 1]) == 0x80 &&
               (static_cast<unsigned char>(text[i + 2]) == 0xa8 ||
                static_cast<unsigned char>(text[i + 2]) == 0xa9)) {
      separator = 3;
    }
    if (separator == 0) {
      ++i;
      continue;
    }
    if (!visit(text.substr(start, i - start))) return;
    i += separator;
    start = i;
  }
  if (start < size) visit(text.substr(start));
}

}  // namespace nauto::textfsm
