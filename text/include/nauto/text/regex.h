#pragma once
// Regex: the one regex engine of nauto — PCRE2 with the meaning Python's `re` gives a pattern,
// because TextFSM templates (and most network engineers' patterns) are written against Python.
// A pattern matches at the start of the subject (`re.match`), anywhere (`re.search`) or as the
// whole subject (`re.fullmatch`), and every match is bounded by PCRE2's match limit so a
// pathological pattern fails with an error instead of hanging.
#include <nauto/base/result.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

struct pcre2_real_code_8;
struct pcre2_real_match_data_8;
struct pcre2_real_match_context_8;
struct pcre2_real_jit_stack_8;

namespace nauto::text {

/// Rewrites the Python `re` constructs that PCRE2 10.42 reads differently: `{,n}` (Python: zero to
/// n times; PCRE2: the literal text), `\Z` (Python: end of subject only) and a `[` inside a
/// character class (Python: a literal; PCRE2: maybe the start of `[:alpha:]`).
std::string python_to_pcre2(std::string_view python_pattern);

/// True when `text` is well-formed UTF-8.
bool is_valid_utf8(std::string_view text) noexcept;
/// True when every byte of `text` is below 0x80 (plain ASCII, so valid UTF-8 too).
bool is_ascii(std::string_view text) noexcept;
/// `text` with each ill-formed UTF-8 sequence replaced by U+FFFD, as Python decodes with
/// errors="replace": device output is not always clean, and patterns run in UTF mode.
std::string to_valid_utf8(std::string_view text);

/// A compiled, JIT-translated pattern. Unicode-aware (UTF-8 subjects, `\w` `\d` `\s` by Unicode
/// properties, like Python 3 `str` patterns). Immutable once compiled, so shared across threads.
/// An alternation (the hot path of a TextFSM parse) whose meaning Unicode properties change
/// (`\d \s \w \b` and their negations) is also compiled without them, for subjects known to be
/// ASCII: there both give the same matches, and the property lookups cost a fifth of the time.
class Regex {
 public:
  enum class Anchor : std::uint8_t { AtStart, Anywhere, Whole };

  /// Compiles a Python-syntax pattern. The error says what and where (the PCRE2 message and the
  /// offset in `python_pattern`).
  static Result<Regex> compile(std::string_view python_pattern, Anchor anchor = Anchor::AtStart);
  /// Patterns tried in order as one, each anchored at the start (a TextFSM state's rules): the
  /// first one that matches wins, as trying each in turn would, and Matcher::mark() then names
  /// it ("0", "1", ...). Alternative i's group g is group `group_offsets[i] + g` of the whole.
  /// Errc::Unsupported when an alternative refers to a group by number or name (\1, (?P=x)),
  /// which the renumbering would break.
  static Result<Regex> alternation(const std::vector<const Regex*>& alternatives,
                                   std::vector<std::uint32_t>& group_offsets);
  /// Also compiles the pattern without Unicode properties, for subjects known to be ASCII (as
  /// alternation() does), when that changes its meaning; for a pattern matched on a hot path.
  /// Anchor::AtStart patterns only. Not thread-safe: call before the regex is shared.
  void add_ascii_variant();
  /// A pattern written in our own source (a literal, typically held in a function-local
  /// static): one that does not compile is a bug, so it throws std::logic_error.
  static Regex literal(std::string_view python_pattern, Anchor anchor);

  Regex(Regex&& other) noexcept;
  Regex& operator=(Regex&& other) noexcept;
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;
  ~Regex();

  /// Number of capturing groups, named or not.
  std::uint32_t capture_count() const noexcept { return captures_; }
  /// Named groups and their numbers, in group-number order (Python's groupdict() order).
  const std::vector<std::pair<std::string, std::uint32_t>>& named_groups() const noexcept {
    return names_;
  }
  /// The pattern as written (Python syntax).
  const std::string& pattern() const noexcept { return pattern_; }
  /// A cheap necessary condition for a match at the start of `subject`: long enough, and a first
  /// byte the pattern can start with. False means no match; true means try the regex.
  bool may_match(std::string_view subject) const noexcept {
    if (subject.size() < min_length_) return false;
    if (subject.empty() || !has_first_bytes_) return true;
    const auto first = static_cast<unsigned char>(subject.front());
    return (first_bytes_[first / 8] >> (first % 8)) & 1;
  }

