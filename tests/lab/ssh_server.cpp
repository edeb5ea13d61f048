#include "ssh_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <libssh/callbacks.h>
#include <libssh/libssh.h>
#include <libssh/server.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <list>
#include <mutex>
#include <random>

#include "nauto/base/doorbell.h"
#include "netconf_session.h"
#include "terminal_session.h"

namespace nauto::lab {
namespace {

std::string software_banner(Platform platform) {
  switch (platform) {
    case Platform::CiscoIos:
      return "Cisco-1.25";
    case Platform::AristaEos:
      return "OpenSSH_8.7";
    case Platform::CiscoNxos:
      return "OpenSSH_8.3";
    case Platform::JuniperJunos:
      return "OpenSSH_7.5";
  }
  return "nauto-lab";
}

Result<ssh_key> load_or_create_key(const std::string& path) {
  ssh_key key = nullptr;
  if (std::filesystem::exists(path)) {
    if (ssh_pki_import_privkey_file(path.c_str(), nullptr, nullptr, nullptr, &key) == SSH_OK)
      return key;
    return fail(Errc::Library, "cannot read host key " + path + " (delete it to make a new one)");
  }
  if (ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &key) != SSH_OK) {
    return fail(Errc::Library, "cannot generate an ed25519 host key");
  }
  if (ssh_pki_export_privkey_file(key, nullptr, nullptr, nullptr, path.c_str()) != SSH_OK) {
    ssh_key_free(key);
    return fail(Errc::System, "cannot write host key " + path);
  }
  ::chmod(path.c_str(), 0600);
  return key;
}

Result<ssh_bind> make_bind(ssh_key key, Platform platform) {
  ssh_bind bind = ssh_bind_new();
  if (bind == nullptr) return fail(Errc::Library, "ssh_bind_new failed");
  int verbosity = SSH_LOG_NOLOG;
  ssh_bind_options_set(bind, SSH_BIND_OPTIONS_LOG_VERBOSITY, &verbosity);
  std::string banner = software_banner(platform);
  ssh_bind_options_set(bind, SSH_BIND_OPTIONS_BANNER, banner.c_str());
  // The listener owns its key; give it a copy so a second listener (changed host key) and
  // the known_hosts writer keep theirs.
  ssh_key copy = nullptr;
  char* base64 = nullptr;
  if (ssh_pki_export_privkey_base64(key, nullptr, nullptr, nullptr, &base64) != SSH_OK ||
      ssh_pki_import_privkey_base64(base64, nullptr, nullptr, nullptr, &copy) != SSH_OK) {
    ssh_string_free_char(base64);
    ssh_bind_free(bind);
    return fail(Errc::Library, "cannot copy the host key into the SSH listener");
  }
  ssh_string_free_char(base64);
  if (ssh_bind_options_set(bind, SSH_BIND_OPTIONS_IMPORT_KEY, copy) != SSH_OK) {
    ssh_key_free(copy);
    ssh_bind_free(bind);
    return fail(Errc::Library, std::string("cannot use the host key: ") + ssh_get_error(bind));
  }
  return bind;
}

}  // namespace

struct SshServer::Listener {
  Device* device = nullptr;
  int fd = -1;
  ssh_bind bind = nullptr;          ///< the device's real host key
  ssh_bind changed_bind = nullptr;  ///< another key, for the changed_host_key fault
  ssh_key host_key = nullptr;
  std::vector<ssh_key> authorized;
  ~Listener() {
    if (fd >= 0) ::close(fd);
    if (bind) ssh_bind_free(bind);
    if (changed_bind) ssh_bind_free(changed_bind);
    if (host_key) ssh_key_free(host_key);
  }
};

