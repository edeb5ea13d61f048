#include "nauto/text/textfsm/parser.h"

#include <algorithm>

namespace nauto::textfsm {

namespace {

// The working state of one Value during a parse, mirroring Python TextFSM's objects: `kind` with
// `text` or `list` is value.value (None, the matched text, or the list a record just took),
// `filldown` the Filldown option's memory, `items` the List option's accumulating list.
struct ValueState {
  enum class Kind : std::uint8_t { None, Text, List };
  Kind kind = Kind::None;
  std::string text;
  std::vector<ListItem> list;
  std::optional<std::string> filldown;
  std::vector<ListItem> items;

  bool is_set() const noexcept {
    return (kind == Kind::Text && !text.empty()) || (kind == Kind::List && !list.empty());
  }
};

class Run {
 public:
  Run(const Template& fsm, const ParseLimits& limits, Matcher& matcher, Matcher& item_matcher,
      Matcher::Subject subject)
      : fsm_(fsm),
        subject_(subject),
        matcher_(matcher),
        item_matcher_(item_matcher),
        values_(fsm.values().size()),
        deadline_(std::chrono::steady_clock::now() + limits.time_budget),
        budget_(limits.time_budget) {}

  Result<Table> execute(std::string_view text) {
    const State* state = &fsm_.states()[fsm_.start_state()];
    int ending = Transition::kStay;
    Result<void> outcome;
    for_each_line(text, [&](std::string_view line) {
      ++line_number_;
      // The clock every 8 lines (reading it per line cost 2% of a parse); a line is bounded by
      // the match limit, so the budget is overrun by at most a few lines' worth.
      if ((line_number_ & 7) == 0 && std::chrono::steady_clock::now() > deadline_) {
        outcome = fail(Errc::ResourceExhausted,
                       "parsing took longer than " + std::to_string(budget_.count()) +
                           " ms; stopped at input line " + std::to_string(line_number_),
                       fsm_.source());
        return false;
      }
      outcome = check_line(state, ending, line);
      return outcome.has_value() && ending == Transition::kStay;
    });
    if (!outcome) return std::move(outcome).error();
    if (ending != Transition::kEnd && !fsm_.declares_eof()) append_record();
    return Table{fsm_.header(), std::move(result_)};
  }

 private:
  Result<void> check_line(const State*& state, int& ending, std::string_view line) {
    std::size_t next = 0;
    if (const auto& all = state->rules_at_once) {
      // One match call for the whole state finds the first rule that matches. When it runs out
      // of its small budget (or fails otherwise), the rules are tried one by one below, each
      // with the full budget and the DFA fallback, which also words any error.
      if (!all->may_match(line)) return ok();
      if (auto matched = matcher_.match_briefly(*all, line, subject_)) {
        if (!*matched) return ok();
        const auto index = rule_index(matcher_.mark());
        auto finished =
            apply(state->rules[index], state->group_offsets[index], state, ending, line);
        if (!finished || *finished) return finished ? ok() : Result<void>(finished.error());
        next = index + 1;  // a Continue rule: the line goes on to the rules after it
      }
    }
    for (; next < state->rules.size(); ++next) {
      const Rule& rule = state->rules[next];
      if (!rule.regex.may_match(line)) continue;
      auto matched = rule.assignments.empty() ? matcher_.test(rule.regex, line, subject_)
                                              : matcher_.match(rule.regex, line, subject_);
      if (!matched)
        return fail(matched.error().code,
                    matched.error().message + " (input line " + std::to_string(line_number_) + ")",
                    fsm_.source() + ":" + std::to_string(rule.line));
      if (!*matched) continue;
      auto finished = apply(rule, 0, state, ending, line);
      if (!finished) return std::move(finished).error();
      if (*finished) break;
    }
    return ok();
  }

  static std::size_t rule_index(std::string_view mark) {
    std::size_t index = 0;
    for (const char c : mark)
      index = index * 10 + static_cast<std::size_t>(c - '0');
    return index;
  }

  // A rule matched `line` (its groups are the matcher's, from `group_offset` on): assigns,
  // records, moves. True when the line is finished, false for a Continue rule.
  Result<bool> apply(const Rule& rule, std::uint32_t group_offset, const State*& state, int& ending,
                     std::string_view line) {
    for (const auto& assignment : rule.assignments)
      if (auto assigned = assign(assignment.value, matcher_.group(group_offset + assignment.group));
          !assigned)
        return std::move(assigned).error();
    switch (rule.record_action) {
      case RecordAction::Record:
        append_record();
        break;
      case RecordAction::Clear:
        clear_record();
        break;
      case RecordAction::Clearall:
        clear_all();
        break;
      case RecordAction::NoRecord:
        break;
    }
    if (rule.line_action == LineAction::Error) {
      const std::string what = rule.error_message.empty()
                                   ? "the template rejected this input"
                                   : "the template rejected this input: " + rule.error_message;
      return fail(Errc::InvalidArgument,
                  what + " (input line " + std::to_string(line_number_) + ": '" +
                      std::string(line.substr(0, 200)) + "')",
                  fsm_.source() + ":" + std::to_string(rule.line));
    }
    if (rule.line_action == LineAction::Continue) return false;
    if (rule.transition.state >= 0) {
      state = &fsm_.states()[rule.transition.state];
    } else if (rule.transition.state != Transition::kStay) {
      ending = rule.transition.state;
    }
    return true;
  }

