#pragma once
// Template: a TextFSM template, read and compiled once, then used by any number of parses at once
// (it is immutable). The template language is Python TextFSM's, reproduced rule for rule because
// the ntc-templates corpus is written against it; see docs/parsing.md.
#include <nauto/base/result.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "nauto/text/regex.h"

namespace nauto::textfsm {

// TextFSM patterns are compiled by the one regex engine (PCRE2 with Python `re` meaning).
using text::Matcher;
using text::Regex;

enum class ValueOption : std::uint8_t { Required, Filldown, Fillup, Key, List };

/// One `Value [Options] Name (regex)` line. Options act in the order written: `Required,List`
/// tests the last matched text, `List,Required` the list.
struct ValueDefinition {
  std::string name;
  std::string regex;  ///< as written, Python syntax, with its outer parentheses
  std::vector<ValueOption> options;
  /// For List values whose regex has more than one group: the regex itself, matched against each
  /// captured text to turn it into a map of its named groups.
  std::optional<Regex> item_regex;
  int line = 0;

  bool has(ValueOption option) const noexcept;
};

enum class LineAction : std::uint8_t { Next, Continue, Error };
enum class RecordAction : std::uint8_t { NoRecord, Record, Clear, Clearall };

/// Where a rule sends the machine: a state by index, or one of the two reserved endings.
struct Transition {
  static constexpr int kStay = -1;
  static constexpr int kEnd = -2;
  static constexpr int kEof = -3;
  int state = kStay;
};

/// Which Value a capture group of a rule fills.
struct Assignment {
  std::uint32_t group = 0;
  std::uint32_t value = 0;
};

/// One `^regex -> Action NewState` line of a state.
struct Rule {
  explicit Rule(Regex compiled) : regex(std::move(compiled)) {}

  Regex regex;  ///< after ${Value} substitution, anchored at the line start
  LineAction line_action = LineAction::Next;
  RecordAction record_action = RecordAction::NoRecord;
  Transition transition;
  std::string error_message;            ///< the text after `Error`, as written (quotes kept)
  std::vector<Assignment> assignments;  ///< in group order
  int line = 0;
};

struct State {
  std::string name;
  std::vector<Rule> rules;
  /// The rules as one PCRE2 alternation (Regex::alternation), so a line costs one match call
  /// instead of one per rule; absent for a single rule, or rules that refer to their own groups
  /// (\1): those are tried one by one, which gives the same result.
  std::optional<Regex> rules_at_once;
  std::vector<std::uint32_t> group_offsets;  ///< rule i's group g is rules_at_once's g + [i]
};

class Template {
 public:
  /// Reads a template. `source` names it in errors, which read `source:line: what is wrong`.
  static Result<Template> compile(std::string_view text, std::string source);

  const std::string& source() const noexcept { return source_; }
  const std::vector<ValueDefinition>& values() const noexcept { return values_; }
  /// States in the order written, without `End` (it has no rules and is never entered).
  const std::vector<State>& states() const noexcept { return states_; }
  int start_state() const noexcept { return start_; }
  /// An explicit (empty) `EOF` state suppresses the record Python TextFSM adds at end of input.
  bool declares_eof() const noexcept { return declares_eof_; }
  /// Value names, in declaration order: the header of every parse.
  std::vector<std::string> header() const;
  /// Names of the Values marked Key.
  std::vector<std::string> keys() const;

 private:
  std::string source_;
  std::vector<ValueDefinition> values_;
  std::vector<State> states_;
  int start_ = 0;
  bool declares_eof_ = false;
};

}  // namespace nauto::textfsm