 private:
  friend class Matcher;
  Regex() = default;
  static Result<Regex> compile_translated(std::string translated, std::string python_pattern,
                                          Anchor anchor, std::uint32_t extra_options,
                                          bool ascii_variant);
  static void learn_first_bytes(Regex& regex, std::string_view translated);
  // The code for a subject of this kind: the ASCII variant when there is one.
  pcre2_real_code_8* code_for(bool ascii_subject) const noexcept {
    return ascii_subject && ascii_code_ ? ascii_code_ : code_;
  }
  pcre2_real_code_8* code_ = nullptr;
  pcre2_real_code_8* ascii_code_ = nullptr;  // without PCRE2_UCP; null when it would not differ
  std::uint32_t captures_ = 0;
  std::vector<std::pair<std::string, std::uint32_t>> names_;
  std::string pattern_;
  std::uint32_t min_length_ = 0;  // in characters, so never more than the bytes of a match
  bool has_first_bytes_ = false;
  std::uint8_t first_bytes_[32] = {};
};

/// Scratch space for matching: match offsets, the match limit and a JIT stack. One per thread
/// (a parse); reused for every line so a parse allocates nothing per match.
class Matcher {
 public:
  /// Upper bound on the work of one match, in PCRE2 backtracking steps: about 0.2 s of a
  /// catastrophic pattern such as `(\s*-*)*` (which ntc-templates has, and which Python needs
  /// 0.75 s for on a line of 23 spaces), far below the hours it would try on a longer line.
  static constexpr std::uint32_t kMatchLimit = 100'000'000;
  /// The budget of a first try: a few microseconds. Past it, PCRE2's DFA matcher decides
  /// whether there is a match at all (in time linear in the subject), and only a match is
  /// searched again with the full budget for its groups.
  static constexpr std::uint32_t kBriefLimit = 10'000;

  Matcher();
  Matcher(const Matcher&) = delete;
  Matcher& operator=(const Matcher&) = delete;
  ~Matcher();

  /// Whether the subject is known to be valid UTF-8 (is_valid_utf8) or plain ASCII (is_ascii);
  /// unchecked subjects are checked by PCRE2 on every match, which costs a pass over the line
  /// per rule. An ASCII subject is matched by the pattern's ASCII variant.
  enum class Subject : std::uint8_t { Unchecked, ValidUtf8, Ascii };

  /// Whether `regex` matches `subject`, with its groups; Errc::ResourceExhausted when even the
  /// full budget (kMatchLimit) could not find the match the DFA matcher saw.
  Result<bool> match(const Regex& regex, std::string_view subject,
                     Subject kind = Subject::Unchecked);
  /// Whether `regex` matches, for callers that need no groups (group() is unset afterwards).
  /// Tries backtracking with a small budget first, then PCRE2's DFA matcher, which follows all
  /// alternatives at once and so stays polynomial where nested quantifiers blow backtracking up.
  Result<bool> test(const Regex& regex, std::string_view subject,
                    Subject kind = Subject::Unchecked);
  /// Like match(), with a small backtracking budget (Errc::ResourceExhausted past it): for a
  /// fast path that has a slower, exact one to fall back to.
  Result<bool> match_briefly(const Regex& regex, std::string_view subject, Subject kind);
  /// The (*MARK) the last successful match passed last (Regex::alternation's index); "" if none.
  std::string_view mark() const noexcept;
  /// Group `number` of the last successful match; nullopt when it did not take part.
  std::optional<std::string_view> group(std::uint32_t number) const noexcept;

 private:
  Result<bool> backtrack(const Regex& regex, std::string_view subject, Subject kind,
                         std::uint32_t limit);
  Result<bool> decide_by_dfa(const Regex& regex, std::string_view subject, Subject kind);
  pcre2_real_match_data_8* data_ = nullptr;
  pcre2_real_match_context_8* context_ = nullptr;
  pcre2_real_jit_stack_8* jit_stack_ = nullptr;
  std::uint32_t pairs_ = 0;
  std::uint32_t limit_ = kMatchLimit;  // the context's match limit now
  std::string_view subject_;
  std::vector<int> dfa_workspace_;
};

/// For callers outside a parse loop (prompts, config lines, shell input), on a thread-local
/// Matcher: whether `regex` matches `subject` (by its own Anchor). A subject that is not valid
/// UTF-8 is matched as to_valid_utf8() repairs it; a match that hits the match limit is no match.
bool matches(const Regex& regex, std::string_view subject);
/// Like matches(), with the groups: [0] the whole match, then each group in number order (empty
/// when it did not take part); nullopt when there is no match.
std::optional<std::vector<std::string>> match_groups(const Regex& regex, std::string_view subject);

}  // namespace nauto::text
