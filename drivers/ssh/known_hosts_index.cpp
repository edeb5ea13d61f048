#include "known_hosts_index.h"

#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string_view>
#include <utility>
#include <vector>

#include "file_stamp.h"

namespace nauto::drivers::ssh {
namespace {

struct Entry {
  std::string type;
  std::string key;
};

struct ParsedFile {
  FileStamp stamp;
  bool indexed = false;
  std::map<std::string, std::vector<Entry>> hosts;  // "[name]:port" -> its keys
};

std::string host_key(std::string_view name, int port) {
  if (port == 22) return std::string(name);
  return "[" + std::string(name) + "]:" + std::to_string(port);
}

// The plain form only; false for anything the index leaves to libssh.
bool parse(std::istream& in, ParsedFile& out) {
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string hosts, type, key;
    if (!(words >> hosts) || hosts[0] == '#') continue;
    if (hosts[0] == '@' || hosts[0] == '|') return false;  // markers, hashed names
    if (!(words >> type >> key)) return false;
    std::size_t start = 0;
    while (start <= hosts.size()) {
      auto end = hosts.find(',', start);
      if (end == std::string::npos) end = hosts.size();
      std::string_view host(hosts.data() + start, end - start);
      if (host.empty() || host.find_first_of("*?!") != std::string_view::npos) return false;
      // `[name]` alone means port 22 as well; store it as OpenSSH would look it up.
      if (host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
      out.hosts[std::string(host)].push_back({type, key});
      start = end + 1;
    }
  }
  return true;
}

std::shared_ptr<const ParsedFile> load(const std::string& path) {
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<const ParsedFile>> files;
  const auto stamp = stamp_of(path);
  if (!stamp) return nullptr;
  {
    std::lock_guard lock(mutex);
    auto it = files.find(path);
    if (it != files.end() && it->second->stamp == *stamp) return it->second;
  }
  auto parsed = std::make_shared<ParsedFile>();
  parsed->stamp = *stamp;
  std::ifstream in(path);
  parsed->indexed = in && parse(in, *parsed);
  std::lock_guard lock(mutex);
  files[path] = parsed;
  return parsed;
}

}  // namespace

bool known_hosts_indexable(const std::string& path) {
  const auto file = load(path);
  return file && file->indexed;
}

KnownHostsAnswer lookup_known_host(const std::string& path, const std::string& host, int port,
                                   const std::string& key_type, const std::string& key_base64) {
  const auto file = load(path);
  if (!file || !file->indexed) return KnownHostsAnswer::NotIndexed;
  const auto it = file->hosts.find(host_key(host, port));
  if (it == file->hosts.end()) return KnownHostsAnswer::Unknown;
  bool same_type = false;
  for (const auto& entry : it->second) {
    if (entry.type != key_type) continue;
    if (entry.key == key_base64) return KnownHostsAnswer::Match;
    same_type = true;
  }
  return same_type ? KnownHostsAnswer::Changed : KnownHostsAnswer::Other;
}

}  // namespace nauto::drivers::ssh
