#include "nauto/text/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <new>
#include <stdexcept>

namespace nauto::text {

namespace {

constexpr std::size_t kJitStackMax = 1024 * 1024;

std::string pcre2_message(int code) {
  PCRE2_UCHAR message[256];
  pcre2_get_error_message(code, message, sizeof message);
  return reinterpret_cast<const char*>(message);
}

// True when `text` at `at` reads `{,` digits `}`.
bool is_upper_bound_only(std::string_view text, std::size_t at) {
  if (at + 2 >= text.size() || text[at] != '{' || text[at + 1] != ',') return false;
  std::size_t end = at + 2;
  while (end < text.size() && std::isdigit(static_cast<unsigned char>(text[end])))
    ++end;
  return end > at + 2 && end < text.size() && text[end] == '}';
}

// Length of the well-formed UTF-8 sequence at `at`, or 0 (RFC 3629: no overlongs, surrogates or
// code points above U+10FFFF).
std::size_t utf8_sequence(std::string_view text, std::size_t at) noexcept {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(at);
  if (lead < 0x80) return 1;
  std::size_t length = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    if (lead == 0xe0) low = 0xa0;
    if (lead == 0xed) high = 0x9f;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    if (lead == 0xf0) low = 0x90;
    if (lead == 0xf4) high = 0x8f;
  } else {
    return 0;
  }
  if (at + length > text.size()) return 0;
  if (byte(at + 1) < low || byte(at + 1) > high) return 0;
  for (std::size_t i = 2; i < length; ++i)
    if ((byte(at + i) & 0xc0) != 0x80) return 0;
  return length;
}

// Whether PCRE2_UCP can change what `pattern` matches: the escapes \d \s \w \b and their
// negations. (POSIX classes would too, but python_to_pcre2 makes every '[' in a class literal;
// caseless matching of non-ASCII letters does not depend on UCP in UTF mode.)
bool uses_unicode_properties(std::string_view pattern) noexcept {
  for (std::size_t i = 0; i + 1 < pattern.size(); ++i) {
    if (pattern[i] != '\\') continue;
    switch (pattern[++i]) {
      case 'd':
      case 'D':
      case 's':
      case 'S':
      case 'w':
      case 'W':
      case 'b':
      case 'B':
        return true;
      default:
        break;
    }
  }
  return false;
}

}  // namespace

bool is_valid_utf8(std::string_view text) noexcept {
  for (std::size_t i = 0; i < text.size();) {
    if (static_cast<unsigned char>(text[i]) < 0x80) {
      ++i;
      continue;
    }
    const std::size_t length = utf8_sequence(text, i);
    if (length == 0) return false;
    i += length;
  }
  return true;
}

bool is_ascii(std::string_view text) noexcept {
  // Eight bytes at a time: device output is long and almost always ASCII.
  std::size_t i = 0;
  for (; i + 8 <= text.size(); i += 8) {
    std::uint64_t word;
    std::memcpy(&word, text.data() + i, sizeof word);
    if (word & 0x8080808080808080ull) return false;
  }
  for (; i < text.size(); ++i)
    if (static_cast<unsigned char>(text[i]) >= 0x80) return false;
  return true;
}

std::string to_valid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 16);
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t length = utf8_sequence(text, i);
    if (length == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
      continue;
    }
    out.append(text, i, length);
    i += length;
  }
  return out;
}

std::string python_to_pcre2(std::string_view pattern) {
  std::string out;
  out.reserve(pattern.size() + 8);
  bool in_class = false;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      const char next = pattern[++i];
      if (next == 'Z' && !in_class) {
        out += "\\z";
      } else {
        out += c;
        out += next;
      }
      continue;
    }
    if (in_class) {
      if (c == ']') {
        in_class = false;
      } else if (c == '[') {
        out += "\\[";
        continue;
      }
      out += c;
      continue;
    }
    if (c == '[') {
      in_class = true;
      out += c;
      // A `]` first in a class (after an optional `^`) is a literal in both dialects.
      if (i + 1 < pattern.size() && pattern[i + 1] == '^') out += pattern[++i];
      if (i + 1 < pattern.size() && pattern[i + 1] == ']') out += pattern[++i];
      continue;
    }
    if (c == '{' && is_upper_bound_only(pattern, i)) {
      out += "{0";
      continue;
    }
    out += c;
  }
  return out;
}

