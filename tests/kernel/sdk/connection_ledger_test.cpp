#include "nauto/sdk/connection_ledger.h"

#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

using namespace nauto;

TEST_CASE("the connection ledger limits each address and sets each request a deadline", "[sdk]") {
  int pair_a[2], pair_b[2], pair_c[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, pair_a) == 0);
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, pair_b) == 0);
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, pair_c) == 0);
  ConnectionLedger ledger(1, 1000);
  CHECK(ledger.next_deadline_us() == -1);
  CHECK(ledger.open(pair_a[0], "192.0.2.1", 0));
  CHECK_FALSE(ledger.open(pair_b[0], "192.0.2.1", 0));  // over the limit: shut down
  char byte = 0;
  CHECK(::read(pair_b[1], &byte, 1) == 0);
  CHECK(ledger.open(pair_c[0], "192.0.2.2", 500));
  CHECK(ledger.next_deadline_us() == 1000);
  ledger.request_done(pair_a[0], 800);  // its next request has a full deadline
  CHECK(ledger.next_deadline_us() == 1500);
  CHECK(ledger.cut_overdue(1499) == 0);
  CHECK(ledger.cut_overdue(1500) == 1);  // 192.0.2.2's
  CHECK(::read(pair_c[1], &byte, 1) == 0);
  CHECK(ledger.cut_overdue(10'000) == 1);  // and then 192.0.2.1's; each is cut once
  CHECK(ledger.cut_overdue(20'000) == 0);
  ledger.close(pair_a[0]);
  ledger.close(pair_b[0]);
  CHECK(ledger.open_connections() == 1);
  CHECK(ledger.open(pair_a[0], "192.0.2.1", 0));  // its address's slot came back
  // A request read whole has no deadline while it is answered; the next one has a full one.
  CHECK(ledger.next_deadline_us() == 1000);
  ledger.request_read(pair_a[0]);
  CHECK(ledger.next_deadline_us() == -1);
  CHECK(ledger.cut_overdue(1'000'000) == 0);
  ledger.request_done(pair_a[0], 2000);
  CHECK(ledger.next_deadline_us() == 3000);
  for (int fd : {pair_a[0], pair_a[1], pair_b[0], pair_b[1], pair_c[0], pair_c[1]})
    ::close(fd);
}
