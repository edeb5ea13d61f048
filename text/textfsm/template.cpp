#include "nauto/text/textfsm/template.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <unordered_map>

namespace nauto::textfsm {

namespace {

constexpr std::size_t kMaxNameLength = 48;
// Substituted Values are renamed inside rule regexes: PCRE2 caps group names at 32 characters and
// ntc-templates uses longer Value names.
constexpr std::string_view kGroupPrefix = "tfsmv";

bool is_space(char c) noexcept {
  return c == ' ' || (c >= '\t' && c <= '\r') || (c >= '\x1c' && c <= '\x1f');
}

bool is_word(char c) noexcept {
  const auto u = static_cast<unsigned char>(c);
  return std::isalnum(u) || c == '_' || u >= 0x80;
}

std::string_view rstrip(std::string_view text) {
  while (!text.empty() && is_space(text.back()))
    text.remove_suffix(1);
  return text;
}

std::string_view strip(std::string_view text) {
  text = rstrip(text);
  while (!text.empty() && is_space(text.front()))
    text.remove_prefix(1);
  return text;
}

bool is_comment(std::string_view line) {
  const auto first = std::find_if_not(line.begin(), line.end(), is_space);
  return first != line.end() && *first == '#';
}

bool is_state_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), is_word);
}

// The template's lines, split the way Python reads a text file (\n, \r\n or \r).
class LineReader {
 public:
  explicit LineReader(std::string_view text) : text_(text) {}
  bool next(std::string_view& line) {
    if (position_ >= text_.size()) return false;
    const std::size_t end = text_.find_first_of("\r\n", position_);
    if (end == std::string_view::npos) {
      line = text_.substr(position_);
      position_ = text_.size();
    } else {
      line = text_.substr(position_, end - position_);
      position_ = end + 1;
      if (text_[end] == '\r' && position_ < text_.size() && text_[position_] == '\n') ++position_;
    }
    ++number_;
    return true;
  }
  int number() const noexcept { return number_; }

 private:
  std::string_view text_;
  std::size_t position_ = 0;
  int number_ = 0;
};

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t end = text.find(separator, start);
    if (end == std::string_view::npos) {
      parts.push_back(text.substr(start));
      return parts;
    }
    parts.push_back(text.substr(start, end - start));
    start = end + 1;
  }
}

Result<ValueOption> option_named(std::string_view name) {
  static constexpr std::array<std::pair<std::string_view, ValueOption>, 5> kOptions{{
      {"Required", ValueOption::Required},
      {"Filldown", ValueOption::Filldown},
      {"Fillup", ValueOption::Fillup},
      {"Key", ValueOption::Key},
      {"List", ValueOption::List},
  }};
  for (const auto& [known, option] : kOptions)
    if (known == name) return option;
  return fail(Errc::InvalidArgument, "unknown Value option '" + std::string(name) +
                                         "' (options are Filldown, Fillup, Key, List, Required, "
                                         "comma-separated without spaces)");
}

// `Value [Options] Name (regex)`; tokens are split on single spaces, as Python TextFSM does.
Result<ValueDefinition> parse_value(std::string_view line) {
  const auto tokens = split(line, ' ');
  if (tokens.size() < 3)
    return fail(Errc::InvalidArgument,
                "a Value line needs at least a name and a regex: Value [Options] Name (regex)");
  ValueDefinition value;
  std::size_t regex_from = 2;
  if (tokens[2].empty() || tokens[2].front() != '(') {
    for (const auto option_text : split(tokens[1], ',')) {
      auto option = option_named(option_text);
      if (!option) return std::move(option).error();
      if (value.has(*option))
        return fail(Errc::InvalidArgument, "option '" + std::string(option_text) + "' is repeated");
      value.options.push_back(*option);
    }
    value.name = std::string(tokens[2]);
    regex_from = 3;
  } else {
    value.name = std::string(tokens[1]);
  }
  for (std::size_t i = regex_from; i < tokens.size(); ++i) {
    if (i > regex_from) value.regex += ' ';
    value.regex += tokens[i];
  }
  if (value.name.size() > kMaxNameLength)
    return fail(Errc::InvalidArgument, "Value name '" + value.name + "' is longer than " +
                                           std::to_string(kMaxNameLength) + " characters");
  const auto opens = std::count(value.regex.begin(), value.regex.end(), '(');
  const auto closes = std::count(value.regex.begin(), value.regex.end(), ')');
  if (value.regex.size() < 2 || value.regex.front() != '(' || value.regex.back() != ')' ||
      opens != closes)
    return fail(Errc::InvalidArgument, "the regex of Value '" + value.name + "' (" + value.regex +
                                           ") must be one group: start with '(', end with ')', "
                                           "and balance its parentheses");
  if (value.has(ValueOption::List)) {
    auto regex = Regex::compile(value.regex);
    if (!regex) return std::move(regex).error();
    if (regex->capture_count() > 1) value.item_regex = std::move(*regex);
  }
  return value;
}