Result<Regex> Regex::compile(std::string_view python_pattern, Anchor anchor) {
  return compile_translated(python_to_pcre2(python_pattern), std::string(python_pattern), anchor, 0,
                            false);
}

Result<Regex> Regex::alternation(const std::vector<const Regex*>& alternatives,
                                 std::vector<std::uint32_t>& group_offsets) {
  static const Regex back_reference = Regex::literal(
      R"((?:^|[^\\])(?:\\\\)*(?:\\[1-9]|\\g|\\k|\(\?P=|\(\?\(\d))", Anchor::Anywhere);
  std::string combined = "(?:";
  std::string written;
  group_offsets.clear();
  std::uint32_t groups = 0;
  for (std::size_t i = 0; i < alternatives.size(); ++i) {
    const Regex& alternative = *alternatives[i];
    if (matches(back_reference, alternative.pattern()))
      return fail(Errc::Unsupported, "refers to a group: " + alternative.pattern());
    if (i) combined += '|';
    combined +=
        "(?:" + python_to_pcre2(alternative.pattern()) + ")(*MARK:" + std::to_string(i) + ")";
    written += (i ? "|" : "") + alternative.pattern();
    group_offsets.push_back(groups);
    groups += alternative.capture_count();
  }
  combined += ')';
  auto compiled = compile_translated(std::move(combined), std::move(written), Anchor::AtStart,
                                     PCRE2_DUPNAMES, true);
  if (!compiled) return compiled;
  // A line no alternative can start with (by its first byte or length) skips them all.
  compiled->min_length_ = UINT32_MAX;
  compiled->has_first_bytes_ = true;
  std::memset(compiled->first_bytes_, 0, sizeof compiled->first_bytes_);
  for (const Regex* alternative : alternatives) {
    compiled->min_length_ = std::min(compiled->min_length_, alternative->min_length_);
    compiled->has_first_bytes_ = compiled->has_first_bytes_ && alternative->has_first_bytes_;
    for (std::size_t b = 0; b < sizeof compiled->first_bytes_; ++b)
      compiled->first_bytes_[b] |= alternative->first_bytes_[b];
  }
  if (alternatives.empty()) compiled->min_length_ = 0;
  return compiled;
}

namespace {

// The pattern compiled without PCRE2_UCP (and JIT-translated), for ASCII subjects; null when
// Unicode properties do not change its meaning, or it does not compile.
pcre2_code* compile_ascii_variant(const std::string& translated, std::uint32_t options) {
  if (!uses_unicode_properties(translated)) return nullptr;
  int code = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* compiled =
      pcre2_compile(reinterpret_cast<PCRE2_SPTR>(translated.data()), translated.size(),
                    options & ~PCRE2_UCP, &code, &offset, nullptr);
  if (compiled) (void)pcre2_jit_compile(compiled, PCRE2_JIT_COMPLETE);
  return compiled;
}

}  // namespace

void Regex::add_ascii_variant() {
  if (!ascii_code_)
    ascii_code_ = compile_ascii_variant(python_to_pcre2(pattern_), PCRE2_UTF | PCRE2_ANCHORED);
}

