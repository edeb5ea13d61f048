#include "netconf/netconf_framing.h"

#include <catch2/catch.hpp>

using namespace nauto::drivers::netconf;

TEST_CASE("base:1.0 end-of-message framing, fed a byte at a time", "[drivers][netconf]") {
  FrameDecoder decoder;
  std::string wire =
      *frame("<hello/>", Framing::EndOfMessage) + *frame("<rpc/>", Framing::EndOfMessage);
  std::vector<std::string> got;
  for (char c : wire) {
    decoder.feed(std::string_view(&c, 1));
    auto message = decoder.next();
    REQUIRE(message);
    if (*message) got.push_back(**message);
  }
  CHECK(got == std::vector<std::string>{"<hello/>", "<rpc/>"});
}

TEST_CASE("base:1.1 chunked framing joins chunks and rejects bad headers", "[drivers][netconf]") {
  FrameDecoder decoder;
  decoder.set_framing(Framing::Chunked);
  decoder.feed("\n#4\n<rpc\n#8\n-reply/>\n##\n");
  auto message = decoder.next();
  REQUIRE(message);
  REQUIRE(*message);
  CHECK(**message == "<rpc-reply/>");
  decoder.feed("\n#4\n<r");  // incomplete: wait for more
  auto partial = decoder.next();
  REQUIRE(partial);
  CHECK_FALSE(*partial);
  FrameDecoder bad;
  bad.set_framing(Framing::Chunked);
  bad.feed("\n#x\nabc");
  CHECK_FALSE(bad.next());
  CHECK(*frame("abc", Framing::Chunked) == "\n#3\nabc\n##\n");
}

TEST_CASE("base:1.0 framing refuses a message that would end early", "[drivers][netconf]") {
  // Pushed config carrying the delimiter: the device would read "<rpc>...<x>" as one message
  // and whatever follows as a second, unauthorised one.
  const std::string injected =
      "<edit-config><config><x>]]>]]><rpc><kill-session/></rpc></x></config></edit-config>";
  auto framed = frame(injected, Framing::EndOfMessage);
  REQUIRE_FALSE(framed);
  CHECK(framed.error().code == nauto::Errc::InvalidArgument);
  CHECK(framed.error().message.find("]]>]]>") != std::string::npos);
  // Chunked framing carries any bytes: the length says where the message ends.
  CHECK(frame(injected, Framing::Chunked));
}
