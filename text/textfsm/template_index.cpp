#include "nauto/text/textfsm/template_index.h"

#include <algorithm>

namespace nauto::textfsm {

namespace {

std::string_view trim(std::string_view text) {
  auto space = [](char c) { return c == ' ' || (c >= '\t' && c <= '\r'); };
  while (!text.empty() && space(text.back()))
    text.remove_suffix(1);
  while (!text.empty() && space(text.front()))
    text.remove_prefix(1);
  return text;
}

std::vector<std::string_view> split_fields(std::string_view line, char separator) {
  std::vector<std::string_view> fields;
  std::size_t start = 0;
  while (true) {
    const std::size_t end = line.find(separator, start);
    fields.push_back(trim(line.substr(start, end == std::string_view::npos ? end : end - start)));
    if (end == std::string_view::npos) return fields;
    start = end + 1;
  }
}

// UTF-8 aware: one completion step per character, not per byte.
std::vector<std::string_view> characters(std::string_view word) {
  std::vector<std::string_view> out;
  for (std::size_t i = 0; i < word.size();) {
    std::size_t length = 1;
    while (i + length < word.size() &&
           (static_cast<unsigned char>(word[i + length]) & 0xc0) == 0x80)
      ++length;
    out.push_back(word.substr(i, length));
    i += length;
  }
  return out;
}

}  // namespace

std::string expand_completions(std::string_view command) {
  std::string out;
  std::size_t i = 0;
  while (i < command.size()) {
    const std::size_t open = command.find("[[", i);
    // `.+?` in Python: at least one character before the closing `]]`.
    const std::size_t close = open == std::string_view::npos ? open : command.find("]]", open + 3);
    if (close == std::string_view::npos) {
      out.append(command.substr(i));
      break;
    }
    out.append(command.substr(i, open - i));
    const auto letters = characters(command.substr(open + 2, close - open - 2));
    for (std::size_t n = 0; n < letters.size(); ++n) {
      out += '(';
      out.append(letters[n]);
    }
    for (std::size_t n = 0; n < letters.size(); ++n)
      out += ")?";
    i = close + 2;
  }
  return out;
}

Result<TemplateIndex> TemplateIndex::read(std::string_view text, std::string source) {
  TemplateIndex index;
  index.source_ = std::move(source);
  std::size_t position = 0;
  int line_number = 0;
  std::size_t template_column = 0;
  bool have_header = false;
  while (position < text.size()) {
    std::size_t end = text.find('\n', position);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(position, end - position);
    position = end + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!have_header) {
      // The header is the first line with something left once '#' comments are cut off.
      const auto content = trim(line.substr(0, line.find('#')));
      if (content.empty()) continue;
      for (const auto field : split_fields(content, ',')) {
        if (std::find(index.header_.begin(), index.header_.end(), field) != index.header_.end())
          return fail(Errc::InvalidArgument, "column '" + std::string(field) + "' appears twice",
                      index.source_ + ":" + std::to_string(line_number));
        index.header_.emplace_back(field);
      }
      const auto found = std::find(index.header_.begin(), index.header_.end(), "Template");
      if (found == index.header_.end())
        return fail(Errc::InvalidArgument,
                    "the first line must name the columns, one of them 'Template'",
                    index.source_ + ":" + std::to_string(line_number));
      template_column = static_cast<std::size_t>(found - index.header_.begin());
      have_header = true;
      continue;
    }
    if (line.starts_with('#')) continue;
    const auto fields = split_fields(line, ',');
    // Blank lines and rows of the wrong width are skipped, as clitable does.
    if (fields.size() != index.header_.size()) continue;
    Row row;
    for (std::size_t column = 0; column < fields.size(); ++column) {
      row.cells.emplace_back(fields[column]);
      if (column == template_column || fields[column].empty()) {
        row.columns.emplace_back();
        continue;
      }
      const std::string pattern = index.header_[column] == "Command"
                                      ? expand_completions(fields[column])
                                      : std::string(fields[column]);
      auto regex = Regex::compile(pattern);
      if (!regex)
        return fail(Errc::InvalidArgument,
                    "column " + index.header_[column] + ": " + regex.error().message,
                    index.source_ + ":" + std::to_string(line_number));
      row.columns.emplace_back(std::move(*regex));
    }
    for (const auto name : split_fields(fields[template_column], ':'))
      row.templates.emplace_back(name);
    index.rows_.push_back(std::move(row));
  }
  if (!have_header)
    return fail(Errc::InvalidArgument,
                "the index is empty: it needs a header line naming its columns", index.source_);
  return index;
}

