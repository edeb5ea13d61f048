#include "netconf_session.h"

#include <pugixml.hpp>
#include <sstream>

#include "nauto/base/clock.h"
#include "nauto/drivers/driver.h"

namespace nauto::drivers::netconf {
namespace {

constexpr const char* kBase10 = "urn:ietf:params:netconf:base:1.0";
constexpr const char* kBase11 = "urn:ietf:params:netconf:base:1.1";

std::string_view local_name(const pugi::xml_node& node) {
  std::string_view name = node.name();
  auto colon = name.find(':');
  return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

pugi::xml_node child_named(const pugi::xml_node& parent, std::string_view name) {
  for (auto child : parent.children()) {
    if (local_name(child) == name) return child;
  }
  return {};
}

pugi::xml_node find_named(const pugi::xml_node& parent, std::string_view name) {
  for (auto child : parent.children()) {
    if (local_name(child) == name) return child;
    if (auto deeper = find_named(child, name)) return deeper;
  }
  return {};
}

std::string text_of(const pugi::xml_node& parent, std::string_view name) {
  std::string text = child_named(parent, name).text().as_string();
  auto begin = text.find_first_not_of(" \n\t");
  auto end = text.find_last_not_of(" \n\t");
  return begin == std::string::npos ? "" : text.substr(begin, end - begin + 1);
}

}  // namespace

NetconfSession::NetconfSession(std::unique_ptr<ssh::SshChannel> channel, const DeviceTarget& target,
                               const Timeouts& timeouts)
    : channel_(std::move(channel)), target_(target), timeouts_(timeouts) {}

Result<std::unique_ptr<NetconfSession>> NetconfSession::start(ssh::SshConnection& connection,
                                                              const DeviceTarget& target,
                                                              const Timeouts& timeouts,
                                                              Deadline deadline) {
  auto channel = connection.open_subsystem("netconf", deadline);
  if (!channel) return std::move(channel).error();
  auto session =
      std::unique_ptr<NetconfSession>(new NetconfSession(std::move(*channel), target, timeouts));
  std::string hello = std::string("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n") +
                      "<hello xmlns=\"" + kBase10 + "\"><capabilities><capability>" + kBase10 +
                      "</capability><capability>" + kBase11 +
                      "</capability></capabilities></hello>";
  if (auto sent = session->channel_->write(frame(hello, Framing::EndOfMessage).value()); !sent) {
    return std::move(sent).error();
  }
  auto server_hello = session->read_message(deadline, "the server's hello");
  if (!server_hello) return std::move(server_hello).error();
  pugi::xml_document document;
  if (!document.load_string(server_hello->c_str())) {
    return device_error(target, Errc::Malformed, "NETCONF hello is not XML");
  }
  auto root = document.document_element();
  if (local_name(root) != "hello") {
    return device_error(target, Errc::Malformed,
                        "expected <hello>, got <" + std::string(root.name()) + ">");
  }
  for (auto capability : child_named(root, "capabilities").children()) {
    if (local_name(capability) == "capability") {
      std::string text = capability.text().as_string();
      auto begin = text.find_first_not_of(" \n\t");
      auto end = text.find_last_not_of(" \n\t");
      if (begin != std::string::npos)
        session->capabilities_.push_back(text.substr(begin, end - begin + 1));
    }
  }
  if (session->has_capability(kBase11)) {
    session->framing_ = Framing::Chunked;
    session->decoder_.set_framing(Framing::Chunked);
  } else if (!session->has_capability(kBase10)) {
    return device_error(target, Errc::Unsupported,
                        "the server offers neither NETCONF base:1.0 nor 1.1");
  }
  return session;
}

bool NetconfSession::has_capability(const std::string& prefix) const {
  for (const auto& capability : capabilities_) {
    if (capability.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

Result<std::string> NetconfSession::read_message(Deadline deadline,
                                                 const std::string& waiting_for) {
  std::int64_t last_data = steady_us();
  std::string raw;
  for (;;) {
    auto message = decoder_.next();
    if (!message) return on_device(target_, std::move(message).error());
    if (*message) return std::move(**message);
    auto silent_ms = (steady_us() - last_data) / 1000;
    if (silent_ms >= timeouts_.idle_ms || deadline.expired()) {
      return device_error(target_, Errc::Timeout,
                          "no complete NETCONF message (" + waiting_for + ") " +
                              (deadline.expired() ? "before the deadline"
                                                  : "within " + std::to_string(timeouts_.idle_ms) +
                                                        " ms of silence") +
                              "; " + std::to_string(decoder_.buffered()) + " bytes buffered");
    }
    raw.clear();
    auto wait = std::min(timeouts_.idle_ms - silent_ms, deadline.remaining_ms() + 1);
    auto got = channel_->read_some(raw, std::min<std::int64_t>(wait, 200));
    if (!got) return std::move(got).error();
    if (*got) {
      decoder_.feed(raw);
      last_data = steady_us();
    }
  }
}

Result<std::string> NetconfSession::rpc(const std::string& operation, Deadline deadline) {
  std::string id = std::to_string(next_message_id_++);
  std::string request =
      "<rpc message-id=\"" + id + "\" xmlns=\"" + kBase10 + "\">" + operation + "</rpc>";
  auto framed = frame(request, framing_);
  if (!framed) return on_device(target_, std::move(framed).error());
  if (auto sent = channel_->write(*framed); !sent) return std::move(sent).error();
  for (;;) {
    auto reply = read_message(deadline, "reply to message-id " + id);
    if (!reply) return reply;
    pugi::xml_document document;
    if (!document.load_string(reply->c_str())) {
      return device_error(target_, Errc::Malformed,
                          "NETCONF reply to message-id " + id + " is not XML");
    }
    auto root = document.document_element();
    if (local_name(root) == "notification") continue;  // not ours to answer
    if (local_name(root) != "rpc-reply") {
      return device_error(target_, Errc::Malformed,
                          "expected <rpc-reply>, got <" + std::string(root.name()) + ">");
    }
    std::string got_id = root.attribute("message-id").as_string();
    if (got_id != id) {
      return device_error(target_, Errc::Malformed,
                          "reply carries message-id '" + got_id + "', expected '" + id + "'");
    }
    std::string errors;
    for (auto child : root.children()) {
      if (local_name(child) != "rpc-error") continue;
      if (text_of(child, "error-severity") == "warning") continue;
      std::string path = text_of(child, "error-path");
      std::string info;
      if (auto bad = find_named(child, "bad-element"))
        info = std::string(" element ") + bad.text().as_string();
      errors += (errors.empty() ? "" : "; ") + text_of(child, "error-tag") + ": " +
                text_of(child, "error-message") + (path.empty() ? "" : " at " + path) + info;
    }
    if (!errors.empty()) {
      auto name = operation.substr(1, operation.find_first_of(" />") - 1);
      return device_error(target_, Errc::Rejected, "NETCONF <" + name + "> failed: " + errors);
    }
    return reply;
  }
}

void NetconfSession::close(Deadline deadline) {
  if (!is_alive()) return;
  (void)rpc("<close-session/>", deadline.capped_ms(2000));
  channel_->close();
}

Result<std::string> reply_data(const std::string& reply_xml, const std::string& element) {
  pugi::xml_document document;
  if (!document.load_string(reply_xml.c_str())) return fail(Errc::Malformed, "reply is not XML");
  auto found = find_named(document.document_element(), element);
  if (!found) return fail(Errc::NotFound, "no <" + element + "> in the reply");
  std::ostringstream out;
  found.print(out, "  ", pugi::format_indent);
  return out.str();
}

}  // namespace nauto::drivers::netconf