Result<Regex> Regex::compile_translated(std::string translated, std::string python_pattern,
                                        Anchor anchor, std::uint32_t extra_options,
                                        bool ascii_variant) {
  std::uint32_t options = PCRE2_UTF | PCRE2_UCP | extra_options;
  if (anchor == Anchor::AtStart) options |= PCRE2_ANCHORED;
  if (anchor == Anchor::Whole) options |= PCRE2_ANCHORED | PCRE2_ENDANCHORED;
  int code = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* compiled = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(translated.data()),
                                       translated.size(), options, &code, &offset, nullptr);
  if (!compiled)
    return fail(Errc::InvalidArgument, "bad regular expression '" + python_pattern +
                                           "': " + pcre2_message(code) + " at offset " +
                                           std::to_string(offset));
  // Without JIT (an architecture PCRE2 cannot JIT for) matching still works, only slower.
  (void)pcre2_jit_compile(compiled, PCRE2_JIT_COMPLETE);
  Regex regex;
  regex.code_ = compiled;
  if (ascii_variant) regex.ascii_code_ = compile_ascii_variant(translated, options);
  regex.pattern_ = std::move(python_pattern);
  pcre2_pattern_info(compiled, PCRE2_INFO_CAPTURECOUNT, &regex.captures_);
  std::uint32_t name_count = 0;
  std::uint32_t entry_size = 0;
  PCRE2_SPTR table = nullptr;
  pcre2_pattern_info(compiled, PCRE2_INFO_NAMECOUNT, &name_count);
  pcre2_pattern_info(compiled, PCRE2_INFO_NAMEENTRYSIZE, &entry_size);
  pcre2_pattern_info(compiled, PCRE2_INFO_NAMETABLE, &table);
  for (std::uint32_t n = 0; n < name_count; ++n) {
    const PCRE2_SPTR entry = table + static_cast<std::size_t>(n) * entry_size;
    const std::uint32_t number = (static_cast<std::uint32_t>(entry[0]) << 8) | entry[1];
    regex.names_.emplace_back(reinterpret_cast<const char*>(entry + 2), number);
  }
  // The name table is sorted by name; Python reports groups in the order they open.
  std::sort(regex.names_.begin(), regex.names_.end(),
            [](const auto& a, const auto& b) { return a.second < b.second; });
  pcre2_pattern_info(compiled, PCRE2_INFO_MINLENGTH, &regex.min_length_);
  if (anchor != Anchor::Anywhere && !(extra_options & PCRE2_DUPNAMES))
    learn_first_bytes(regex, translated);
  return regex;
}

// PCRE2 computes the bytes a match can start with only for unanchored patterns, and a template
// rule is anchored (and usually starts with '^'). Compiling it once more unanchored, without the
// '^', yields that set; most rules of a state then skip a line on its first byte.
void Regex::learn_first_bytes(Regex& regex, std::string_view translated) {
  if (translated.starts_with('^')) translated.remove_prefix(1);
  int code = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* probe =
      pcre2_compile(reinterpret_cast<PCRE2_SPTR>(translated.data()), translated.size(),
                    PCRE2_UTF | PCRE2_UCP, &code, &offset, nullptr);
  if (!probe) return;
  std::uint32_t type = 0;
  pcre2_pattern_info(probe, PCRE2_INFO_FIRSTCODETYPE, &type);
  if (type == 1) {
    std::uint32_t unit = 0;
    pcre2_pattern_info(probe, PCRE2_INFO_FIRSTCODEUNIT, &unit);
    // PCRE2 does not say whether the first unit is caseless ([fF] and (?i)f both give 'f'), so a
    // letter lets its other case through, and any non-ASCII lead byte (caseless 'k' also
    // matches the Kelvin sign, U+212A).
    auto allow = [&](std::uint32_t byte) {
      regex.first_bytes_[byte / 8] |= static_cast<std::uint8_t>(1u << (byte % 8));
    };
    allow(unit & 0xff);
    if (unit >= 0x80 || std::isalpha(static_cast<int>(unit))) {
      allow(static_cast<std::uint32_t>(std::tolower(static_cast<int>(unit))));
      allow(static_cast<std::uint32_t>(std::toupper(static_cast<int>(unit))));
      for (std::uint32_t byte = 0x80; byte < 0x100; ++byte)
        allow(byte);
    }
    regex.has_first_bytes_ = unit < 0x100;
  } else {
    const std::uint8_t* bitmap = nullptr;
    pcre2_pattern_info(probe, PCRE2_INFO_FIRSTBITMAP, &bitmap);
    if (bitmap) {
      std::memcpy(regex.first_bytes_, bitmap, sizeof regex.first_bytes_);
      regex.has_first_bytes_ = true;
    }
  }
  pcre2_code_free(probe);
}