namespace {

struct Connection;

// One SSH channel: a shell, an exec or a NETCONF subsystem, and the bytes owed to the client.
struct Channel {
  Connection* connection = nullptr;
  ssh_channel channel = nullptr;
  ssh_channel_callbacks_struct callbacks{};
  std::unique_ptr<TerminalSession> terminal;
  std::unique_ptr<NetconfSession> netconf;
  std::string out;                                      ///< ready to send
  std::deque<std::pair<int64_t, std::string>> delayed;  ///< (due steady ms, bytes): latency fault
  uint64_t sent = 0;
  int64_t throttle_start_ms = 0;
  uint64_t throttle_sent = 0;
  bool close_after_flush = false;
  bool closed = false;
  int exit_status = 0;
};

struct Connection {
  Device* device = nullptr;
  const FleetSpec* fleet = nullptr;
  const std::vector<ssh_key>* authorized = nullptr;
  SshStats* stats = nullptr;
  ssh_session session = nullptr;
  ssh_server_callbacks_struct callbacks{};
  std::list<std::unique_ptr<Channel>> channels;
  std::string user;
  std::string peer;
  std::string id;
  bool authenticated = false;
  bool drop = false;  ///< disconnect at the next pump (fault)
  std::mt19937_64 random;
  Faults faults;
};

std::atomic<uint64_t> g_connection_counter{0};

void queue(Channel& channel, std::string bytes) {
  if (bytes.empty()) return;
  auto& c = *channel.connection;
  int latency = c.faults.latency_ms;
  if (latency > 0) {
    channel.delayed.emplace_back(steady_ms() + latency, std::move(bytes));
  } else if (!channel.delayed.empty()) {
    channel.delayed.emplace_back(channel.delayed.back().first, std::move(bytes));
  } else {
    channel.out += bytes;
  }
}

// Per-command faults: a dropped connection or garbage in the reply.
std::string command_faults(Channel& channel, std::string bytes) {
  auto& c = *channel.connection;
  std::uniform_real_distribution<double> chance(0, 1);
  if (c.faults.disconnect_probability > 0 && chance(c.random) < c.faults.disconnect_probability) {
    c.drop = true;
    return {};
  }
  if (c.faults.garbage_probability > 0 && chance(c.random) < c.faults.garbage_probability) {
    std::string garbage;
    for (int i = 0; i < 16; ++i)
      garbage += static_cast<char>(c.random() & 0xff);
    size_t at = bytes.empty() ? 0 : c.random() % bytes.size();
    bytes.insert(at, garbage);
  }
  return bytes;
}

int on_data(ssh_session, ssh_channel, void* data, uint32_t len, int is_stderr, void* userdata) {
  auto& channel = *static_cast<Channel*>(userdata);
  if (is_stderr) return static_cast<int>(len);
  std::string_view bytes(static_cast<const char*>(data), len);
  if (channel.terminal) {
    int before = channel.terminal->lines_run();
    std::string reply = channel.terminal->feed(bytes);
    int ran = channel.terminal->lines_run() - before;
    channel.connection->stats->commands += static_cast<uint64_t>(ran);
    if (ran > 0) reply = command_faults(channel, std::move(reply));
    queue(channel, std::move(reply));
    if (channel.terminal->closed()) channel.close_after_flush = true;
  } else if (channel.netconf) {
    queue(channel, channel.netconf->feed(bytes));
    if (channel.netconf->closed()) channel.close_after_flush = true;
  }
  return static_cast<int>(len);
}

int on_pty(ssh_session, ssh_channel, const char*, int, int, int, int, void*) {
  return SSH_OK;
}

int on_window_change(ssh_session, ssh_channel, int, int, int, int, void*) {
  return SSH_OK;
}

SessionInfo session_info(Connection& c, const std::string& channel) {
  return SessionInfo{c.user, c.peer, channel, c.id};
}

int on_shell(ssh_session, ssh_channel, void* userdata) {
  auto& channel = *static_cast<Channel*>(userdata);
  auto& c = *channel.connection;
  channel.terminal =
      std::make_unique<TerminalSession>(CliEngine::create(*c.device, session_info(c, "cli")));
  queue(channel, channel.terminal->start());
  return SSH_OK;
}

int on_exec(ssh_session, ssh_channel, const char* command, void* userdata) {
  auto& channel = *static_cast<Channel*>(userdata);
  auto& c = *channel.connection;
  auto engine = CliEngine::create(*c.device, session_info(c, "exec"));
  engine->grant_privilege();
  auto reply = engine->execute(command);
  c.stats->commands++;
  channel.exit_status = reply.error ? 1 : 0;
  queue(channel, command_faults(channel, to_crlf(reply.output)));
  channel.close_after_flush = true;
  return SSH_OK;
}

int on_subsystem(ssh_session, ssh_channel, const char* subsystem, void* userdata) {
  auto& channel = *static_cast<Channel*>(userdata);
  auto& c = *channel.connection;
  if (std::string(subsystem) != "netconf" || c.device->spec().platform != Platform::JuniperJunos) {
    return SSH_ERROR;
  }
  static std::atomic<int> session_ids{1000};
  channel.netconf =
      std::make_unique<NetconfSession>(*c.device, session_info(c, "netconf"), ++session_ids);
  queue(channel, channel.netconf->hello());
  return SSH_OK;
}

void on_eof(ssh_session, ssh_channel, void* userdata) {
  static_cast<Channel*>(userdata)->close_after_flush = true;
}

void on_close(ssh_session, ssh_channel, void* userdata) {
  static_cast<Channel*>(userdata)->closed = true;
}

ssh_channel on_channel_open(ssh_session session, void* userdata) {
  auto& c = *static_cast<Connection*>(userdata);
  auto channel = std::make_unique<Channel>();
  channel->connection = &c;
  channel->channel = ssh_channel_new(session);
  if (channel->channel == nullptr) return nullptr;
  auto& cb = channel->callbacks;
  cb.userdata = channel.get();
  cb.channel_data_function = on_data;
  cb.channel_pty_request_function = on_pty;
  cb.channel_pty_window_change_function = on_window_change;
  cb.channel_shell_request_function = on_shell;
  cb.channel_exec_request_function = on_exec;
  cb.channel_subsystem_request_function = on_subsystem;
  cb.channel_eof_function = on_eof;
  cb.channel_close_function = on_close;
  ssh_callbacks_init(&cb);
  ssh_set_channel_callbacks(channel->channel, &cb);
  ssh_channel result = channel->channel;
  c.channels.push_back(std::move(channel));
  return result;
}

int on_password(ssh_session, const char* user, const char* password, void* userdata) {
  auto& c = *static_cast<Connection*>(userdata);
  if (!c.faults.refuse_auth && c.fleet->username == user && c.fleet->password == password) {
    c.user = user;
    c.authenticated = true;
    return SSH_AUTH_SUCCESS;
  }
  c.stats->auth_failures++;
  return SSH_AUTH_DENIED;
}

int on_pubkey(ssh_session, const char* user, ssh_key_struct* key, char signature_state,
              void* userdata) {
  auto& c = *static_cast<Connection*>(userdata);
  if (c.faults.refuse_auth || c.fleet->username != user) {
    c.stats->auth_failures++;
    return SSH_AUTH_DENIED;
  }
  bool known = false;
  for (auto* allowed : *c.authorized) {
    if (ssh_key_cmp(allowed, key, SSH_KEY_CMP_PUBLIC) == 0) known = true;
  }
  if (!known) return SSH_AUTH_DENIED;
  if (signature_state == SSH_PUBLICKEY_STATE_NONE) return SSH_AUTH_SUCCESS;  // key acceptable
  if (signature_state == SSH_PUBLICKEY_STATE_VALID) {
    c.user = user;
    c.authenticated = true;
    return SSH_AUTH_SUCCESS;
  }
  c.stats->auth_failures++;
  return SSH_AUTH_DENIED;
}

// Sends what the window, the throttle and the hang/drop faults allow. Returns false when the
// connection should end.
bool pump(Channel& channel, int64_t now) {
  auto& c = *channel.connection;
  while (!channel.delayed.empty() && channel.delayed.front().first <= now) {
    channel.out += channel.delayed.front().second;
    channel.delayed.pop_front();
  }
  if (channel.out.empty()) return true;
  const auto& faults = c.faults;
  size_t allowed = channel.out.size();
  if (faults.hang_after_bytes >= 0) {
    uint64_t limit = static_cast<uint64_t>(faults.hang_after_bytes);
    allowed = channel.sent >= limit ? 0 : std::min<size_t>(allowed, limit - channel.sent);
  }
  if (faults.drop_after_bytes >= 0) {
    uint64_t limit = static_cast<uint64_t>(faults.drop_after_bytes);
    if (channel.sent >= limit) return false;
    allowed = std::min<size_t>(allowed, limit - channel.sent);
  }
  if (faults.output_bytes_per_second > 0) {
    if (channel.throttle_start_ms == 0 || now - channel.throttle_start_ms > 1000) {
      channel.throttle_start_ms = now;
      channel.throttle_sent = 0;
    }
    uint64_t budget = static_cast<uint64_t>(faults.output_bytes_per_second) *
                      static_cast<uint64_t>(now - channel.throttle_start_ms + 10) / 1000;
    allowed = budget > channel.throttle_sent
                  ? std::min<size_t>(allowed, budget - channel.throttle_sent)
                  : 0;
  }
  allowed = std::min<size_t>(allowed, ssh_channel_window_size(channel.channel));
  allowed = std::min<size_t>(allowed, 64 * 1024);
  if (allowed == 0) return true;
  int written =
      ssh_channel_write(channel.channel, channel.out.data(), static_cast<uint32_t>(allowed));
  if (written == SSH_ERROR) return false;
  channel.out.erase(0, static_cast<size_t>(written));
  channel.sent += static_cast<uint64_t>(written);
  channel.throttle_sent += static_cast<uint64_t>(written);
  return true;
}

// libssh keeps a channel we freed until the peer's close arrives, and would call our callbacks
// with a dangling pointer; detach them first.
void release(Channel& channel) {
  if (channel.channel == nullptr) return;
  ssh_remove_channel_callbacks(channel.channel, &channel.callbacks);
  ssh_channel_free(channel.channel);
  channel.channel = nullptr;
}

bool has_pending(const Connection& c) {
  for (const auto& channel : c.channels) {
    if (!channel->out.empty() || !channel->delayed.empty()) return true;
  }
  return false;
}

}  // namespace

