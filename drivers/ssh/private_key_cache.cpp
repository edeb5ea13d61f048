#include "private_key_cache.h"

#include <map>
#include <mutex>
#include <utility>

#include "file_stamp.h"

namespace nauto::drivers::ssh {
namespace {

struct LoadedKey {
  FileStamp stamp;
  std::string passphrase;  // what it was decrypted with: another one must not get it
  SharedKey key;
};

// Key files are few (one or two per fleet); past this many, the oldest are dropped.
constexpr std::size_t kMaxKeys = 64;

}  // namespace

SharedKey private_key(const std::string& path, const std::string& passphrase) {
  static std::mutex mutex;
  static std::map<std::string, LoadedKey> keys;
  const auto stamp = stamp_of(path);
  if (!stamp) return nullptr;
  {
    std::lock_guard lock(mutex);
    auto it = keys.find(path);
    if (it != keys.end() && it->second.stamp == *stamp && it->second.passphrase == passphrase)
      return it->second.key;
  }
  ssh_key raw = nullptr;
  if (ssh_pki_import_privkey_file(path.c_str(), passphrase.empty() ? nullptr : passphrase.c_str(),
                                  nullptr, nullptr, &raw) != SSH_OK)
    return nullptr;
  SharedKey key(raw, ssh_key_free);
  std::lock_guard lock(mutex);
  if (keys.size() >= kMaxKeys && !keys.contains(path)) keys.erase(keys.begin());
  keys[path] = LoadedKey{*stamp, passphrase, key};
  return key;
}

}  // namespace nauto::drivers::ssh
