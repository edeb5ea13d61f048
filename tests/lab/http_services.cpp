#include "http_services.h"

#include <httplib.h>
#include <sys/socket.h>

#include <map>

#include "cli_engine.h"
#include "meraki_dashboard.h"
#include "show_output.h"
#include "ssh_server.h"

namespace nauto::lab {
namespace {

// One thread pool for every HTTP server, so a large fleet does not cost eight threads a device.
class SharedPool {
 public:
  explicit SharedPool(size_t threads) {
    for (size_t i = 0; i < threads; ++i) {
      workers_.emplace_back([this] {
        for (;;) {
          std::function<void()> job;
          {
            std::unique_lock lock(mutex_);
            ready_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
            if (stopping_ && jobs_.empty()) return;
            job = std::move(jobs_.front());
            jobs_.pop_front();
          }
          job();
        }
      });
    }
  }
  ~SharedPool() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    ready_.notify_all();
    for (auto& worker : workers_)
      worker.join();
  }
  void enqueue(std::function<void()> job) {
    {
      std::lock_guard lock(mutex_);
      jobs_.push_back(std::move(job));
    }
    ready_.notify_one();
  }

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::thread> workers_;
  bool stopping_ = false;
};

// One server's view of the shared pool. shutdown() waits for that server's queued and running
// requests, as httplib's own pool does, so none outlives the server it belongs to.
class PoolQueue : public httplib::TaskQueue {
 public:
  explicit PoolQueue(std::shared_ptr<SharedPool> pool) : pool_(std::move(pool)) {}
  void enqueue(std::function<void()> fn) override {
    {
      std::lock_guard lock(state_->mutex);
      ++state_->in_flight;
    }
    pool_->enqueue([state = state_, fn = std::move(fn)] {
      fn();
      std::lock_guard lock(state->mutex);
      if (--state->in_flight == 0) state->idle.notify_all();
    });
  }
  void shutdown() override {
    std::unique_lock lock(state_->mutex);
    state_->idle.wait(lock, [&] { return state_->in_flight == 0; });
  }

