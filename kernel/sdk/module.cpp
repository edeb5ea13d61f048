#include "nauto/sdk/module.h"

#include <map>
#include <mutex>

#include "nauto/bus/body.h"
#include "nauto/bus/schema.h"
#include "nauto/sdk/registry.h"

namespace nauto {

Manifest Manifest::declared(std::string name, std::string summary,
                            std::vector<std::string> subscribes, std::vector<std::string> tables) {
  auto interface = bus::schema::module_interface(name);
  return Manifest{std::move(name),           std::move(summary),
                  std::move(subscribes),     std::move(interface.serves),
                  std::move(tables),         std::move(interface.publishes),
                  std::move(interface.calls)};
}

Reply::Reply(bus::Envelope request, std::string source, Sender sender)
    : request_(std::move(request)), source_(std::move(source)), sender_(std::move(sender)) {}

Reply::Reply(Reply&& other) noexcept
    : request_(std::move(other.request_)),
      source_(std::move(other.source_)),
      sender_(std::move(other.sender_)),
      answered_(other.answered_) {
  other.answered_ = true;
}

Reply::~Reply() {
  if (!answered_) {
    fail(nauto::fail(Errc::Bug, "the module finished without answering", request_.topic));
  }
}

void Reply::ok(std::string body) {
  if (answered_) return;
  answered_ = true;
  sender_(bus::make_reply(request_, source_, std::move(body)));
}

void Reply::ok_json(const nlohmann::json& body) {
  ok(bus::to_body(body));
}

void Reply::fail(const Error& error) {
  if (answered_) return;
  answered_ = true;
  sender_(bus::make_error_reply(request_, source_, error));
}

void Module::on_event(const bus::Envelope&, Context&) {}

std::vector<std::string> Module::excluded_topics(const nlohmann::json&) const {
  return {};
}

void Module::on_request(const bus::Envelope& request, Context& ctx, Reply reply) {
  reply.fail(nauto::fail(Errc::Unsupported,
                         "module '" + ctx.name() + "' does not serve '" + request.topic + "'"));
}

void Module::stop(Context&) noexcept {}

namespace {
// Function-local so registrars never depend on another global's initialisation order.
std::map<std::string, ModuleFactory>& table() {
  static std::map<std::string, ModuleFactory> factories;
  return factories;
}
}  // namespace

bool ModuleRegistry::add(const char* name, ModuleFactory factory) {
  table()[name] = factory;
  return true;
}

ModuleFactory ModuleRegistry::find(const std::string& name) {
  auto it = table().find(name);
  return it == table().end() ? nullptr : it->second;
}

std::vector<std::string> ModuleRegistry::names() {
  std::vector<std::string> out;
  for (const auto& [name, factory] : table())
    out.push_back(name);
  return out;
}

}  // namespace nauto