// Replaces ${Name} and $Name by the Value's regex as a named group, and $$ by $: Python's
// string.Template rules, so a lone '$' (say an end-of-line anchor) must be written '$$'.
Result<std::string> substitute(std::string_view match,
                               const std::unordered_map<std::string_view, std::size_t>& by_name,
                               const std::vector<ValueDefinition>& values) {
  std::string out;
  out.reserve(match.size() * 2);
  auto identifier_length = [&](std::size_t at) {
    std::size_t end = at;
    if (end < match.size() &&
        (std::isalpha(static_cast<unsigned char>(match[end])) || match[end] == '_')) {
      ++end;
      while (end < match.size() &&
             (std::isalnum(static_cast<unsigned char>(match[end])) || match[end] == '_'))
        ++end;
    }
    return end - at;
  };
  for (std::size_t i = 0; i < match.size(); ++i) {
    if (match[i] != '$') {
      out += match[i];
      continue;
    }
    if (i + 1 < match.size() && match[i + 1] == '$') {
      out += '$';
      ++i;
      continue;
    }
    std::string_view name;
    std::size_t consumed = 0;
    if (const std::size_t length = identifier_length(i + 1); length > 0) {
      name = match.substr(i + 1, length);
      consumed = length;
    } else if (i + 1 < match.size() && match[i + 1] == '{') {
      const std::size_t length = identifier_length(i + 2);
      if (length > 0 && i + 2 + length < match.size() && match[i + 2 + length] == '}') {
        name = match.substr(i + 2, length);
        consumed = length + 2;
      }
    }
    if (name.empty())
      return fail(Errc::InvalidArgument,
                  "'$' at column " + std::to_string(i + 1) +
                      " is neither ${Value} nor $$; write an end-of-line anchor as $$");
    const auto found = by_name.find(name);
    if (found == by_name.end())
      return fail(Errc::InvalidArgument,
                  "${" + std::string(name) + "} names no Value declared in this template");
    const auto& value = values[found->second];
    out += "(?P<";
    out += kGroupPrefix;
    out += std::to_string(found->second);
    out += '>';
    out.append(value.regex, 1);
    i += consumed;
  }
  return out;
}

// The three action forms Python TextFSM accepts after `->`, tried in order.
struct ActionGrammar {
  Regex full;         // LineAction[.RecordAction] [NewState]
  Regex record_only;  // RecordAction [NewState]
  Regex state_only;   // [NewState]
};

const ActionGrammar& action_grammar() {
  static const ActionGrammar grammar = [] {
    const std::string line_action = "(?P<line>Continue|Next|Error)";
    const std::string record_action = "(?P<record>Clear|Clearall|Record|NoRecord)";
    const std::string new_state = "(?P<state>\\w+|\".*\")";
    auto make = [](const std::string& pattern) { return Regex::compile(pattern).value(); };
    return ActionGrammar{
        make("\\s+" + line_action + "(\\." + record_action + ")?(\\s+" + new_state + ")?$"),
        make("\\s+" + record_action + "(\\s+" + new_state + ")?$"),
        make("(\\s+" + new_state + ")?$"),
    };
  }();
  return grammar;
}

std::optional<std::string_view> named_group(const Matcher& matcher, const Regex& regex,
                                            std::string_view name) {
  for (const auto& [group_name, number] : regex.named_groups())
    if (group_name == name) return matcher.group(number);
  return std::nullopt;
}

struct ParsedRule {
  Rule rule;
  std::string new_state;
};

