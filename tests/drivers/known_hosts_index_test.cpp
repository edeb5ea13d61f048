// The known_hosts index: OpenSSH's plain form answered from memory, anything else left to libssh.
#include "ssh/known_hosts_index.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

using namespace nauto::drivers::ssh;

namespace {

struct TempFile {
  std::filesystem::path path =
      std::filesystem::temp_directory_path() /
      ("nauto-known-hosts-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
  static int& counter() {
    static int n = 0;
    return n;
  }
  void write(const std::string& text) const { std::ofstream(path) << text; }
  ~TempFile() { std::filesystem::remove(path); }
};

}  // namespace

TEST_CASE("known_hosts index: match, changed, other and unknown keys", "[drivers][ssh]") {
  TempFile file;
  file.write(
      "# a comment\n"
      "[127.0.0.1]:2201 ssh-ed25519 AAAAkeyone comment here\n"
      "[127.0.0.1]:2202,[10.0.0.2]:2202 ssh-ed25519 AAAAkeytwo\n"
      "[127.0.0.1]:2202 ssh-rsa AAAArsakey\n"
      "router1 ecdsa-sha2-nistp256 AAAAecdsa\n");
  const auto path = file.path.string();
  REQUIRE(known_hosts_indexable(path));
  CHECK(lookup_known_host(path, "127.0.0.1", 2201, "ssh-ed25519", "AAAAkeyone") ==
        KnownHostsAnswer::Match);
  CHECK(lookup_known_host(path, "127.0.0.1", 2201, "ssh-ed25519", "AAAAother") ==
        KnownHostsAnswer::Changed);
  CHECK(lookup_known_host(path, "127.0.0.1", 2201, "ssh-rsa", "AAAArsakey") ==
        KnownHostsAnswer::Other);
  CHECK(lookup_known_host(path, "10.0.0.2", 2202, "ssh-ed25519", "AAAAkeytwo") ==
        KnownHostsAnswer::Match);
  CHECK(lookup_known_host(path, "127.0.0.1", 2202, "ssh-rsa", "AAAArsakey") ==
        KnownHostsAnswer::Match);
  CHECK(lookup_known_host(path, "router1", 22, "ecdsa-sha2-nistp256", "AAAAecdsa") ==
        KnownHostsAnswer::Match);
  CHECK(lookup_known_host(path, "router1", 2222, "ecdsa-sha2-nistp256", "AAAAecdsa") ==
        KnownHostsAnswer::Unknown);  // another port is another host
  CHECK(lookup_known_host(path, "127.0.0.1", 2203, "ssh-ed25519", "AAAAkeyone") ==
        KnownHostsAnswer::Unknown);
  // A file that changes is read again (accept-new appends to it).
  file.write("[127.0.0.1]:2203 ssh-ed25519 AAAAkeythree\n");
  CHECK(lookup_known_host(path, "127.0.0.1", 2203, "ssh-ed25519", "AAAAkeythree") ==
        KnownHostsAnswer::Match);
  CHECK(lookup_known_host(path, "127.0.0.1", 2201, "ssh-ed25519", "AAAAkeyone") ==
        KnownHostsAnswer::Unknown);
}

TEST_CASE("known_hosts index: forms it does not read are left to libssh", "[drivers][ssh]") {
  for (const char* text :
       {"|1|c2FsdA==|aGFzaA== ssh-ed25519 AAAAkey\n", "*.example.net ssh-ed25519 AAAAkey\n",
        "!bad.example.net,*.example.net ssh-ed25519 AAAAkey\n",
        "@cert-authority *.example.net ssh-ed25519 AAAAkey\n",
        "@revoked router1 ssh-ed25519 AAAAkey\n", "router1 ssh-ed25519\n"}) {
    TempFile file;
    file.write(std::string("router0 ssh-ed25519 AAAAfine\n") + text);
    INFO(text);
    CHECK_FALSE(known_hosts_indexable(file.path.string()));
    CHECK(lookup_known_host(file.path.string(), "router0", 22, "ssh-ed25519", "AAAAfine") ==
          KnownHostsAnswer::NotIndexed);
  }
  CHECK(lookup_known_host("/nonexistent/known_hosts", "r", 22, "ssh-ed25519", "AAAA") ==
        KnownHostsAnswer::NotIndexed);
}
