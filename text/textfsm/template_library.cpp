#include "nauto/text/textfsm/template_library.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "nauto/text/textfsm/parser.h"

namespace nauto::textfsm {

namespace {

// Adds the columns of `more` that `base` lacks (clitable's TextTable.extend).
void merge(Table& base, Table more, const std::vector<std::string>& keys) {
  std::vector<std::size_t> added;
  for (std::size_t column = 0; column < more.header.size(); ++column)
    if (std::find(base.header.begin(), base.header.end(), more.header[column]) == base.header.end())
      added.push_back(column);
  if (added.empty()) return;
  for (const std::size_t column : added)
    base.header.push_back(more.header[column]);
  for (auto& row : base.rows)
    row.resize(base.header.size(), Cell(std::string()));
  const std::size_t first_added = base.header.size() - added.size();
  if (keys.empty()) {
    for (std::size_t r = 0; r < base.rows.size() && r < more.rows.size(); ++r)
      for (std::size_t a = 0; a < added.size(); ++a)
        base.rows[r][first_added + a] = more.rows[r][added[a]];
    return;
  }
  auto column_of = [](const Table& table, const std::string& name) {
    return static_cast<std::size_t>(std::find(table.header.begin(), table.header.end(), name) -
                                    table.header.begin());
  };
  for (auto& row : base.rows) {
    for (const auto& other : more.rows) {
      const bool same = std::all_of(keys.begin(), keys.end(), [&](const std::string& key) {
        return row[column_of(base, key)] == other[column_of(more, key)];
      });
      if (!same) continue;
      for (std::size_t a = 0; a < added.size(); ++a)
        row[first_added + a] = other[added[a]];
      break;
    }
  }
}

}  // namespace

Result<std::string> read_text_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return fail(Errc::NotFound, std::string("cannot read: ") + std::strerror(errno), path.string());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

Result<std::shared_ptr<TemplateLibrary>> TemplateLibrary::open(
    const std::filesystem::path& directory) {
  const auto index_path = directory / "index";
  auto text = read_text_file(index_path);
  if (!text)
    return fail(Errc::NotFound,
                "no template index here (a directory of *.textfsm files with an 'index' file, "
                "such as ntc-templates' templates directory)",
                index_path.string());
  auto index = TemplateIndex::read(*text, index_path.string());
  if (!index) return std::move(index).error();
  return std::shared_ptr<TemplateLibrary>(new TemplateLibrary(directory, std::move(*index)));
}

Result<std::shared_ptr<const Template>> TemplateLibrary::get(std::string_view name) {
  {
    std::lock_guard lock(mutex_);
    if (const auto found = compiled_.find(name); found != compiled_.end()) return found->second;
  }
  if (name.empty() || name.find('/') != std::string_view::npos || name.starts_with(".."))
    return fail(Errc::InvalidArgument, "template name '" + std::string(name) +
                                           "' must be a file name in " + directory_.string());
  const auto path = directory_ / std::string(name);
  auto text = read_text_file(path);
  if (!text) return std::move(text).error();
  auto compiled = Template::compile(*text, path.string());
  if (!compiled) return std::move(compiled).error();
  auto shared = std::make_shared<const Template>(std::move(*compiled));
  std::lock_guard lock(mutex_);
  return compiled_.emplace(std::string(name), std::move(shared)).first->second;
}

Result<Table> TemplateLibrary::parse(std::string_view platform, std::string_view command,
                                     std::string_view text) {
  auto names = index_.find(platform, command);
  if (!names) return std::move(names).error();
  Table merged;
  std::vector<std::string> keys;
  for (std::size_t i = 0; i < names->size(); ++i) {
    auto fsm = get((*names)[i]);
    if (!fsm) return std::move(fsm).error();
    auto table = textfsm::parse(**fsm, text);
    if (!table) return std::move(table).error();
    if (keys.empty()) keys = (*fsm)->keys();
    if (i == 0) {
      merged = std::move(*table);
      continue;
    }
    for (const auto& key : keys)
      if (std::find(merged.header.begin(), merged.header.end(), key) == merged.header.end() ||
          std::find(table->header.begin(), table->header.end(), key) == table->header.end())
        return fail(Errc::InvalidArgument,
                    "templates " + (*names)[0] + " and " + (*names)[i] +
                        " cannot be merged: Key '" + key + "' is not in both",
                    directory_.string());
    merge(merged, std::move(*table), keys);
  }
  stringify_list_items(merged);
  return merged;
}

}  // namespace nauto::textfsm
