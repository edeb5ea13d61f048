// Peer addresses as text: what ingest modules put in every event's `address` and match against
// the inventory, so they must read exactly as inet_ntop (and an operator) writes them.

#include "nauto/sdk/listen_socket.h"

#include <arpa/inet.h>

#include <catch2/catch.hpp>
#include <cstring>

using namespace nauto;

TEST_CASE("IPv4 peers read as dotted quads, mapped IPv6 as IPv4", "[sdk]") {
  for (unsigned value = 0; value < 256; ++value) {
    for (int position = 0; position < 4; ++position) {
      unsigned char octets[4] = {10, 0, 7, 255};
      octets[position] = static_cast<unsigned char>(value);
      char expected[INET_ADDRSTRLEN];
      inet_ntop(AF_INET, octets, expected, sizeof expected);

      sockaddr_storage v4{};
      auto& in = reinterpret_cast<sockaddr_in&>(v4);
      in.sin_family = AF_INET;
      std::memcpy(&in.sin_addr, octets, 4);
      REQUIRE(address_text(v4) == expected);

      sockaddr_storage mapped{};
      auto& in6 = reinterpret_cast<sockaddr_in6&>(mapped);
      in6.sin6_family = AF_INET6;
      in6.sin6_addr.s6_addr[10] = 0xff;
      in6.sin6_addr.s6_addr[11] = 0xff;
      std::memcpy(&in6.sin6_addr.s6_addr[12], octets, 4);
      REQUIRE(address_text(mapped) == expected);
    }
  }
}

TEST_CASE("IPv6 peers read in their compressed form", "[sdk]") {
  sockaddr_storage v6{};
  auto& in6 = reinterpret_cast<sockaddr_in6&>(v6);
  in6.sin6_family = AF_INET6;
  REQUIRE(inet_pton(AF_INET6, "2001:db8::1", &in6.sin6_addr) == 1);
  CHECK(address_text(v6) == "2001:db8::1");
  in6.sin6_addr = in6addr_loopback;
  CHECK(address_text(v6) == "::1");
}
