#include "nauto/bus/socket.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>

using namespace nauto;

namespace {
std::string write_temp(const std::string& text) {
  char path[] = "/tmp/nauto-keys-XXXXXX";
  const int fd = ::mkstemp(path);
  ::close(fd);
  std::ofstream(path) << text;
  return path;
}
}  // namespace

TEST_CASE("CURVE key files: keys may contain '#', comments follow whitespace", "[bus][curve]") {
  // A Z85 key can contain '#': it must not be read as a comment.
  const std::string hash_key = "mRP-D4Bj:UHSluFP]eP#{U^NN>THpB}jAmZ:k4b6";
  auto generated = bus::make_curve_keys();
  REQUIRE(generated);
  const auto path = write_temp("# allowed modules\n\n" + hash_key + "  # remote example\n" +
                               generated->public_key + "\n");
  auto keys = bus::read_curve_public_keys_file(path);
  std::remove(path.c_str());
  REQUIRE(keys);
  REQUIRE(keys->size() == 2);
  CHECK((*keys)[0] == hash_key);
  CHECK((*keys)[1] == generated->public_key);
}

TEST_CASE("CURVE key files: a bad line is named", "[bus][curve]") {
  const auto path = write_temp("# ok\nnot-a-key\n");
  auto keys = bus::read_curve_public_keys_file(path);
  std::remove(path.c_str());
  REQUIRE_FALSE(keys);
  CHECK(keys.error().code == Errc::InvalidArgument);
  CHECK(keys.error().message.find("line 2") != std::string::npos);
  CHECK(keys.error().where == path);
  auto missing = bus::read_curve_public_keys_file("/nonexistent/keys");
  REQUIRE_FALSE(missing);
}

TEST_CASE("CURVE secret files give back the matching public key", "[bus][curve]") {
  auto generated = bus::make_curve_keys();
  REQUIRE(generated);
  const auto path = write_temp(generated->secret_key + "\n");
  auto read = bus::read_curve_secret_file(path);
  std::remove(path.c_str());
  REQUIRE(read);
  CHECK(read->public_key == generated->public_key);
  const auto bad = write_temp("short\n");
  CHECK_FALSE(bus::read_curve_secret_file(bad));
  std::remove(bad.c_str());
}

TEST_CASE("endpoints are checked for a scheme and an address", "[bus]") {
  CHECK(bus::endpoints::validate("ipc:///run/nauto/nautod.sock"));
  CHECK(bus::endpoints::validate("tcp://127.0.0.1:5555"));
  CHECK(bus::endpoints::validate("inproc://nauto/router"));
  auto bad = bus::endpoints::validate("127.0.0.1:5555");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.find("must start with ipc://, inproc:// or tcp://") !=
        std::string::npos);
  CHECK_FALSE(bus::endpoints::validate("tcp://"));
}