Regex::Regex(Regex&& other) noexcept
    : code_(std::exchange(other.code_, nullptr)),
      ascii_code_(std::exchange(other.ascii_code_, nullptr)),
      captures_(other.captures_),
      names_(std::move(other.names_)),
      pattern_(std::move(other.pattern_)),
      min_length_(other.min_length_),
      has_first_bytes_(other.has_first_bytes_) {
  std::memcpy(first_bytes_, other.first_bytes_, sizeof first_bytes_);
}

Regex& Regex::operator=(Regex&& other) noexcept {
  if (this != &other) {
    if (code_) pcre2_code_free(code_);
    if (ascii_code_) pcre2_code_free(ascii_code_);
    code_ = std::exchange(other.code_, nullptr);
    ascii_code_ = std::exchange(other.ascii_code_, nullptr);
    captures_ = other.captures_;
    names_ = std::move(other.names_);
    pattern_ = std::move(other.pattern_);
    min_length_ = other.min_length_;
    has_first_bytes_ = other.has_first_bytes_;
    std::memcpy(first_bytes_, other.first_bytes_, sizeof first_bytes_);
  }
  return *this;
}

Regex::~Regex() {
  if (code_) pcre2_code_free(code_);
  if (ascii_code_) pcre2_code_free(ascii_code_);
}

Matcher::Matcher() {
  context_ = pcre2_match_context_create(nullptr);
  if (!context_) throw std::bad_alloc();
  pcre2_set_match_limit(context_, limit_);
}

Matcher::~Matcher() {
  if (data_) pcre2_match_data_free(data_);
  if (jit_stack_) pcre2_jit_stack_free(jit_stack_);
  if (context_) pcre2_match_context_free(context_);
}

Result<bool> Matcher::match_briefly(const Regex& regex, std::string_view subject, Subject kind) {
  return backtrack(regex, subject, kind, kBriefLimit);
}

std::string_view Matcher::mark() const noexcept {
  if (!data_) return {};
  const PCRE2_SPTR name = pcre2_get_mark(data_);
  return name ? std::string_view(reinterpret_cast<const char*>(name)) : std::string_view();
}

Result<bool> Matcher::test(const Regex& regex, std::string_view subject, Subject kind) {
  auto found = backtrack(regex, subject, kind, kBriefLimit);
  if (found || found.error().code != Errc::ResourceExhausted) return found;
  return decide_by_dfa(regex, subject, kind);
}

Result<bool> Matcher::match(const Regex& regex, std::string_view subject, Subject kind) {
  auto found = backtrack(regex, subject, kind, kBriefLimit);
  if (found || found.error().code != Errc::ResourceExhausted) return found;
  // Only a match needs the slow search for its groups: the DFA rules out a miss in linear time.
  auto decided = decide_by_dfa(regex, subject, kind);
  if (!decided || !*decided) return decided;
  return backtrack(regex, subject, kind, kMatchLimit);
}

Result<bool> Matcher::decide_by_dfa(const Regex& regex, std::string_view subject, Subject kind) {
  if (dfa_workspace_.empty()) dfa_workspace_.resize(8192);
  const int rc = pcre2_dfa_match(regex.code_for(kind == Subject::Ascii),
                                 reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(), 0,
                                 kind == Subject::Unchecked ? 0 : PCRE2_NO_UTF_CHECK, data_,
                                 context_, dfa_workspace_.data(), dfa_workspace_.size());
  subject_ = {};
  if (rc >= 0) return true;
  if (rc == PCRE2_ERROR_NOMATCH) return false;
  // Patterns the DFA matcher cannot run (back references, ...) get the full backtracking budget.
  return backtrack(regex, subject, kind, kMatchLimit);
}