Result<ParsedRule> parse_rule(std::string_view line,
                              const std::unordered_map<std::string_view, std::size_t>& by_name,
                              const std::vector<ValueDefinition>& values) {
  line = strip(line);
  // `regex -> action`: the last whitespace-then-arrow splits them, as Python's greedy match does.
  std::string_view match = line;
  std::optional<std::string_view> action;
  for (std::size_t p = line.size() >= 3 ? line.size() - 2 : 0; p-- > 0;) {
    if (is_space(line[p]) && line.compare(p + 1, 2, "->") == 0) {
      match = line.substr(0, p);
      action = line.substr(p + 3);
      break;
    }
  }
  auto regex_text = substitute(match, by_name, values);
  if (!regex_text) return std::move(regex_text).error();
  auto regex = Regex::compile(*regex_text);
  if (!regex) return std::move(regex).error();
  ParsedRule parsed{Rule(std::move(*regex)), {}};
  Rule& rule = parsed.rule;
  for (const auto& [name, number] : rule.regex.named_groups()) {
    std::optional<std::uint32_t> value;
    if (name.starts_with(kGroupPrefix)) {
      std::uint32_t index = 0;
      const char* begin = name.data() + kGroupPrefix.size();
      const auto [end, error] = std::from_chars(begin, name.data() + name.size(), index);
      if (error == std::errc() && end == name.data() + name.size() && index < values.size())
        value = index;
    }
    if (!value)
      if (const auto found = by_name.find(name); found != by_name.end())
        value = static_cast<std::uint32_t>(found->second);
    if (value) rule.assignments.push_back({number, *value});
  }
  if (!action) return parsed;

  const auto& grammar = action_grammar();
  Matcher matcher;
  const Regex* form = nullptr;
  for (const Regex* candidate : {&grammar.full, &grammar.record_only, &grammar.state_only}) {
    auto matched = matcher.match(*candidate, *action);
    if (matched && *matched) {
      form = candidate;
      break;
    }
  }
  if (!form)
    return fail(Errc::InvalidArgument,
                "cannot read the action '" + std::string(*action) +
                    "': expected [Next|Continue|Error][.Record|.NoRecord|.Clear|.Clearall] "
                    "[NewState]");
  if (const auto text = named_group(matcher, *form, "line")) {
    if (*text == "Continue") rule.line_action = LineAction::Continue;
    if (*text == "Error") rule.line_action = LineAction::Error;
  }
  if (const auto text = named_group(matcher, *form, "record")) {
    if (*text == "Record") rule.record_action = RecordAction::Record;
    if (*text == "Clear") rule.record_action = RecordAction::Clear;
    if (*text == "Clearall") rule.record_action = RecordAction::Clearall;
  }
  if (const auto text = named_group(matcher, *form, "state"); text && !text->empty()) {
    if (rule.line_action == LineAction::Continue)
      return fail(Errc::InvalidArgument,
                  "Continue cannot change state (it would re-read the line in '" +
                      std::string(*text) + "'); use Next to move on");
    if (rule.line_action == LineAction::Error) {
      rule.error_message = std::string(*text);
    } else {
      if (!is_word(text->front()))
        return fail(Errc::InvalidArgument, "state name " + std::string(*text) +
                                               " must be letters, digits and underscores");
      parsed.new_state = std::string(*text);
    }
  }
  return parsed;
}

Error at_line(Error error, const std::string& source, int line) {
  error.where = source + ":" + std::to_string(line);
  return error;
}

}  // namespace

bool ValueDefinition::has(ValueOption option) const noexcept {
  return std::find(options.begin(), options.end(), option) != options.end();
}

std::vector<std::string> Template::header() const {
  std::vector<std::string> names;
  names.reserve(values_.size());
  for (const auto& value : values_)
    names.push_back(value.name);
  return names;
}

std::vector<std::string> Template::keys() const {
  std::vector<std::string> names;
  for (const auto& value : values_)
    if (value.has(ValueOption::Key)) names.push_back(value.name);
  return names;
}