Result<std::vector<std::string>> TemplateIndex::find(
    const std::vector<std::pair<std::string, std::string>>& attributes) const {
  Matcher matcher;
  std::vector<std::pair<std::size_t, std::string_view>> wanted;
  for (const auto& [name, value] : attributes) {
    const auto found = std::find(header_.begin(), header_.end(), name);
    if (found != header_.end())
      wanted.emplace_back(static_cast<std::size_t>(found - header_.begin()), value);
  }
  for (const Row& row : rows_) {
    bool matches = true;
    for (const auto& [column, value] : wanted) {
      if (!row.columns[column]) continue;
      auto matched = matcher.match(*row.columns[column], value);
      if (!matched) return std::move(matched).error();
      if (!*matched) {
        matches = false;
        break;
      }
    }
    if (matches) return row.templates;
  }
  std::string described;
  for (const auto& [name, value] : attributes)
    described += (described.empty() ? "" : ", ") + name + " '" + value + "'";
  return fail(Errc::NotFound, "no template in the index matches " + described, source_);
}

Result<std::vector<std::string>> TemplateIndex::find(std::string_view platform,
                                                     std::string_view command) const {
  return find({{"Platform", std::string(platform)}, {"Command", std::string(command)}});
}

std::vector<std::string> TemplateIndex::platforms() const {
  std::vector<std::string> names;
  const auto found = std::find(header_.begin(), header_.end(), "Platform");
  if (found == header_.end()) return names;
  const auto column = static_cast<std::size_t>(found - header_.begin());
  for (const Row& row : rows_)
    if (std::find(names.begin(), names.end(), row.cells[column]) == names.end())
      names.push_back(row.cells[column]);
  return names;
}

namespace {

// `sh[[ow]] ip bgp (?:all\s+)?sum[[mary]]` -> "show ip bgp summary"; "" when a pattern remains.
std::string written_out(std::string_view pattern) {
  std::string out;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern.substr(i, 2) == "[[" || pattern.substr(i, 2) == "]]") {
      ++i;
      continue;
    }
    if (pattern[i] == '(') {  // an optional group is left out; any other group is a pattern
      int depth = 0;
      std::size_t end = i;
      for (; end < pattern.size(); ++end) {
        if (pattern[end] == '\\') {
          ++end;
        } else if (pattern[end] == '(') {
          ++depth;
        } else if (pattern[end] == ')' && --depth == 0) {
          break;
        }
      }
      if (end + 1 >= pattern.size() || (pattern[end + 1] != '?' && pattern[end + 1] != '*')) {
        return "";
      }
      i = end + 1;
      continue;
    }
    if (std::string_view("\\[]{}()*+?|^$.").find(pattern[i]) != std::string_view::npos) return "";
    out += pattern[i];
  }
  std::string tidy;
  for (const char c : out) {
    if (c == ' ' && (tidy.empty() || tidy.back() == ' ')) continue;
    tidy += c;
  }
  while (!tidy.empty() && tidy.back() == ' ')
    tidy.pop_back();
  return tidy;
}

}  // namespace

std::vector<std::string> TemplateIndex::commands(std::string_view platform) const {
  std::vector<std::string> out;
  const auto platform_column = std::find(header_.begin(), header_.end(), "Platform");
  const auto command_column = std::find(header_.begin(), header_.end(), "Command");
  if (platform_column == header_.end() || command_column == header_.end()) return out;
  const auto p = static_cast<std::size_t>(platform_column - header_.begin());
  const auto c = static_cast<std::size_t>(command_column - header_.begin());
  for (const Row& row : rows_) {
    if (row.cells[p] != platform) continue;
    auto command = written_out(row.cells[c]);
    if (!command.empty() && std::find(out.begin(), out.end(), command) == out.end())
      out.push_back(std::move(command));
  }
  return out;
}

}  // namespace nauto::textfsm