Result<bool> Matcher::backtrack(const Regex& regex, std::string_view subject, Subject kind,
                                std::uint32_t limit) {
  if (limit != limit_) pcre2_set_match_limit(context_, limit_ = limit);
  const std::uint32_t options = kind == Subject::Unchecked ? 0 : PCRE2_NO_UTF_CHECK;
  pcre2_code* code = regex.code_for(kind == Subject::Ascii);
  if (!data_ || pairs_ <= regex.captures_) {
    if (data_) pcre2_match_data_free(data_);
    pairs_ = std::max<std::uint32_t>(regex.captures_ + 1, 32);
    data_ = pcre2_match_data_create(pairs_, nullptr);
    if (!data_) throw std::bad_alloc();
  }
  subject_ = subject;
  int rc = pcre2_match(code, reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(), 0,
                       options, data_, context_);
  if (rc == PCRE2_ERROR_JIT_STACKLIMIT && !jit_stack_) {
    // The machine-stack default (32 KiB) suits almost every pattern; a larger one is mapped
    // only for the pattern that needs it.
    jit_stack_ = pcre2_jit_stack_create(32 * 1024, kJitStackMax, nullptr);
    if (!jit_stack_) throw std::bad_alloc();
    pcre2_jit_stack_assign(context_, nullptr, jit_stack_);
    rc = pcre2_match(code, reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(), 0, options,
                     data_, context_);
  }
  if (rc >= 0) return true;
  if (rc == PCRE2_ERROR_NOMATCH) return false;
  if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT || rc == PCRE2_ERROR_HEAPLIMIT ||
      rc == PCRE2_ERROR_JIT_STACKLIMIT)
    return fail(Errc::ResourceExhausted,
                "regular expression '" + regex.pattern_ +
                    "' gave up on a line after too much backtracking (" + pcre2_message(rc) +
                    "); simplify nested quantifiers such as (.*)* in the template");
  return fail(Errc::Library, "matching '" + regex.pattern_ + "' failed: " + pcre2_message(rc));
}

std::optional<std::string_view> Matcher::group(std::uint32_t number) const noexcept {
  if (!data_ || number >= pairs_) return std::nullopt;
  const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(data_);
  if (ovector[2 * number] == PCRE2_UNSET) return std::nullopt;
  return subject_.substr(ovector[2 * number], ovector[2 * number + 1] - ovector[2 * number]);
}

Regex Regex::literal(std::string_view python_pattern, Anchor anchor) {
  auto compiled = compile(python_pattern, anchor);
  if (!compiled) throw std::logic_error(compiled.error().message);
  return std::move(*compiled);
}

namespace {

// The subject as PCRE2 may read it: itself, or its repaired copy kept in `repaired`.
std::string_view checked_subject(std::string_view subject, std::string& repaired) {
  if (is_valid_utf8(subject)) return subject;
  repaired = to_valid_utf8(subject);
  return repaired;
}

}  // namespace

bool matches(const Regex& regex, std::string_view subject) {
  thread_local Matcher matcher;
  std::string repaired;
  const auto checked = checked_subject(subject, repaired);
  if (!regex.may_match(checked)) return false;
  auto matched = matcher.match(regex, checked, Matcher::Subject::ValidUtf8);
  return matched && *matched;
}

std::optional<std::vector<std::string>> match_groups(const Regex& regex, std::string_view subject) {
  thread_local Matcher matcher;
  std::string repaired;
  const auto checked = checked_subject(subject, repaired);
  if (!regex.may_match(checked)) return std::nullopt;
  auto matched = matcher.match(regex, checked, Matcher::Subject::ValidUtf8);
  if (!matched || !*matched) return std::nullopt;
  std::vector<std::string> groups;
  for (std::uint32_t n = 0; n <= regex.capture_count(); ++n)
    groups.emplace_back(matcher.group(n).value_or(std::string_view()));
  return groups;
}

}  // namespace nauto::text
