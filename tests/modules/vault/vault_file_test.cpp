// The vault file: round trips, wrong keys, tampering, rotation, environment credentials.
#include "vault_file.h"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

using namespace nauto;
using namespace nauto::vault;
using Catch::Matchers::Contains;

namespace {

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char name[] = "/tmp/nauto-vault-XXXXXX";
    path = ::mkdtemp(name);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

std::string read(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void write(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path) << text;
}

const Credential kLab{"admin", "s3cret-pass", "en-secret", "", ""};

}  // namespace

TEST_CASE("vault: passphrase round trip; the file holds no secret") {
  TempDir dir;
  const auto path = (dir.path / "vault.json").string();
  {
    auto vault = VaultFile::open(path, {"correct horse", ""}, true);
    REQUIRE(vault);
    REQUIRE(vault->set("lab", kLab));
    REQUIRE(vault->set("core", {"netops", "other-pass", "", "/keys/id", "kp"}));
  }
  CHECK((std::filesystem::status(path).permissions() & std::filesystem::perms::group_read) ==
        std::filesystem::perms::none);
  const auto text = read(path);
  CHECK_THAT(text, !Contains("s3cret-pass"));
  CHECK_THAT(text, !Contains("en-secret"));
  CHECK_THAT(text, !Contains("correct horse"));
  auto vault = VaultFile::open(path, {"correct horse", ""}, false);
  REQUIRE(vault);
  auto lab = vault->get("lab");
  REQUIRE(lab);
  CHECK(lab->password == "s3cret-pass");
  CHECK(lab->enable_secret == "en-secret");
  CHECK(vault->get("core")->private_key_file == "/keys/id");
  REQUIRE(vault->list().size() == 2);
  CHECK(vault->list()[1].name == "lab");
  CHECK(vault->list()[1].fields == std::vector<std::string>{"password", "enable_secret"});
  CHECK(vault->get("nosuch").error().code == Errc::NotFound);

  // Fresh nonce per write: setting the same value again changes the ciphertext.
  const auto before = nlohmann::json::parse(read(path))["entries"]["lab"]["data"];
  REQUIRE(vault->set("lab", kLab));
  CHECK(nlohmann::json::parse(read(path))["entries"]["lab"]["data"] != before);
  REQUIRE(vault->remove("core"));
  CHECK(VaultFile::open(path, {"correct horse", ""}, false)->list().size() == 1);
}

TEST_CASE("vault: a wrong key is named as such; nothing changes") {
  TempDir dir;
  const auto path = (dir.path / "vault.json").string();
  REQUIRE(VaultFile::open(path, {"right", ""}, true)->set("lab", kLab));
  const auto text = read(path);
  auto wrong = VaultFile::open(path, {"wrong", ""}, false);
  REQUIRE_FALSE(wrong);
  CHECK(wrong.error().code == Errc::Unauthenticated);
  CHECK_THAT(wrong.error().message, Contains("wrong passphrase or key file"));
  CHECK_THAT(wrong.error().message, !Contains("wrong\""));
  CHECK(read(path) == text);
  auto no_key = VaultFile::open(path, {"", ""}, false);
  REQUIRE_FALSE(no_key);
  CHECK_THAT(no_key.error().message, Contains("NAUTO_VAULT_PASSPHRASE"));
  CHECK(VaultFile::open((dir.path / "none.json").string(), {"x", ""}, false).error().code ==
        Errc::NotFound);
}

TEST_CASE("vault: tampering is detected") {
  TempDir dir;
  const auto path = (dir.path / "vault.json").string();
  {
    auto vault = VaultFile::open(path, {"pass", ""}, true);
    REQUIRE(vault->set("lab", kLab));
    REQUIRE(vault->set("core", kLab));
  }
  const auto original = nlohmann::json::parse(read(path));

  SECTION("a flipped ciphertext byte") {
    auto doc = original;
    auto data = doc["entries"]["lab"]["data"].get<std::string>();
    data[4] = data[4] == 'A' ? 'B' : 'A';
    doc["entries"]["lab"]["data"] = data;
    write(path, doc.dump());
    auto vault = VaultFile::open(path, {"pass", ""}, false);
    REQUIRE(vault);  // the manifest is intact ...
    auto lab = vault->get("lab");
    REQUIRE_FALSE(lab);  // ... but the entry does not authenticate
    CHECK(lab.error().code == Errc::Untrusted);
    CHECK_THAT(lab.error().message, Contains("'lab'"));
    CHECK(vault->get("core"));
  }
  SECTION("an entry moved under another name") {
    auto doc = original;
    doc["entries"]["core"] = doc["entries"]["lab"];
    write(path, doc.dump());
    auto vault = VaultFile::open(path, {"pass", ""}, false);
    REQUIRE_FALSE(vault);
    CHECK_THAT(vault.error().message, Contains("tampered"));
  }
  SECTION("an entry removed") {
    auto doc = original;
    doc["entries"].erase("core");
    write(path, doc.dump());
    auto vault = VaultFile::open(path, {"pass", ""}, false);
    REQUIRE_FALSE(vault);
    CHECK(vault.error().code == Errc::Untrusted);
  }
  SECTION("not JSON") {
    write(path, "{garbage");
    CHECK(VaultFile::open(path, {"pass", ""}, false).error().code == Errc::Malformed);
  }
}

TEST_CASE("vault: key files and key rotation") {
  TempDir dir;
  const auto path = (dir.path / "vault.json").string();
  const auto key_file = (dir.path / "vault.key").string();
  auto key_text = VaultFile::generate_key_file_text();
  REQUIRE(key_text);
  CHECK(key_text->size() == 65);
  write(key_file, *key_text);
  {
    auto vault = VaultFile::open(path, {"", key_file}, true);
    REQUIRE(vault);
    REQUIRE(vault->set("lab", kLab));
  }
  CHECK_THAT(VaultFile::open(path, {"pass", ""}, false).error().message, Contains("key file"));
  write(key_file + ".bad", "xyz\n");
  CHECK_THAT(VaultFile::open(path, {"", key_file + ".bad"}, false).error().message,
             Contains("64 hex digits"));

  auto vault = VaultFile::open(path, {"", key_file}, false);
  REQUIRE(vault);
  REQUIRE(vault->rotate_key({"new passphrase", ""}));
  CHECK_FALSE(VaultFile::open(path, {"", key_file}, false));
  auto rotated = VaultFile::open(path, {"new passphrase", ""}, false);
  REQUIRE(rotated);
  CHECK(rotated->get("lab")->password == "s3cret-pass");
}

TEST_CASE("vault: credentials from the environment") {
  CHECK_FALSE(credential_from_environment("ci-lab"));
  ::setenv("NAUTO_CRED_CI_LAB_USERNAME", "ci", 1);
  ::setenv("NAUTO_CRED_CI_LAB_PASSWORD", "from-env", 1);
  auto credential = credential_from_environment("ci-lab");
  REQUIRE(credential);
  CHECK(credential->username == "ci");
  CHECK(credential->password == "from-env");
  CHECK(credential->enable_secret.empty());
  ::unsetenv("NAUTO_CRED_CI_LAB_USERNAME");
  ::unsetenv("NAUTO_CRED_CI_LAB_PASSWORD");
}
