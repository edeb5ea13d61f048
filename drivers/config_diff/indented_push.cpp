#include "nauto/drivers/indented_push.h"

namespace nauto::drivers {

std::vector<std::string> split_lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
    start = end + 1;
  }
  return lines;
}

Result<PushResult> push_indented_config(const ConfigDiff& diff, const ConfigPush& push,
                                        const IndentedConfigAccess& access) {
  auto before = access.read_running();
  if (!before) return std::move(before).error();
  PushResult result;
  result.snapshot = *before;
  auto current = diff.parse(*before);
  auto given = diff.parse(push.text);
  ConfigTree predicted;
  if (push.mode == PushMode::Replace) {
    result.commands = diff.commands(current, given);
    predicted = given;
  } else {
    result.commands = split_lines_of(push.text);
    predicted = diff.merge(current, given);
  }
  auto before_text = ConfigDiff::render(current);
  result.before = before_text;
  if (push.dry_run) {
    result.after = ConfigDiff::render(predicted);
    result.diff = unified_diff(before_text, result.after, "running", "intended");
    result.changed = !result.diff.empty();
    return result;
  }
  if (result.commands.empty()) {
    // Nothing to change; a save asked for still happens (a save-only push).
    if (push.save && access.save) {
      if (auto saved = access.save(); !saved) return std::move(saved).error();
    }
    return result;
  }
  if (auto applied = access.apply(result.commands); !applied) return std::move(applied).error();
  auto after = access.read_running();
  if (!after) return std::move(after).error();
  result.after = diff.normalize(*after);
  result.diff = unified_diff(before_text, result.after, "running (before)", "running (after)");
  result.changed = !result.diff.empty();
  if (push.save && access.save) {
    if (auto saved = access.save(); !saved) return std::move(saved).error();
  }
  return result;
}

Result<void> restore_indented_snapshot(const ConfigDiff& diff, const std::string& snapshot,
                                       const IndentedConfigAccess& access) {
  ConfigPush push;
  push.text = snapshot;
  push.mode = PushMode::Replace;
  auto pushed = push_indented_config(diff, push, access);
  if (!pushed) return std::move(pushed).error();
  return ok();
}

}  // namespace nauto::drivers
