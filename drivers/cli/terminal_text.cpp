#include "terminal_text.h"

#include <cstdio>

namespace nauto::drivers::cli {
namespace {

// Length of a complete escape sequence at the start of `s`, 0 if incomplete, or 1 for a lone
// ESC we cannot classify (dropped).
std::size_t escape_length(std::string_view s) {
  if (s.size() < 2) return 0;
  char kind = s[1];
  if (kind == '[') {  // CSI: parameters then a final byte in 0x40..0x7e
    for (std::size_t i = 2; i < s.size(); ++i) {
      auto c = static_cast<unsigned char>(s[i]);
      if (c >= 0x40 && c <= 0x7e) return i + 1;
    }
    return 0;
  }
  if (kind == ']') {  // OSC: up to BEL or ESC backslash
    for (std::size_t i = 2; i < s.size(); ++i) {
      if (s[i] == '\a') return i + 1;
      if (s[i] == '\x1b' && i + 1 < s.size() && s[i + 1] == '\\') return i + 2;
    }
    return 0;
  }
  if (kind == '(' || kind == ')') return s.size() >= 3 ? 3 : 0;  // charset selection
  return 2;  // two-byte sequences (ESC =, ESC >, ESC 7, ...)
}

}  // namespace

void TerminalText::feed(std::string_view bytes) {
  recent_.append(bytes);
  if (recent_.size() > 4096) recent_.erase(0, recent_.size() - 1024);
  std::string input = pending_;
  input.append(bytes);
  pending_.clear();
  std::string_view s(input);
  text_.reserve(text_.size() + s.size());
  for (std::size_t i = 0; i < s.size();) {
    char c = s[i];
    if (c == '\x1b') {
      auto length = escape_length(s.substr(i));
      if (length == 0) {
        pending_ = std::string(s.substr(i));
        return;
      }
      // "Erase line" after a CR is how some devices clear a pager prompt; CR already did it.
      i += length;
      continue;
    }
    if (c == '\r') {
      if (i + 1 == s.size()) {
        pending_ = "\r";
        return;
      }
      if (s[i + 1] == '\n' || s[i + 1] == '\r') {
        ++i;  // CR LF (or CR CR LF): the LF does the work
        continue;
      }
      auto line_start = text_.rfind('\n');
      text_.resize(line_start == std::string::npos ? 0 : line_start + 1);
      ++i;
      continue;
    }
    if (c == '\b') {
      if (!text_.empty() && text_.back() != '\n') text_.pop_back();
      ++i;
      continue;
    }
    if (c == '\0' || c == '\a') {
      ++i;
      continue;
    }
    text_.push_back(c);
    ++i;
  }
}

std::string_view TerminalText::last_line() const {
  auto at = text_.rfind('\n');
  return at == std::string::npos ? std::string_view(text_) : std::string_view(text_).substr(at + 1);
}

void TerminalText::drop_last_line() {
  auto at = text_.rfind('\n');
  text_.resize(at == std::string::npos ? 0 : at + 1);
}

void TerminalText::clear() {
  text_.clear();
  pending_.clear();
}

std::string TerminalText::take() {
  std::string out = std::move(text_);
  text_.clear();
  return out;
}

std::string TerminalText::recent_bytes(std::size_t limit) const {
  std::string_view tail(recent_);
  if (tail.size() > limit) tail = tail.substr(tail.size() - limit);
  return escape_bytes(tail);
}

std::string escape_bytes(std::string_view bytes) {
  std::string out;
  for (char c : bytes) {
    switch (c) {
      case '\r':
        out += "\\r";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
          char hex[8];
          std::snprintf(hex, sizeof hex, "\\x%02x", static_cast<unsigned char>(c));
          out += hex;
        } else {
          out.push_back(c);
        }
    }
  }
  return out;
}

}  // namespace nauto::drivers::cli