 private:
  struct State {
    std::mutex mutex;
    std::condition_variable idle;
    int in_flight = 0;
  };
  std::shared_ptr<SharedPool> pool_;
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

std::string base64_decode(const std::string& in) {
  static const std::string chars =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  int value = 0, bits = -8;
  for (char c : in) {
    auto pos = chars.find(c);
    if (pos == std::string::npos) break;
    value = (value << 6) + static_cast<int>(pos);
    bits += 6;
    if (bits >= 0) {
      out += static_cast<char>((value >> bits) & 0xff);
      bits -= 8;
    }
  }
  return out;
}

bool basic_auth_ok(const httplib::Request& request, const FleetSpec& fleet) {
  auto header = request.get_header_value("Authorization");
  if (header.rfind("Basic ", 0) != 0) return false;
  return base64_decode(header.substr(6)) == fleet.username + ":" + fleet.password;
}

void send_json(httplib::Response& response, int status, const nlohmann::json& body) {
  response.status = status;
  response.set_content(body.dump(), "application/json");
}

// Commands with a structured form, as both APIs name them.
std::optional<Show> json_command(const std::string& command) {
  static const std::map<std::string, Show> kCommands{
      {"show version", Show::Version},
      {"show interfaces", Show::Interfaces},
      {"show interface", Show::Interfaces},
      {"show interfaces status", Show::InterfacesStatus},
      {"show interface status", Show::InterfacesStatus},
      {"show interface brief", Show::InterfacesStatus},
      {"show ip interface brief", Show::IpInterfaceBrief},
      {"show ip bgp summary", Show::BgpSummary},
      {"show lldp neighbors", Show::LldpNeighbors},
      {"show ip route", Show::IpRoute}};
  auto words = split_words(command);
  auto it = kCommands.find(join_words(words));
  if (it == kCommands.end()) return std::nullopt;
  return it->second;
}

std::string first_error_line(const std::string& output) {
  size_t pos = 0;
  while (pos < output.size()) {
    size_t end = output.find('\n', pos);
    if (end == std::string::npos) end = output.size();
    std::string line = output.substr(pos, end - pos);
    if (line.rfind("%", 0) == 0) return line.substr(2);
    pos = end + 1;
  }
  return output;
}

}  // namespace

HttpServices::HttpServices(const FleetSpec& fleet, std::vector<Device*> devices,
                           const SshServer& ssh)
    : fleet_(fleet), devices_(std::move(devices)), ssh_(ssh) {}

HttpServices::~HttpServices() {
  stop();
}

Device* HttpServices::find(const std::string& name) const {
  for (auto* device : devices_) {
    if (device->spec().name == name) return device;
  }
  return nullptr;
}

void HttpServices::add_device_api(httplib::Server& server, Device& device) {
  const bool eos = device.spec().platform == Platform::AristaEos;
  auto latency = [&device] {
    int ms = device.faults().latency_ms;
    if (ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(ms));  // injected fault
  };
  if (eos) {
    server.Post("/command-api", [this, &device, latency](const httplib::Request& request,
                                                         httplib::Response& response) {
      if (!basic_auth_ok(request, fleet_)) {
        response.status = 401;
        response.set_content("Unable to authenticate user: Bad username/password combination",
                             "text/plain");
        return;
      }
      latency();
      auto body = nlohmann::json::parse(request.body, nullptr, false);
      nlohmann::json id =
          body.is_object() && body.contains("id") ? body["id"] : nlohmann::json(nullptr);
      auto rpc_error = [&](int code, const std::string& message, nlohmann::json data) {
        send_json(response, 200,
                  {{"jsonrpc", "2.0"},
                   {"id", id},
                   {"error", {{"code", code}, {"message", message}, {"data", data}}}});
      };
      if (!body.is_object() || body.value("method", "") != "runCmds" || !body.contains("params") ||
          !body["params"].contains("cmds") || !body["params"]["cmds"].is_array()) {
        return rpc_error(
            -32600,
            "Invalid request: expected {jsonrpc, method: runCmds, params: {version, cmds}, id}",
            nlohmann::json::array());
      }
      std::string format = body["params"].value("format", "json");
      if (format != "json" && format != "text")
        return rpc_error(-32602, "Invalid params: format must be json or text",
                         nlohmann::json::array());
      auto engine = CliEngine::create(
          device, SessionInfo{fleet_.username, request.remote_addr, "eapi", "eapi"});
      engine->grant_privilege();
      nlohmann::json results = nlohmann::json::array();
      const auto& cmds = body["params"]["cmds"];
      for (size_t i = 0; i < cmds.size(); ++i) {
        std::string command =
            cmds[i].is_string() ? cmds[i].get<std::string>() : cmds[i].value("cmd", "");
        auto show = json_command(command);
        if (format == "json" && show) {
          if (auto json = render_show_json(*show, device.view())) {
            device.record_command("eapi", command);
            results.push_back(*json);
            continue;
          }
        }
        auto reply = engine->execute(command);
        if (reply.error) {
          results.push_back(
              {{"errors", {first_error_line(reply.output) + " (at token 0: '" + command + "')"}}});
          return rpc_error(1002,
                           "CLI command " + std::to_string(i + 1) + " of " +
                               std::to_string(cmds.size()) + " '" + command +
                               "' failed: invalid command",
                           results);
        }
        if (format == "text") {
          results.push_back({{"output", reply.output}});
        } else if (!reply.output.empty() && command.rfind("show", 0) == 0) {
          results.push_back({{"errors", {"This is an unconverted command"}}});
          return rpc_error(1003,
                           "CLI command " + std::to_string(i + 1) + " of " +
                               std::to_string(cmds.size()) + " '" + command +
                               "' failed: unconverted command",
                           results);
        } else {
          results.push_back(nlohmann::json::object());
        }
      }
      send_json(response, 200, {{"jsonrpc", "2.0"}, {"id", id}, {"result", results}});
    });
    return;
  }
  server.Post("/ins", [this, &device, latency](const httplib::Request& request,
                                               httplib::Response& response) {
    if (!basic_auth_ok(request, fleet_)) {
      response.status = 401;
      response.set_content("{\"error\": \"Authentication failed\"}", "application/json");
      return;
    }
    latency();
    auto body = nlohmann::json::parse(request.body, nullptr, false);
    auto engine = CliEngine::create(
        device, SessionInfo{fleet_.username, request.remote_addr, "nxapi", "nxapi"});
    auto run_one = [&](const std::string& command, bool json, nlohmann::json& out) {
      auto show = json ? json_command(command) : std::nullopt;
      if (show) {
        if (auto structured = render_show_json(*show, device.view())) {
          device.record_command("nxapi", command);
          out = {{"input", command}, {"msg", "Success"}, {"code", "200"}, {"body", *structured}};
          return true;
        }
      }
      auto reply = engine->execute(command);
      if (reply.error) {
        out = {{"input", command},
               {"msg", "Input CLI command error"},
               {"code", "400"},
               {"clierror", reply.output}};
        return false;
      }
      if (json && !reply.output.empty()) {
        out = {{"input", command},
               {"msg", "Structured output unsupported"},
               {"code", "501"},
               {"clierror", ""}};
        return false;
      }
      out = {{"input", command},
             {"msg", "Success"},
             {"code", "200"},
             {"body", json ? nlohmann::json::object() : nlohmann::json(reply.output)}};
      return true;
    };
    if (body.is_array()) {  // JSON-RPC 2.0 form
      nlohmann::json replies = nlohmann::json::array();
      for (const auto& call : body) {
        std::string method = call.value("method", "");
        std::string command = call.contains("params") ? call["params"].value("cmd", "") : "";
        nlohmann::json out;
        bool good =
            (method == "cli" || method == "cli_ascii") && run_one(command, method == "cli", out);
        if (good) {
          replies.push_back({{"jsonrpc", "2.0"},
                             {"result", {{"body", out["body"]}}},
                             {"id", call.value("id", 1)}});
        } else {
          replies.push_back(
              {{"jsonrpc", "2.0"},
               {"error",
                {{"code", -32602},
                 {"message", "Invalid params"},
                 {"data", {{"msg", out.value("clierror", "unknown method " + method)}}}}},
               {"id", call.value("id", 1)}});
        }
      }
      return send_json(response, 200, replies.size() == 1 ? replies[0] : replies);
    }
    if (!body.is_object() || !body.contains("ins_api")) {
      return send_json(
          response, 400,
          {{"ins_api",
            {{"outputs",
              {{"output", {{"code", "400"}, {"msg", "Request body must hold ins_api"}}}}}}}});
    }
    const auto& api = body["ins_api"];
    std::string type = api.value("type", "cli_show");
    std::string input = api.value("input", "");
    if (type != "cli_show" && type != "cli_show_ascii" && type != "cli_conf") {
      return send_json(
          response, 400,
          {{"ins_api",
            {{"outputs", {{"output", {{"code", "400"}, {"msg", "Invalid type: " + type}}}}}}}});
    }
    std::vector<std::string> commands;
    size_t pos = 0;
    while (pos <= input.size()) {
      size_t end = input.find(';', pos);
      if (end == std::string::npos) end = input.size();
      auto command = join_words(split_words(input.substr(pos, end - pos)));
      if (!command.empty()) commands.push_back(command);
      pos = end + 1;
    }
    if (type == "cli_conf") engine->execute("configure terminal");
    nlohmann::json outputs = nlohmann::json::array();
    for (const auto& command : commands) {
      nlohmann::json out;
      bool good = run_one(command, type == "cli_show", out);
      outputs.push_back(out);
      if (!good) break;
    }
    if (type == "cli_conf") engine->execute("end");
    send_json(response, 200,
              {{"ins_api",
                {{"type", type},
                 {"version", "1.0"},
                 {"sid", "eoc"},
                 {"outputs", {{"output", outputs.size() == 1 ? outputs[0] : outputs}}}}}});
  });
}

void HttpServices::add_control_api(httplib::Server& server) {
  auto with_device = [this](const httplib::Request& request,
                            httplib::Response& response) -> Device* {
    auto* device = find(request.matches[1]);
    if (device == nullptr)
      send_json(response, 404,
                {{"error", "no device named '" + std::string(request.matches[1]) + "'"}});
    return device;
  };
  server.Get("/fleet", [this](const httplib::Request&, httplib::Response& response) {
    nlohmann::json out = nlohmann::json::array();
    for (auto* device : devices_) {
      const auto& spec = device->spec();
      out.push_back({{"name", spec.name},
                     {"platform", platform_name(spec.platform)},
                     {"ssh_port", spec.ssh_port},
                     {"api_port", spec.api_port},
                     {"site", spec.site},
                     {"role", spec.role}});
    }
    send_json(response, 200, out);
  });
  server.Get("/stats", [this](const httplib::Request&, httplib::Response& response) {
    const auto& stats = ssh_.stats();
    send_json(response, 200,
              {{"devices", devices_.size()},
               {"ssh_sessions_total", stats.sessions_total.load()},
               {"ssh_sessions_active", stats.sessions_active.load()},
               {"ssh_auth_failures", stats.auth_failures.load()},
               {"cli_commands", stats.commands.load()}});
  });
  server.Get(R"(/devices/([^/]+))",
             [with_device](const httplib::Request& request, httplib::Response& response) {
               auto* device = with_device(request, response);
               if (device == nullptr) return;
               auto view = device->view();
               nlohmann::json interfaces = nlohmann::json::array(), peers = nlohmann::json::array();
               for (const auto& item : view.interfaces) {
                 interfaces.push_back({{"name", item.name},
                                       {"description", item.description},
                                       {"admin_up", item.admin_up},
                                       {"oper_up", item.oper_up},
                                       {"address", item.address},
                                       {"prefix_length", item.prefix_length}});
               }
               for (const auto& peer : view.peers) {
                 peers.push_back({{"address", peer.address},
                                  {"remote_as", peer.remote_as},
                                  {"state", peer.state},
                                  {"admin_up", peer.admin_up}});
               }
               send_json(response, 200,
                         {{"name", device->spec().name},
                          {"hostname", view.hostname},
                          {"platform", platform_name(view.platform)},
                          {"interfaces", interfaces},
                          {"bgp", peers}});
             });
  server.Get(R"(/devices/([^/]+)/config)",
             [with_device](const httplib::Request& request, httplib::Response& response) {
               if (auto* device = with_device(request, response))
                 response.set_content(device->running_config_text(), "text/plain");
             });
  server.Get(R"(/devices/([^/]+)/commands)",
             [with_device](const httplib::Request& request, httplib::Response& response) {
               auto* device = with_device(request, response);
               if (device == nullptr) return;
               nlohmann::json out = nlohmann::json::array();
               device->read([&](const DeviceState& state) {
                 for (const auto& record : state.commands) {
                   out.push_back({{"time_us", record.time_us},
                                  {"done_us", record.done_us},
                                  {"channel", record.channel},
                                  {"command", record.text}});
                 }
               });
               send_json(response, 200, out);
             });
  auto flip = [with_device](const char* key, bool link) {
    return [with_device, key, link](const httplib::Request& request, httplib::Response& response) {
      auto* device = with_device(request, response);
      if (device == nullptr) return;
      auto body = nlohmann::json::parse(request.body, nullptr, false);
      if (!body.is_object() || !body.contains(key) || !body[key].is_string() ||
          !body.contains("up") || !body["up"].is_boolean()) {
        return send_json(
            response, 400,
            {{"error", std::string("expected {\"") + key + "\": NAME, \"up\": true|false}"}});
      }
      std::string name = body[key];
      bool up = body["up"];
      auto view = device->view();
      bool exists = link ? view.interface(name) != nullptr
                         : std::any_of(view.peers.begin(), view.peers.end(),
                                       [&](const BgpPeerView& p) { return p.address == name; });
      if (!exists)
        return send_json(
            response, 404,
            {{"error", std::string(key) + " '" + name + "' not found on " + device->spec().name}});
      device->mutate([&](DeviceState& state) {
        auto& set = link ? state.links_down : state.peers_down;
        if (up)
          set.erase(name);
        else
          set.insert(name);
      });
      send_json(response, 200, {{"ok", true}});
    };
  };
  // An operator at the console shuts (or un-shuts) an interface: the running configuration
  // changes and the device logs it as it would (link, line protocol, config change).
  server.Post(R"(/devices/([^/]+)/interface)", [with_device](const httplib::Request& request,
                                                             httplib::Response& response) {
    auto* device = with_device(request, response);
    if (device == nullptr) return;
    auto body = nlohmann::json::parse(request.body, nullptr, false);
    if (!body.is_object() || !body.contains("interface") || !body["interface"].is_string() ||
        !body.contains("shutdown") || !body["shutdown"].is_boolean()) {
      return send_json(response, 400,
                       {{"error", "expected {\"interface\": NAME, \"shutdown\": true|false}"}});
    }
    const std::string name = body["interface"];
    const bool shutdown = body["shutdown"];
    if (device->view().interface(name) == nullptr) {
      return send_json(response, 404,
                       {{"error", "interface '" + name + "' not found on " + device->spec().name}});
    }
    const bool junos = device->spec().platform == Platform::JuniperJunos;
    device->mutate([&](DeviceState& state) {
      if (junos) {
        if (shutdown)
          (void)state.committed.set({}, {"interfaces", name, "disable"});
        else
          (void)state.committed.erase({}, {"interfaces", name, "disable"});
        state.candidate = state.committed;
      } else if (shutdown) {
        state.running.set({"interface " + name}, "shutdown");
      } else {
        state.running.unset({"interface " + name}, "shutdown");
      }
    });
    device->config_changed("console", "console");
    send_json(response, 200, {{"ok", true}});
  });
  server.Post(R"(/devices/([^/]+)/link)", flip("interface", true));
  server.Post(R"(/devices/([^/]+)/bgp)", flip("neighbor", false));
  server.Get(R"(/devices/([^/]+)/faults)",
             [with_device](const httplib::Request& request, httplib::Response& response) {
               if (auto* device = with_device(request, response))
                 send_json(response, 200, device->faults().to_json());
             });
  server.Put(R"(/devices/([^/]+)/faults)",
             [with_device](const httplib::Request& request, httplib::Response& response) {
               auto* device = with_device(request, response);
               if (device == nullptr) return;
               auto body = nlohmann::json::parse(request.body, nullptr, false);
               auto faults = Faults::from_json(body, "faults");
               if (!faults) return send_json(response, 400, {{"error", faults.error().message}});
               device->set_faults(*faults);
               send_json(response, 200, faults->to_json());
             });
  server.Post("/reset", [this](const httplib::Request&, httplib::Response& response) {
    for (auto* device : devices_)
      device->reset();
    send_json(response, 200, {{"ok", true}});
  });
}

Result<void> HttpServices::start(const std::string& certificate, const std::string& private_key) {
  auto pool = std::make_shared<SharedPool>(4);
  auto make_server = [&](bool tls) -> std::unique_ptr<httplib::Server> {
    std::unique_ptr<httplib::Server> server;
    if (tls) {
      server = std::make_unique<httplib::SSLServer>(certificate.c_str(), private_key.c_str());
    } else {
      server = std::make_unique<httplib::Server>();
    }
    server->new_task_queue = [pool] { return new PoolQueue(pool); };
    // cpp-httplib 0.11 sets only SO_REUSEPORT, which cannot bind over a connection an earlier
    // test's server left in TIME_WAIT on the same port; SO_REUSEADDR can.
    server->set_socket_options([](socket_t socket) {
      int yes = 1;
      ::setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    return server;
  };
  auto bind = [&](httplib::Server& server, uint16_t port, const std::string& what) -> Result<void> {
    if (!server.is_valid())
      return fail(Errc::Library, "cannot set up TLS for " + what + " (check " + certificate + ")");
    if (!server.bind_to_port("127.0.0.1", port)) {
      return fail(Errc::System, "cannot listen on 127.0.0.1:" + std::to_string(port) + " for " +
                                    what + " (choose another base_port)");
    }
    return ok();
  };
  auto control = make_server(false);
  add_control_api(*control);
  auto bound = bind(*control, fleet_.control_port, "the control API");
  if (!bound) return bound;
  servers_.push_back(std::move(control));
  if (fleet_.meraki.enabled) {
    meraki_ = std::make_unique<MerakiDashboard>(fleet_);
    auto server = make_server(fleet_.api_tls);
    std::string base = std::string(fleet_.api_tls ? "https" : "http") +
                       "://127.0.0.1:" + std::to_string(fleet_.meraki.port);
    meraki_->install(*server, base);
    bound = bind(*server, fleet_.meraki.port, "the Meraki dashboard");
    if (!bound) return bound;
    servers_.push_back(std::move(server));
  }
  for (auto* device : devices_) {
    if (device->spec().api_port == 0) continue;
    auto server = make_server(fleet_.api_tls);
    add_device_api(*server, *device);
    bound = bind(*server, device->spec().api_port, device->spec().name + "'s HTTP API");
    if (!bound) return bound;
    servers_.push_back(std::move(server));
  }
  for (auto& server : servers_) {
    auto* raw = server.get();
    threads_.emplace_back([raw] { raw->listen_after_bind(); });
  }
  return ok();
}

void HttpServices::stop() {
  for (auto& server : servers_)
    server->stop();
  for (auto& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
  threads_.clear();
  servers_.clear();
}

}  // namespace nauto::lab
