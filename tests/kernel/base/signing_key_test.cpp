#include "nauto/base/signing_key.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "support/temp_dir.h"

using namespace nauto;

TEST_CASE("a signing key is made once (0600) and signs what its public key alone checks") {
  test::TempDir dir;
  const auto path = dir.path + "/work.key";
  auto key = SigningKey::open_or_create(path, "the test key");
  REQUIRE(key);
  struct stat info {};
  REQUIRE(::stat(path.c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0600);
  CHECK(key->public_key().size() == 64);
  CHECK(key->private_seed().size() == 32);

  const auto signature = key->sign("item 1");
  CHECK(signature.size() == 128);
  CHECK(key->check("item 1", signature));
  CHECK(signature_valid(key->public_key(), "item 1", signature));
  CHECK_FALSE(signature_valid(key->public_key(), "item 2", signature));

  auto again = SigningKey::open_or_create(path, "the test key");
  REQUIRE(again);
  CHECK(again->public_key() == key->public_key());

  auto other = SigningKey::open_or_create(dir.path + "/other.key", "the test key");
  REQUIRE(other);
  CHECK_FALSE(signature_valid(other->public_key(), "item 1", signature));
}

TEST_CASE("malformed keys and signatures are refused, never trusted") {
  test::TempDir dir;
  auto key = SigningKey::open_or_create(dir.path + "/k", "the test key");
  REQUIRE(key);
  const auto signature = key->sign("m");
  CHECK_FALSE(signature_valid("", "m", signature));
  CHECK_FALSE(signature_valid("zz" + key->public_key().substr(2), "m", signature));
  CHECK_FALSE(signature_valid(key->public_key(), "m", ""));
  CHECK_FALSE(signature_valid(key->public_key(), "m", signature.substr(0, 126)));
  auto flipped = signature;
  flipped[0] = flipped[0] == '0' ? '1' : '0';
  CHECK_FALSE(signature_valid(key->public_key(), "m", flipped));

  std::ofstream(dir.path + "/not-a-key") << "hello\n";
  auto refused = SigningKey::open_or_create(dir.path + "/not-a-key", "the test key");
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message.find("not an ed25519 private key") != std::string::npos);
}
