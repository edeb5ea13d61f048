#include "nauto/sdk/yaml_files.h"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace nauto {

namespace fs = std::filesystem;

YamlFiles::Stamps YamlFiles::snapshot() const {
  Stamps out;
  auto add = [&](const fs::path& path) {
    std::error_code error;
    const auto size = fs::file_size(path, error);
    const auto time = fs::last_write_time(path, error);
    out[path.string()] = {error ? 0 : size,
                          error ? -1 : static_cast<std::int64_t>(time.time_since_epoch().count())};
  };
  for (const auto& file : files_)
    add(file);
  for (const auto& dir : dirs_) {
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(dir, error)) {
      const auto extension = entry.path().extension();
      if (entry.is_regular_file() && (extension == ".yaml" || extension == ".yml"))
        add(entry.path());
    }
  }
  return out;
}

bool YamlFiles::changed() const {
  return snapshot() != read_;
}

YamlFiles::Contents YamlFiles::read() {
  Contents out;
  auto stamps = snapshot();
  for (const auto& dir : dirs_) {
    std::error_code error;
    if (!fs::is_directory(dir, error))
      out.problems.push_back(dirs_key_ + ": " + dir + " is not a directory");
  }
  for (const auto& [path, stamp] : stamps) {
    std::ifstream in(path);
    if (!in) {
      out.problems.push_back(path + ": cannot read it");
      continue;
    }
    std::stringstream text;
    text << in.rdbuf();
    out.texts[path] = text.str();
  }
  read_ = std::move(stamps);
  return out;
}

}  // namespace nauto