  // Python's TextFSMValue.AssignVar and its options' OnAssignVar, in option order.
  Result<void> assign(std::uint32_t index, std::optional<std::string_view> matched) {
    const ValueDefinition& definition = fsm_.values()[index];
    ValueState& value = values_[index];
    value.kind = matched ? ValueState::Kind::Text : ValueState::Kind::None;
    value.text.assign(matched ? *matched : std::string_view{});
    for (const ValueOption option : definition.options) {
      switch (option) {
        case ValueOption::Filldown:
          if (!matched)
            value.filldown.reset();
          else if (value.filldown)
            value.filldown->assign(value.text);  // in place: keeps its buffer
          else
            value.filldown.emplace(value.text);
          break;
        case ValueOption::Fillup:
          if (value.is_set()) {
            for (auto row = result_.rbegin(); row != result_.rend(); ++row) {
              if (is_set((*row)[index])) break;
              (*row)[index] = value.text;
            }
          }
          break;
        case ValueOption::List: {
          auto item = list_item(definition, matched);
          if (!item) return std::move(item).error();
          value.items.push_back(std::move(*item));
          break;
        }
        case ValueOption::Required:
        case ValueOption::Key:
          break;
      }
    }
    return ok();
  }

  Result<ListItem> list_item(const ValueDefinition& definition,
                             std::optional<std::string_view> matched) {
    ListItem item;
    if (matched) item.text = std::string(*matched);
    if (!matched || !definition.item_regex || definition.item_regex->named_groups().empty())
      return item;
    auto found = item_matcher_.match(*definition.item_regex, *matched, subject_);
    if (!found) return std::move(found).error();
    if (!*found) return item;
    item.is_map = true;
    item.text.reset();
    for (const auto& [name, number] : definition.item_regex->named_groups()) {
      const auto group = item_matcher_.group(number);
      item.groups.emplace_back(name, group ? std::optional<std::string>(*group) : std::nullopt);
    }
    return item;
  }

  // Python's ClearVar: non-Filldown values forget; Filldown values return to their last match.
  void clear_record() {
    for (std::size_t i = 0; i < values_.size(); ++i) {
      ValueState& value = values_[i];
      value.kind = ValueState::Kind::None;
      for (const ValueOption option : fsm_.values()[i].options) {
        if (option == ValueOption::Filldown && value.filldown) {
          value.kind = ValueState::Kind::Text;
          value.text = *value.filldown;
        }
        if (option == ValueOption::List && !fsm_.values()[i].has(ValueOption::Filldown))
          value.items.clear();
      }
    }
  }

  void clear_all() {
    for (ValueState& value : values_) {
      value.kind = ValueState::Kind::None;
      value.filldown.reset();
      value.items.clear();
    }
  }

  // Python's _AppendRecord: Required values veto the record, an all-empty record is dropped
  // (and, as in Python, nothing is cleared then).
  void append_record() {
    if (values_.empty()) return;
    for (std::size_t i = 0; i < values_.size(); ++i) {
      ValueState& value = values_[i];
      for (const ValueOption option : fsm_.values()[i].options) {
        if (option == ValueOption::Required && !value.is_set()) {
          clear_record();
          return;
        }
        if (option == ValueOption::List) {
          value.kind = ValueState::Kind::List;
          value.list = value.items;
        }
      }
    }
    const bool empty = std::all_of(values_.begin(), values_.end(), [](const ValueState& v) {
      return v.kind == ValueState::Kind::None ||
             (v.kind == ValueState::Kind::List && v.list.empty());
    });
    if (empty) return;
    std::vector<Cell> row;
    row.reserve(values_.size());
    for (std::size_t i = 0; i < values_.size(); ++i) {
      ValueState& value = values_[i];
      if (value.kind == ValueState::Kind::List)
        row.emplace_back(value.list);
      else if (value.kind != ValueState::Kind::Text)
        row.emplace_back(std::string());
      else if (fsm_.values()[i].has(ValueOption::Filldown))
        row.emplace_back(value.text);
      else
        row.emplace_back(std::move(value.text));  // clear_record() below forgets it anyway
    }
    result_.push_back(std::move(row));
    clear_record();
  }

  const Template& fsm_;
  const Matcher::Subject subject_;  // every line of the text is ASCII, or valid UTF-8
  Matcher& matcher_;
  Matcher& item_matcher_;
  std::vector<ValueState> values_;
  std::vector<std::vector<Cell>> result_;
  std::size_t line_number_ = 0;
  std::chrono::steady_clock::time_point deadline_;
  std::chrono::milliseconds budget_;
};

}  // namespace

Result<Table> parse(const Template& fsm, std::string_view text, const ParseLimits& limits) {
  // Match scratch space is per thread, not per parse: creating it costs more than a short parse.
  thread_local Matcher matcher;
  thread_local Matcher item_matcher;
  using Subject = Matcher::Subject;
  if (text::is_ascii(text))
    return Run(fsm, limits, matcher, item_matcher, Subject::Ascii).execute(text);
  if (!text::is_valid_utf8(text))
    return Run(fsm, limits, matcher, item_matcher, Subject::ValidUtf8)
        .execute(text::to_valid_utf8(text));
  return Run(fsm, limits, matcher, item_matcher, Subject::ValidUtf8).execute(text);
}

}  // namespace nauto::textfsm