struct SshServer::Worker {
  SshServer* server = nullptr;
  ssh_event event = nullptr;
  std::vector<Listener*> listeners;
  std::list<std::unique_ptr<Connection>> connections;
  std::thread thread;
  // Written by stop(): a worker with no connection sleeps in poll without a timeout (an idle
  // lab of 10,000 devices then costs no CPU), so stopping has to wake it.
  Doorbell wake_bell;

  ~Worker() {
    for (auto& c : connections)
      close_connection(*c);
    connections.clear();
    if (event) ssh_event_free(event);
  }

  void wake() { wake_bell.ring(); }

  static int on_wake(socket_t, int, void* bell) {
    static_cast<Doorbell*>(bell)->drain();
    return 0;
  }

  void close_connection(Connection& c) {
    if (c.session == nullptr) return;
    ssh_event_remove_session(event, c.session);
    for (auto& channel : c.channels)
      release(*channel);
    c.channels.clear();
    ssh_disconnect(c.session);
    ssh_free(c.session);
    c.session = nullptr;
    server->stats_.sessions_active--;
  }

  void accept_on(Listener& listener) {
    for (;;) {
      sockaddr_in address{};
      socklen_t length = sizeof address;
      int fd = ::accept4(listener.fd, reinterpret_cast<sockaddr*>(&address), &length, SOCK_CLOEXEC);
      if (fd < 0) return;
      // As OpenSSH's sshd does for an interactive session (and routers' SSH servers do): a
      // prompt written right after output goes out at once, instead of waiting (Nagle) for
      // the client's delayed ACK, up to 40 ms per exchange.
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      auto c = std::make_unique<Connection>();
      c->device = listener.device;
      c->fleet = &server->fleet_;
      c->authorized = &listener.authorized;
      c->stats = &server->stats_;
      c->faults = listener.device->faults();
      uint64_t number = ++g_connection_counter;
      c->id = listener.device->spec().name + "#" + std::to_string(number);
      c->random.seed(mix(server->fleet_.seed, number));
      char text[INET_ADDRSTRLEN] = {};
      inet_ntop(AF_INET, &address.sin_addr, text, sizeof text);
      c->peer = text;
      ssh_bind bind = listener.bind;
      if (c->faults.changed_host_key) {
        if (listener.changed_bind == nullptr) {
          ssh_key other = nullptr;
          if (ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &other) == SSH_OK) {
            auto made = make_bind(other, listener.device->spec().platform);
            if (made) listener.changed_bind = *made;
            ssh_key_free(other);
          }
        }
        if (listener.changed_bind) bind = listener.changed_bind;
      }
      c->session = ssh_new();
      if (c->session == nullptr || ssh_bind_accept_fd(bind, c->session, fd) != SSH_OK) {
        if (c->session) ssh_free(c->session);
        ::close(fd);
        continue;
      }
      c->callbacks.userdata = c.get();
      c->callbacks.auth_password_function = on_password;
      c->callbacks.auth_pubkey_function = on_pubkey;
      c->callbacks.channel_open_request_session_function = on_channel_open;
      ssh_callbacks_init(&c->callbacks);
      ssh_set_server_callbacks(c->session, &c->callbacks);
      ssh_set_auth_methods(c->session, SSH_AUTH_METHOD_PASSWORD | SSH_AUTH_METHOD_PUBLICKEY);
      ssh_set_blocking(c->session, 0);
      int rc = ssh_handle_key_exchange(c->session);
      if (rc != SSH_OK && rc != SSH_AGAIN) {
        ssh_free(c->session);
        continue;
      }
      ssh_event_add_session(event, c->session);
      server->stats_.sessions_total++;
      server->stats_.sessions_active++;
      connections.push_back(std::move(c));
    }
  }

  static int on_listener(socket_t, int revents, void* userdata) {
    auto* pair = static_cast<std::pair<Worker*, Listener*>*>(userdata);
    if (revents & POLLIN) pair->first->accept_on(*pair->second);
    return 0;
  }

  void run() {
    std::vector<std::pair<Worker*, Listener*>> contexts;
    contexts.reserve(listeners.size());
    for (auto* listener : listeners) {
      contexts.emplace_back(this, listener);
      ssh_event_add_fd(event, listener->fd, POLLIN, on_listener, &contexts.back());
    }
    ssh_event_add_fd(event, wake_bell.fd(), POLLIN, on_wake, &wake_bell);
    while (server->running_) {
      bool busy = false;
      for (const auto& c : connections)
        busy = busy || has_pending(*c);
      // Pending output is paced (5 ms); open sessions have their timers (100 ms); with none,
      // only a new connection or stop() can need this thread.
      ssh_event_dopoll(event, busy ? 5 : connections.empty() ? -1 : 100);
      int64_t now = steady_ms();
      for (auto it = connections.begin(); it != connections.end();) {
        auto& c = **it;
        bool alive = !c.drop && (ssh_get_status(c.session) & (SSH_CLOSED | SSH_CLOSED_ERROR)) == 0;
        for (auto ch = c.channels.begin(); alive && ch != c.channels.end();) {
          auto& channel = **ch;
          if (channel.closed) {
            release(channel);
            ch = c.channels.erase(ch);
            continue;
          }
          if (!pump(channel, now)) {
            alive = false;
            break;
          }
          if (channel.close_after_flush && channel.out.empty() && channel.delayed.empty()) {
            if (!channel.terminal && !channel.netconf) {
              ssh_channel_request_send_exit_status(channel.channel, channel.exit_status);
            }
            ssh_channel_send_eof(channel.channel);
            ssh_channel_close(channel.channel);
            release(channel);
            ch = c.channels.erase(ch);
            continue;  // the client disconnects once it has seen the close
          }
          ++ch;
        }
        if (!alive) {
          close_connection(c);
          it = connections.erase(it);
        } else {
          ++it;
        }
      }
    }
    for (auto* listener : listeners)
      ssh_event_remove_fd(event, listener->fd);
    ssh_event_remove_fd(event, wake_bell.fd());
  }
};