Result<Template> Template::compile(std::string_view text, std::string source) {
  Template compiled;
  compiled.source_ = std::move(source);
  const std::string& where = compiled.source_;
  auto error_at = [&](int line, std::string message) {
    return fail(Errc::InvalidArgument, std::move(message), where + ":" + std::to_string(line));
  };
  LineReader reader(text);
  std::string_view raw;
  std::unordered_map<std::string_view, std::size_t> by_name;

  // Values: a block at the top, ended by the first blank line.
  while (reader.next(raw)) {
    const auto line = rstrip(raw);
    if (line.empty()) break;
    if (is_comment(line)) continue;
    if (!line.starts_with("Value ")) {
      if (compiled.values_.empty())
        return error_at(reader.number(),
                        "expected 'Value [Options] Name (regex)' lines at the top of the template");
      return error_at(reader.number(),
                      "expected a blank line after the last Value, before the first state");
    }
    auto value = parse_value(line);
    if (!value) return at_line(std::move(value).error(), where, reader.number());
    for (const auto& existing : compiled.values_)
      if (existing.name == value->name)
        return error_at(reader.number(), "Value '" + value->name + "' is declared twice");
    value->line = reader.number();
    compiled.values_.push_back(std::move(*value));
  }
  for (std::size_t i = 0; i < compiled.values_.size(); ++i)
    by_name.emplace(compiled.values_[i].name, i);

  // States: a name on its own line, then indented `^rule` lines, ended by a blank line.
  std::vector<std::vector<std::string>> new_states;  // per state, per rule
  std::vector<std::string> names;
  while (true) {
    std::string_view name;
    while (reader.next(raw)) {
      const auto line = rstrip(raw);
      if (line.empty() || is_comment(line)) continue;
      if (!is_state_name(line) || line.size() > kMaxNameLength || line == "Continue" ||
          line == "Next" || line == "Error" || line == "Clear" || line == "Clearall" ||
          line == "Record" || line == "NoRecord")
        return error_at(reader.number(),
                        "'" + std::string(line) +
                            "' is not a state name (letters, digits, underscores; up to 48; not "
                            "an action word) and not an indented ^rule");
      if (std::find(names.begin(), names.end(), line) != names.end())
        return error_at(reader.number(), "state '" + std::string(line) + "' is defined twice");
      name = line;
      break;
    }
    if (name.empty()) break;
    names.emplace_back(name);
    State state;
    state.name = std::string(name);
    std::vector<std::string> targets;
    const int name_line = reader.number();
    while (reader.next(raw)) {
      const auto line = rstrip(raw);
      if (line.empty()) break;
      if (is_comment(line)) continue;
      if (!line.starts_with(" ^") && !line.starts_with("  ^") && !line.starts_with("\t^"))
        return error_at(reader.number(),
                        "a rule must start with one or two spaces or a tab, then '^'");
      auto rule = parse_rule(line, by_name, compiled.values_);
      if (!rule) return at_line(std::move(rule).error(), where, reader.number());
      rule->rule.line = reader.number();
      state.rules.push_back(std::move(rule->rule));
      targets.push_back(std::move(rule->new_state));
    }
    if (state.name == "End" || state.name == "EOF") {
      if (!state.rules.empty())
        return error_at(name_line, "the '" + state.name + "' state must have no rules");
      if (state.name == "EOF") compiled.declares_eof_ = true;
      continue;  // reserved states are never entered as states
    }
    // After a Continue rule matches, the rules after it are tried one by one: on ASCII lines,
    // without Unicode properties, like the alternation.
    bool after_continue = false;
    for (Rule& rule : state.rules) {
      if (after_continue) rule.regex.add_ascii_variant();
      after_continue = after_continue || rule.line_action == LineAction::Continue;
    }
    if (state.rules.size() > 1) {
      std::vector<const Regex*> alternatives;
      for (const Rule& rule : state.rules)
        alternatives.push_back(&rule.regex);
      if (auto combined = Regex::alternation(alternatives, state.group_offsets))
        state.rules_at_once = std::move(*combined);
    }
    compiled.states_.push_back(std::move(state));
    new_states.push_back(std::move(targets));
  }

  const auto start = std::find_if(compiled.states_.begin(), compiled.states_.end(),
                                  [](const State& s) { return s.name == "Start"; });
  if (start == compiled.states_.end())
    return fail(Errc::InvalidArgument, "the template has no 'Start' state", where);
  compiled.start_ = static_cast<int>(start - compiled.states_.begin());
  for (std::size_t s = 0; s < compiled.states_.size(); ++s) {
    for (std::size_t r = 0; r < compiled.states_[s].rules.size(); ++r) {
      const std::string& target = new_states[s][r];
      Rule& rule = compiled.states_[s].rules[r];
      if (target.empty()) continue;
      if (target == "End") {
        rule.transition.state = Transition::kEnd;
      } else if (target == "EOF") {
        rule.transition.state = Transition::kEof;
      } else {
        const auto found =
            std::find_if(compiled.states_.begin(), compiled.states_.end(),
                         [&](const State& candidate) { return candidate.name == target; });
        if (found == compiled.states_.end())
          return error_at(rule.line, "state '" + target + "' is not defined in this template");
        rule.transition.state = static_cast<int>(found - compiled.states_.begin());
      }
    }
  }
  return compiled;
}

}  // namespace nauto::textfsm
