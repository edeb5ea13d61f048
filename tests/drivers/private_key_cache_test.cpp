// The private key cache: one parse per key file, shared by sessions; a changed file or another
// passphrase is read again, and a failure is not remembered.
#include "ssh/private_key_cache.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>

using namespace nauto::drivers::ssh;

namespace {

struct TempDir {
  std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("nauto-key-cache-" + std::to_string(::getpid()));
  TempDir() { std::filesystem::create_directories(path); }
  ~TempDir() { std::filesystem::remove_all(path); }
};

// A new ed25519 key in `file`, encrypted with `passphrase` when it is not empty.
void write_key(const std::filesystem::path& file, const char* passphrase) {
  ssh_key key = nullptr;
  REQUIRE(ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &key) == SSH_OK);
  std::filesystem::remove(file);
  REQUIRE(ssh_pki_export_privkey_file(key, passphrase, nullptr, nullptr, file.c_str()) == SSH_OK);
  ssh_key_free(key);
}

// Changes the file's mode until its ctime differs from before: file times tick coarsely, so
// one chmod right after a write may leave it as it was.
void chmod_until_ctime_moves(const std::string& file) {
  struct stat before {};
  REQUIRE(::stat(file.c_str(), &before) == 0);
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  bool moved = false;
  for (int i = 0; !moved && std::chrono::steady_clock::now() < give_up; ++i) {
    struct stat after {};
    if (::chmod(file.c_str(), i % 2 ? 0600 : 0400) != 0 || ::stat(file.c_str(), &after) != 0) break;
    moved = after.st_ctim.tv_sec != before.st_ctim.tv_sec ||
            after.st_ctim.tv_nsec != before.st_ctim.tv_nsec;
  }
  REQUIRE(moved);
}

}  // namespace

TEST_CASE("a key file is parsed once and shared until it changes", "[drivers][ssh]") {
  TempDir dir;
  const auto file = (dir.path / "id_ed25519").string();
  write_key(file, nullptr);
  const auto first = private_key(file, "");
  REQUIRE(first);
  CHECK(private_key(file, "") == first);  // the same object: not parsed again
  CHECK(ssh_key_is_private(first.get()));

  // A chmod moves the file's ctime: it is read again (access may have been taken away).
  chmod_until_ctime_moves(file);
  const auto reread = private_key(file, "");
  REQUIRE(reread);
  CHECK(reread != first);
  CHECK(ssh_key_cmp(reread.get(), first.get(), SSH_KEY_CMP_PRIVATE) == 0);

  write_key(file, nullptr);  // rotated: a new key (the inode number may be reused)
  // File times tick coarsely (a few ms); a rotation that fast is not what this is about.
  std::filesystem::last_write_time(
      file, std::filesystem::last_write_time(file) + std::chrono::seconds(1));
  const auto second = private_key(file, "");
  REQUIRE(second);
  CHECK(second != first);
  CHECK(ssh_key_cmp(second.get(), first.get(), SSH_KEY_CMP_PUBLIC) != 0);
  CHECK(ssh_key_is_private(first.get()));  // a session still holding the old one keeps it
}

TEST_CASE("a key is given only for its own passphrase; failures are not remembered",
          "[drivers][ssh]") {
  TempDir dir;
  const auto file = (dir.path / "id_encrypted").string();
  CHECK_FALSE(private_key(file, ""));  // missing
  write_key(file, "open sesame");
  CHECK_FALSE(private_key(file, ""));
  CHECK_FALSE(private_key(file, "wrong"));
  const auto key = private_key(file, "open sesame");
  REQUIRE(key);
  CHECK(private_key(file, "open sesame") == key);
  CHECK_FALSE(private_key(file, "wrong"));  // the loaded key is not handed to another passphrase
}