SshServer::SshServer(const FleetSpec& fleet, std::vector<Device*> devices)
    : fleet_(fleet), devices_(std::move(devices)) {}

SshServer::~SshServer() {
  stop();
}

Result<void> SshServer::start() {
  ssh_init();
  std::filesystem::create_directories(fleet_.state_dir + "/hostkeys");
  std::vector<ssh_key> authorized;
  for (const auto& file : fleet_.authorized_key_files) {
    ssh_key key = nullptr;
    if (ssh_pki_import_pubkey_file(file.c_str(), &key) != SSH_OK) {
      return fail(Errc::InvalidConfig,
                  "cannot read public key " + file +
                      " (credentials.authorized_keys must list OpenSSH .pub files)");
    }
    authorized.push_back(key);
  }
  for (auto* device : devices_) {
    auto listener = std::make_unique<Listener>();
    listener->device = device;
    auto key =
        load_or_create_key(fleet_.state_dir + "/hostkeys/" + device->spec().name + ".ed25519");
    if (!key) return key.error();
    listener->host_key = *key;
    auto bind = make_bind(*key, device->spec().platform);
    if (!bind) return bind.error();
    listener->bind = *bind;
    for (auto* item : authorized) {
      ssh_key copy = nullptr;
      char* base64 = nullptr;
      ssh_pki_export_pubkey_base64(item, &base64);
      ssh_pki_import_pubkey_base64(base64, ssh_key_type(item), &copy);
      ssh_string_free_char(base64);
      listener->authorized.push_back(copy);
    }
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(device->spec().ssh_port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(fd, 128) != 0) {
      int error = errno;
      ::close(fd);
      return fail(Errc::System,
                  "cannot listen on 127.0.0.1:" + std::to_string(device->spec().ssh_port) +
                      " for " + device->spec().name + ": " + std::strerror(error) +
                      " (choose another base_port)");
    }
    listener->fd = fd;
    listeners_.push_back(std::move(listener));
  }
  for (auto* key : authorized)
    ssh_key_free(key);
  running_ = true;
  int count = std::max(1, fleet_.workers);
  for (int i = 0; i < count; ++i) {
    auto worker = std::make_unique<Worker>();
    worker->server = this;
    worker->event = ssh_event_new();
    for (size_t j = static_cast<size_t>(i); j < listeners_.size();
         j += static_cast<size_t>(count)) {
      worker->listeners.push_back(listeners_[j].get());
    }
    workers_.push_back(std::move(worker));
  }
  for (auto& worker : workers_) {
    auto* raw = worker.get();
    worker->thread = std::thread([raw] { raw->run(); });
  }
  return ok();
}

void SshServer::stop() {
  if (!running_.exchange(false)) return;
  for (auto& worker : workers_)
    worker->wake();
  for (auto& worker : workers_) {
    if (worker->thread.joinable()) worker->thread.join();
  }
  workers_.clear();
  for (auto& listener : listeners_) {
    for (auto* key : listener->authorized)
      ssh_key_free(key);
    listener->authorized.clear();
  }
  listeners_.clear();
}

std::string SshServer::known_hosts() const {
  std::string out;
  for (const auto& listener : listeners_) {
    char* base64 = nullptr;
    if (ssh_pki_export_pubkey_base64(listener->host_key, &base64) != SSH_OK) continue;
    out += "[127.0.0.1]:" + std::to_string(listener->device->spec().ssh_port) + " ssh-ed25519 " +
           base64 + "\n";
    ssh_string_free_char(base64);
  }
  return out;
}

}  // namespace nauto::lab
