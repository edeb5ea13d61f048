#include "netconf_session.h"

#include <pugixml.hpp>
#include <sstream>

namespace nauto::lab {
namespace {

constexpr std::string_view kEndOfMessage = "]]>]]>";
constexpr const char* kBase = "urn:ietf:params:xml:ns:netconf:base:1.0";

std::string xml_text(const pugi::xml_node& node) {
  std::ostringstream out;
  node.print(out, "", pugi::format_raw);
  return out.str();
}

std::string rpc_error(const std::string& type, const std::string& tag, const std::string& message,
                      const std::string& info = {}) {
  return "<rpc-error><error-type>" + type + "</error-type><error-tag>" + tag +
         "</error-tag><error-severity>error</error-severity>" +
         (info.empty() ? "" : "<error-info>" + info + "</error-info>") + "<error-message>" +
         message + "</error-message></rpc-error>";
}

// Element names without a namespace prefix: clients may send <nc:rpc> or <rpc>.
std::string local_name(const pugi::xml_node& node) {
  std::string name = node.name();
  auto colon = name.find(':');
  return colon == std::string::npos ? name : name.substr(colon + 1);
}

pugi::xml_node child_named(const pugi::xml_node& node, const std::string& name) {
  for (auto child : node.children()) {
    if (child.type() == pugi::node_element && local_name(child) == name) return child;
  }
  return {};
}

std::string escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace

NetconfSession::NetconfSession(Device& device, SessionInfo session, int session_id)
    : device_(device), session_(std::move(session)), session_id_(session_id) {}

NetconfSession::~NetconfSession() {
  if (holds_lock_) {
    device_.mutate([&](DeviceState& state) { state.release_candidate_lock(session_.id); });
  }
}

std::string NetconfSession::hello() const {
  std::string xml =
      "<!-- No zombies were killed during the creation of this user interface -->\n"
      "<!-- user " +
      session_.user +
      ", class super-user -->\n"
      "<hello xmlns=\"urn:ietf:params:xml:ns:netconf:base:1.0\">\n  <capabilities>\n"
      "    <capability>urn:ietf:params:netconf:base:1.0</capability>\n"
      "    <capability>urn:ietf:params:netconf:base:1.1</capability>\n"
      "    <capability>urn:ietf:params:netconf:capability:candidate:1.0</capability>\n"
      "    <capability>urn:ietf:params:netconf:capability:confirmed-commit:1.0</capability>\n"
      "    <capability>urn:ietf:params:netconf:capability:confirmed-commit:1.1</capability>\n"
      "    <capability>urn:ietf:params:netconf:capability:validate:1.0</capability>\n"
      "    "
      "<capability>urn:ietf:params:netconf:capability:url:1.0?scheme=http,ftp,file</capability>\n"
      "    <capability>http://xml.juniper.net/netconf/junos/1.0</capability>\n"
      "    <capability>http://xml.juniper.net/dmi/system/1.0</capability>\n"
      "  </capabilities>\n  <session-id>" +
      std::to_string(session_id_) + "</session-id>\n</hello>\n";
  return xml + std::string(kEndOfMessage);
}

std::string NetconfSession::frame(const std::string& xml) const {
  if (!chunked_) return xml + std::string(kEndOfMessage);
  return "\n#" + std::to_string(xml.size()) + "\n" + xml + "\n##\n";
}

std::string NetconfSession::feed(std::string_view bytes) {
  buffer_.append(bytes);
  std::string out;
  while (!closed_) {
    std::string message;
    if (!chunked_) {
      auto end = buffer_.find(kEndOfMessage);
      if (end == std::string::npos) break;
      message = buffer_.substr(0, end);
      buffer_.erase(0, end + kEndOfMessage.size());
    } else {
      // RFC 6242 section 4.2: one or more "\n#<size>\n<data>" chunks, then "\n##\n".
      size_t pos = 0;
      bool complete = false;
      std::string data;
      while (true) {
        if (buffer_.size() < pos + 4) break;
        if (buffer_.compare(pos, 4, "\n##\n") == 0) {
          complete = true;
          pos += 4;
          break;
        }
        if (buffer_[pos] != '\n' || buffer_[pos + 1] != '#') {
          closed_ = true;  // framing error: RFC 6242 says terminate the session
          return out;
        }
        auto newline = buffer_.find('\n', pos + 2);
        if (newline == std::string::npos) break;
        size_t size = std::strtoull(buffer_.c_str() + pos + 2, nullptr, 10);
        if (size == 0 || size > 4294967295ull) {
          closed_ = true;
          return out;
        }
        if (buffer_.size() < newline + 1 + size) break;
        data += buffer_.substr(newline + 1, size);
        pos = newline + 1 + size;
      }
      if (!complete) break;
      buffer_.erase(0, pos);
      message = std::move(data);
    }
    std::string reply = handle_message(message);
    if (!reply.empty()) out += frame(reply);
  }
  return out;
}

std::string NetconfSession::rpc_reply(const std::string& attributes,
                                      const std::string& body) const {
  return "<rpc-reply xmlns=\"" + std::string(kBase) +
         "\" xmlns:junos=\"http://xml.juniper.net/junos/21.4R3/junos\"" + attributes + ">\n" +
         body + "\n</rpc-reply>\n";
}

std::string NetconfSession::handle_message(const std::string& xml) {
  pugi::xml_document document;
  auto parsed = document.load_string(xml.c_str());
  if (!parsed) {
    return rpc_reply("", rpc_error("rpc", "malformed-message",
                                   std::string("malformed XML: ") + parsed.description()));
  }
  auto root = document.document_element();
  std::string root_name = local_name(root);
  if (root_name == "hello") {
    got_hello_ = true;
    for (auto capability : child_named(root, "capabilities").children()) {
      if (local_name(capability) == "capability" &&
          std::string(capability.text().as_string()) == "urn:ietf:params:netconf:base:1.1")
        chunked_ = true;
    }
    return {};
  }
  if (!got_hello_) {
    closed_ = true;
    return {};
  }
  if (root_name != "rpc") {
    return rpc_reply(
        "", rpc_error("rpc", "unknown-element", "expected <rpc>, got <" + root_name + ">"));
  }
  std::string attributes;
  for (auto attribute : root.attributes()) {
    std::string name = attribute.name();
    if (name == "xmlns" || name.rfind("xmlns:", 0) == 0) continue;
    attributes += " " + name + "=\"" + escape(attribute.value()) + "\"";
  }
  if (!root.attribute("message-id")) {
    return rpc_reply(
        "", rpc_error("rpc", "missing-attribute", "missing message-id attribute",
                      "<bad-attribute>message-id</bad-attribute><bad-element>rpc</bad-element>"));
  }
  pugi::xml_node operation;
  for (auto child : root.children()) {
    if (child.type() == pugi::node_element) {
      operation = child;
      break;
    }
  }
  std::string op = operation ? local_name(operation) : "";
  device_.record_command("netconf", op);
  auto ok_reply = [&]() { return rpc_reply(attributes, "<ok/>"); };
  auto error_reply = [&](const std::string& type, const std::string& tag,
                         const std::string& message) {
    return rpc_reply(attributes, rpc_error(type, tag, message));
  };
  auto datastore = [](const pugi::xml_node& node) -> std::string {
    for (auto child : node.children()) {
      if (child.type() == pugi::node_element) return local_name(child);
    }
    return "";
  };
  auto locked_by_other = [&]() {
    return device_.read(
        [&](const DeviceState& s) { return s.candidate_locked_by_other(session_.id); });
  };
  if (op == "get-config" || op == "get" || op == "get-configuration") {
    std::string source =
        op == "get-config" ? datastore(child_named(operation, "source")) : "running";
    if (op == "get-configuration" &&
        std::string(operation.attribute("database").as_string()) == "candidate") {
      source = "candidate";
    }
    if (source != "running" && source != "candidate") {
      return error_reply("protocol", "invalid-value",
                         "unsupported source datastore '" + source + "'");
    }
    pugi::xml_document out;
    auto data = op == "get-configuration" ? out.append_child("configuration")
                                          : out.append_child("data").append_child("configuration");
    device_.read([&](const DeviceState& state) {
      (source == "candidate" ? state.candidate : state.committed).render_xml(data);
    });
    return rpc_reply(attributes, xml_text(out));
  }
  if (op == "edit-config") {
    std::string target = datastore(child_named(operation, "target"));
    if (target != "candidate") {
      return error_reply("protocol", "operation-not-supported",
                         "only the candidate datastore is writable; edit <candidate/> and commit");
    }
    if (locked_by_other())
      return error_reply("protocol", "in-use", "configuration database locked by another session");
    std::string default_operation = child_named(operation, "default-operation").text().as_string();
    auto config = child_named(child_named(operation, "config"), "configuration");
    if (!config)
      return error_reply("protocol", "missing-element",
                         "<config> must hold a <configuration> element");
    Result<void> result = device_.mutate([&](DeviceState& state) {
      return state.candidate.merge_xml(config, default_operation == "replace");
    });
    if (!result)
      return error_reply("application",
                         result.error().code == Errc::NotFound ? "data-missing" : "invalid-value",
                         result.error().message);
    return ok_reply();
  }
  if (op == "lock" || op == "unlock") {
    std::string target = datastore(child_named(operation, "target"));
    if (target != "candidate" && target != "running") {
      return error_reply("protocol", "invalid-value", "unknown datastore '" + target + "'");
    }
    bool done = device_.mutate([&](DeviceState& state) {
      return op == "lock" ? state.take_candidate_lock(session_.id)
                          : state.release_candidate_lock(session_.id);
    });
    if (!done) {
      return op == "lock" ? rpc_reply(attributes,
                                      rpc_error("protocol", "lock-denied",
                                                "configuration database locked by another session",
                                                "<session-id>0</session-id>"))
                          : error_reply("protocol", "operation-failed",
                                        "the configuration is not locked by this session");
    }
    holds_lock_ = op == "lock";
    return ok_reply();
  }
  if (op == "commit" || op == "commit-configuration") {
    if (locked_by_other())
      return error_reply("protocol", "in-use", "configuration database locked by another session");
    bool confirmed =
        child_named(operation, "confirmed") || child_named(operation, "confirmed-commit");
    int timeout = child_named(operation, "confirm-timeout").text().as_int(600);
    if (child_named(operation, "confirm-timeout") && timeout <= 0) {
      return error_reply("protocol", "invalid-value",
                         "confirm-timeout must be a positive number of seconds");
    }
    std::optional<int64_t> deadline;
    // Seconds scale with the fleet's minute length, like the CLI's minutes.
    if (confirmed) deadline = steady_ms() + timeout * device_.fleet().minute_ms / 60;
    device_.commit_candidate(deadline);
    device_.config_changed(session_.user, session_.peer);
    return ok_reply();
  }
  if (op == "discard-changes") {
    device_.mutate([](DeviceState& state) { state.candidate = state.committed; });
    return ok_reply();
  }
  if (op == "validate") {
    std::string source = datastore(child_named(operation, "source"));
    if (source != "candidate" && source != "running") {
      return error_reply("protocol", "invalid-value", "validate needs <candidate/> or <running/>");
    }
    return ok_reply();
  }
  if (op == "close-session") {
    closed_ = true;
    return ok_reply();
  }
  if (op == "kill-session")
    return error_reply("protocol", "operation-not-supported",
                       "kill-session is not supported by nauto-lab");
  if (op == "get-software-information") {
    auto view = device_.view();
    return rpc_reply(attributes, "<software-information><host-name>" + escape(view.hostname) +
                                     "</host-name><product-model>" + view.model +
                                     "</product-model><product-name>" + view.model +
                                     "</product-name><junos-version>" + view.os_version +
                                     "</junos-version></software-information>");
  }
  return error_reply("protocol", "operation-not-supported",
                     "syntax error, expecting <rpc> operation: <" + op + "> is not supported");
}

}  // namespace nauto::lab
