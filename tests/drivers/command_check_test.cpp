// Every driver refuses a command or config line with a control character before it sends
// anything: an event field carrying "\nreload" must never become a second line on a device.

#include <catch2/catch.hpp>

#include "nauto/drivers/make_driver.h"

using namespace nauto;
using namespace nauto::drivers;

TEST_CASE("the checks name what they refuse", "[drivers][injection]") {
  CHECK(check_command("show interfaces Gi0/1"));
  auto newline = check_command("show interfaces Gi0/1\nreload");
  REQUIRE_FALSE(newline);
  CHECK(newline.error().code == Errc::InvalidArgument);
  CHECK(newline.error().message ==
        "the command contains a line feed (\\n) at byte 22: one command is one line (give "
        "several commands as a list)");
  CHECK_FALSE(check_command("show run\r"));
  CHECK_FALSE(check_command("show \tver"));
  CHECK_FALSE(check_command(std::string("show\0x", 6)));
  CHECK_FALSE(check_command("show \x1b[2J"));
  CHECK_FALSE(check_command("show \x7f"));
  CHECK(check_command("show interfaces description | include Überlink"));  // UTF-8 is text

  CHECK(check_config_lines("interface Gi0/1\n description uplink\n shutdown\n"));
  CHECK(check_config_lines("{\n\t\"name\": \"x\"\n}"));  // a JSON body's tabs
  auto crlf = check_config_lines("hostname r1\r\nntp server 192.0.2.1\r\n");
  REQUIRE_FALSE(crlf);
  CHECK(crlf.error().message ==
        "config line 1 contains a carriage return (\\r) at column 12 (Windows line ends? "
        "convert them)");
  CHECK_FALSE(check_config_lines("banner motd \x03 hi \x03"));
}

TEST_CASE("every platform's driver refuses before it connects", "[drivers][injection]") {
  auto catalog = PlatformCatalog::load_default();
  REQUIRE(catalog);
  int drivers = 0;
  for (const auto& name : catalog->names()) {
    const auto definition = catalog->find(name);
    REQUIRE(definition);
    for (const auto& transport : (*definition)->transports) {
      DeviceTarget target;
      target.name = "r1";
      target.platform = name;
      target.transport = transport;
      target.port = 1;  // nothing listens: a driver that tried to send would fail differently
      target.url = "https://127.0.0.1:1/api/v1";
      target.serial = "Q2XX-0000-0001";
      auto driver = make_driver(target, *catalog);
      REQUIRE(driver);
      INFO(name << " over " << transport);
      ++drivers;
      const auto deadline = Deadline::after_ms(2000);
      auto ran = (*driver)->run("show version\nreload", deadline);
      REQUIRE_FALSE(ran);
      CHECK(ran.error().code == Errc::InvalidArgument);
      CHECK(ran.error().describe() ==
            "r1: the command contains a line feed (\\n) at byte 13: one command is one line "
            "(give several commands as a list)");
      ConfigPush push;
      push.text = "hostname r1\nntp server 192.0.2.1\r";
      auto pushed = (*driver)->push_config(push, deadline);
      REQUIRE_FALSE(pushed);
      CHECK(pushed.error().code == Errc::InvalidArgument);
      CHECK_FALSE((*driver)->is_open());
    }
  }
  CHECK(drivers >= 8);
}
