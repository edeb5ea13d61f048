#include "nauto/drivers/ssh/ssh_connection.h"

#include <libssh/libssh.h>

#include <algorithm>
#include <vector>

#include "jump_tunnel.h"
#include "known_hosts_index.h"
#include "nauto/base/io_wait.h"
#include "nauto/base/log.h"
#include "nauto/drivers/driver.h"
#include "private_key_cache.h"

namespace nauto::drivers::ssh {
namespace {

// ed25519 first: the fastest handshake and the smallest keys; RSA-SHA2 last for old devices.
constexpr const char* kHostKeyOrder =
    "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,rsa-sha2-512,rsa-sha2-256,ssh-rsa";

// libssh reports connect failures as text only; map the common ones to what an operator does.
Errc classify_connect_error(const std::string& text) {
  if (text.find("imeout") != std::string::npos || text.find("timed out") != std::string::npos) {
    return Errc::Timeout;
  }
  return Errc::Unreachable;
}

std::string fingerprint(ssh_session session) {
  ssh_key key = nullptr;
  if (ssh_get_server_publickey(session, &key) != SSH_OK) return "(unknown)";
  unsigned char* hash = nullptr;
  size_t length = 0;
  std::string out = "(unknown)";
  if (ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &length) == SSH_OK) {
    char* text = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, length);
    if (text) out = text;
    ssh_string_free_char(text);
    ssh_clean_pubkey_hash(&hash);
  }
  std::string type = ssh_key_type_to_char(ssh_key_type(key));
  ssh_key_free(key);
  return type + " " + out;
}

// What to wait for on the session's socket: input, and room to write while libssh holds
// output it could not send yet.
pollfd session_poll(ssh_session session) {
  short events = POLLIN;
  if (ssh_get_poll_flags(session) & SSH_WRITE_PENDING) events |= POLLOUT;
  return {ssh_get_fd(session), events, 0};
}

// Sessions are non-blocking: every wait goes through nauto::wait_ready, which parks a fiber
// (thousands of sessions on a few threads) or blocks a thread in poll(2).
bool wait_for_session(ssh_session session, std::int64_t wait_ms) {
  pollfd entry = session_poll(session);
  if (entry.fd == SSH_INVALID_SOCKET) return false;
  return wait_ready(&entry, 1, std::max<std::int64_t>(wait_ms, 1)) != 0;
}

// Repeats a non-blocking libssh call while it answers `again`, waiting for the socket in
// between (at most 200 ms at a time, so a cancelled deadline is seen), until `deadline`.
// Returns the call's last answer: `again` still when the deadline passed.
template <class Call>
int until_done(ssh_session session, int again, const Deadline& deadline, Call call) {
  for (;;) {
    const int rc = call();
    if (rc != again || deadline.expired()) return rc;
    wait_for_session(session, std::min<std::int64_t>(deadline.remaining_ms() + 1, 200));
  }
}

}  // namespace

// ---- SshChannel ----

SshChannel::SshChannel(ssh_channel_struct* channel, const DeviceTarget* target)
    : channel_(channel), target_(target) {}

SshChannel::~SshChannel() {
  close();
}

void SshChannel::close() {
  if (!channel_) return;
  if (ssh_channel_is_open(channel_)) ssh_channel_close(channel_);
  ssh_channel_free(channel_);
  channel_ = nullptr;
}

Result<void> SshChannel::write(std::string_view bytes) {
  ssh_session session = ssh_channel_get_session(channel_);
  // A device that stops taking input (a full window) gets the idle timeout, as for output.
  const auto stalled_ms = target_->timeouts ? target_->timeouts->idle_ms : Timeouts{}.idle_ms;
  auto last_progress = steady_us();
  while (!bytes.empty()) {
    int n = ssh_channel_write(channel_, bytes.data(), static_cast<uint32_t>(bytes.size()));
    if (n == SSH_ERROR) {
      return device_error(
          *target_, Errc::Unreachable,
          "connection dropped while sending: " + std::string(ssh_get_error(session)));
    }
    if (n > 0) {
      bytes.remove_prefix(static_cast<std::size_t>(n));
      last_progress = steady_us();
      continue;
    }
    if (steady_us() - last_progress > stalled_ms * 1000) {
      return device_error(*target_, Errc::Timeout,
                          "the device took no input for " + std::to_string(stalled_ms) + " ms");
    }
    wait_for_session(session, 200);
  }
  return ok();
}

Result<std::size_t> SshChannel::read_some(std::string& out, std::int64_t wait_ms,
                                          bool from_stderr) {
  ssh_session session = ssh_channel_get_session(channel_);
  const auto until = steady_us() + std::max<std::int64_t>(wait_ms, 0) * 1000;
  char buffer[16384];
  for (;;) {
    const int n =
        ssh_channel_read_nonblocking(channel_, buffer, sizeof buffer, from_stderr ? 1 : 0);
    if (n > 0) {
      out.append(buffer, static_cast<std::size_t>(n));
      return static_cast<std::size_t>(n);
    }
    if (n == SSH_ERROR) {
      return device_error(*target_, Errc::Unreachable,
                          "connection dropped: " + std::string(ssh_get_error(session)));
    }
    if (n == SSH_EOF || ssh_channel_is_eof(channel_) || ssh_channel_is_closed(channel_)) {
      return device_error(*target_, Errc::Unreachable, "the device closed the channel");
    }
    const auto left_us = until - steady_us();
    if (left_us <= 0) return std::size_t{0};
    wait_for_session(session, (left_us + 999) / 1000);
  }
}

bool SshChannel::wait_with(int other_fd, std::int64_t wait_ms) {
  pollfd entries[2] = {session_poll(ssh_channel_get_session(channel_)), {other_fd, POLLIN, 0}};
  wait_ready(entries, 2, std::max<std::int64_t>(wait_ms, 1));
  return entries[1].revents != 0;
}

bool SshChannel::at_eof() const {
  return !channel_ || ssh_channel_is_eof(channel_) || ssh_channel_is_closed(channel_);
}

int SshChannel::exit_status(const Deadline& deadline) {
  if (!channel_) return -1;
  for (;;) {
    // Non-blocking: the status so far (-1 until the server sent it).
    const int status = ssh_channel_get_exit_status(channel_);
    if (status != -1 || !ssh_channel_is_open(channel_) || deadline.expired()) return status;
    wait_for_session(ssh_channel_get_session(channel_),
                     std::min<std::int64_t>(deadline.remaining_ms() + 1, 200));
  }
}

// ---- SshConnection ----

SshConnection::SshConnection(ssh_session_struct* session, DeviceTarget target)
    : session_(session), target_(std::move(target)) {}

SshConnection::~SshConnection() {
  if (session_) {
    if (ssh_is_connected(session_)) ssh_disconnect(session_);
    ssh_free(session_);
  }
  tunnel_.reset();  // after the session: the tunnel's thread serves it until the end
}

Result<std::unique_ptr<SshConnection>> SshConnection::open(const DeviceTarget& target,
                                                           std::int64_t connect_timeout_ms,
                                                           Deadline deadline) {
  std::unique_ptr<SshConnection> jump;
  std::unique_ptr<JumpTunnel> tunnel;
  if (target.jump) {
    DeviceTarget hop = target;
    hop.name = target.name + " via jump host " + target.jump->host;
    hop.host = target.jump->host;
    hop.port = target.jump->port;
    hop.credentials = target.jump->credentials;
    hop.jump.reset();
    auto opened = open(hop, connect_timeout_ms, deadline);
    if (!opened) return std::move(opened).error();
    jump = std::move(*opened);
    auto forward = jump->open_forward(target.host, target.port, deadline);
    if (!forward) return std::move(forward).error();
    auto started = JumpTunnel::start(std::move(*forward));
    if (!started) return on_device(target, std::move(started).error());
    tunnel = std::move(*started);
  }

  ssh_session session = ssh_new();
  if (!session) return device_error(target, Errc::ResourceExhausted, "ssh_new failed");
  auto connection = std::unique_ptr<SshConnection>(new SshConnection(session, target));
  connection->jump_ = std::move(jump);
  connection->tunnel_ = std::move(tunnel);

  long timeout_usec =
      static_cast<long>(std::min(connect_timeout_ms, deadline.remaining_ms())) * 1000;
  int port = target.port;
  int nodelay = 1;
  bool no_config = false;
  int verbosity = SSH_LOG_NOLOG;
  ssh_options_set(session, SSH_OPTIONS_HOST, target.host.c_str());
  ssh_options_set(session, SSH_OPTIONS_PORT, &port);
  ssh_options_set(session, SSH_OPTIONS_USER, target.credentials.username.c_str());
  ssh_options_set(session, SSH_OPTIONS_TIMEOUT_USEC, &timeout_usec);
  ssh_options_set(session, SSH_OPTIONS_NODELAY, &nodelay);
  ssh_options_set(session, SSH_OPTIONS_PROCESS_CONFIG, &no_config);
  ssh_options_set(session, SSH_OPTIONS_LOG_VERBOSITY, &verbosity);
  ssh_options_set(session, SSH_OPTIONS_HOSTKEYS, kHostKeyOrder);
  ssh_set_blocking(session, 0);
  if (!target.known_hosts.empty()) {
    // libssh reads the whole file during the key exchange (to order host key algorithms) and
    // again to check the key; when our index can answer, it gets an empty file instead and the
    // key is checked against the index (verify_host_key).
    const bool indexed = known_hosts_indexable(target.known_hosts);
    ssh_options_set(session, SSH_OPTIONS_KNOWNHOSTS,
                    indexed ? "/dev/null" : target.known_hosts.c_str());
  }
  if (connection->tunnel_) {
    socket_t fd = connection->tunnel_->session_fd();
    ssh_options_set(session, SSH_OPTIONS_FD, &fd);
  }
  const auto connect_by = deadline.capped_ms(connect_timeout_ms);
  const int connected =
      until_done(session, SSH_AGAIN, connect_by, [&] { return ssh_connect(session); });
  if (connected != SSH_OK) {
    std::string text = connected == SSH_AGAIN ? std::string("timed out") : ssh_get_error(session);
    return device_error(
        target, connected == SSH_AGAIN ? Errc::Timeout : classify_connect_error(text),
        "cannot connect to " + target.host + ":" + std::to_string(target.port) + ": " + text);
  }
  if (auto verified = connection->verify_host_key(); !verified) return std::move(verified).error();
  if (deadline.expired()) {
    return device_error(target, Errc::Timeout, "deadline passed before authentication");
  }
  if (auto authed =
          connection->authenticate(target.credentials, deadline.capped_ms(connect_timeout_ms));
      !authed) {
    return std::move(authed).error();
  }
  return connection;
}

namespace {

// The server's key against the known_hosts file: from the parsed file kept in memory
// (known_hosts_index.h) when it can be, else libssh's own check, which reads the file again.
ssh_known_hosts_e known_host_state(ssh_session session, const DeviceTarget& target) {
  if (target.known_hosts.empty()) return ssh_session_is_known_server(session);
  KnownHostsAnswer answer = KnownHostsAnswer::NotIndexed;
  ssh_key key = nullptr;
  if (ssh_get_server_publickey(session, &key) == SSH_OK) {
    char* base64 = nullptr;
    if (ssh_pki_export_pubkey_base64(key, &base64) == SSH_OK) {
      answer = lookup_known_host(target.known_hosts, target.host, target.port,
                                 ssh_key_type_to_char(ssh_key_type(key)), base64);
      ssh_string_free_char(base64);
    }
    ssh_key_free(key);
  }
  switch (answer) {
    case KnownHostsAnswer::Match:
      return SSH_KNOWN_HOSTS_OK;
    case KnownHostsAnswer::Changed:
      return SSH_KNOWN_HOSTS_CHANGED;
    case KnownHostsAnswer::Other:
      return SSH_KNOWN_HOSTS_OTHER;
    case KnownHostsAnswer::Unknown:
      return SSH_KNOWN_HOSTS_UNKNOWN;
    case KnownHostsAnswer::NotIndexed:
      break;
  }
  // The file changed since connect, or the key could not be read: libssh checks the real file.
  ssh_options_set(session, SSH_OPTIONS_KNOWNHOSTS, target.known_hosts.c_str());
  return ssh_session_is_known_server(session);
}

}  // namespace

Result<void> SshConnection::verify_host_key() {
  auto state = known_host_state(session_, target_);
  std::string where =
      target_.known_hosts.empty() ? std::string("~/.ssh/known_hosts") : target_.known_hosts;
  switch (state) {
    case SSH_KNOWN_HOSTS_OK:
      return ok();
    case SSH_KNOWN_HOSTS_CHANGED:
    case SSH_KNOWN_HOSTS_OTHER:
      if (target_.host_key_policy == HostKeyPolicy::Off) break;
      return device_error(target_, Errc::Untrusted,
                          "host key for " + target_.host + ":" + std::to_string(target_.port) +
                              " does not match " + where + " (server offers " +
                              fingerprint(session_) +
                              "); if the device was really replaced, remove the old entry");
    case SSH_KNOWN_HOSTS_UNKNOWN:
    case SSH_KNOWN_HOSTS_NOT_FOUND:
      if (target_.host_key_policy == HostKeyPolicy::Strict) {
        return device_error(target_, Errc::Untrusted,
                            "host key " + fingerprint(session_) + " is not in " + where +
                                "; add it (ssh-keyscan) or use host_key_policy: accept-new");
      }
      if (target_.host_key_policy == HostKeyPolicy::AcceptNew) {
        if (!target_.known_hosts.empty())  // libssh may have been given /dev/null to read
          ssh_options_set(session_, SSH_OPTIONS_KNOWNHOSTS, target_.known_hosts.c_str());
        if (ssh_session_update_known_hosts(session_) != SSH_OK) {
          return device_error(
              target_, Errc::System,
              "cannot record host key in " + where + ": " + ssh_get_error(session_));
        }
        logger("drivers.ssh")
            ->info("{}: recorded new host key {} in {}", target_.name, fingerprint(session_),
                   where);
      }
      break;
    case SSH_KNOWN_HOSTS_ERROR:
      if (target_.host_key_policy != HostKeyPolicy::Off) {
        return device_error(
            target_, Errc::Untrusted,
            "cannot check host key against " + where + ": " + ssh_get_error(session_));
      }
      break;
  }
  if (target_.host_key_policy == HostKeyPolicy::Off) {
    logger("drivers.ssh")
        ->warn("{}: HOST KEY NOT VERIFIED (host_key_policy: off); key is {}", target_.name,
               fingerprint(session_));
  }
  return ok();
}

Result<void> SshConnection::authenticate(const Credentials& credentials, const Deadline& deadline) {
  const char* user = nullptr;  // the one set in options
  // No "none" probe first: it costs a round trip on every connect, and the server's answer to
  // the first real attempt lists its methods just as well.
  int rc = SSH_AUTH_DENIED;
  int methods = SSH_AUTH_METHOD_PUBLICKEY | SSH_AUTH_METHOD_PASSWORD | SSH_AUTH_METHOD_INTERACTIVE;
  auto refresh = [&] {
    if (rc == SSH_AUTH_DENIED || rc == SSH_AUTH_PARTIAL)
      methods = ssh_userauth_list(session_, user);
  };
  std::vector<std::string> tried;

  if (!credentials.private_key_file.empty() && (methods & SSH_AUTH_METHOD_PUBLICKEY)) {
    tried.push_back("publickey");
    const auto key = private_key(credentials.private_key_file, credentials.key_passphrase);
    if (!key) {
      return device_error(target_, Errc::InvalidConfig,
                          "cannot load private key " + credentials.private_key_file +
                              " (missing, unreadable, or wrong passphrase)");
    }
    rc = until_done(session_, SSH_AUTH_AGAIN, deadline,
                    [&] { return ssh_userauth_publickey(session_, user, key.get()); });
    if (rc == SSH_AUTH_SUCCESS) return ok();
    refresh();
  }
  if (!credentials.password.empty() && (methods & SSH_AUTH_METHOD_PASSWORD)) {
    tried.push_back("password");
    rc = until_done(session_, SSH_AUTH_AGAIN, deadline, [&] {
      return ssh_userauth_password(session_, user, credentials.password.c_str());
    });
    if (rc == SSH_AUTH_SUCCESS) return ok();
    refresh();
  }
  if (!credentials.password.empty() && (methods & SSH_AUTH_METHOD_INTERACTIVE)) {
    tried.push_back("keyboard-interactive");
    auto kbdint = [&] {
      return until_done(session_, SSH_AUTH_AGAIN, deadline,
                        [&] { return ssh_userauth_kbdint(session_, user, nullptr); });
    };
    rc = kbdint();
    while (rc == SSH_AUTH_INFO) {
      int prompts = ssh_userauth_kbdint_getnprompts(session_);
      for (int i = 0; i < prompts; ++i) {
        char echo = 0;
        ssh_userauth_kbdint_getprompt(session_, static_cast<unsigned>(i), &echo);
        // Hidden prompts want the password; echoed ones (a username question) get the user.
        const std::string& answer = echo ? credentials.username : credentials.password;
        ssh_userauth_kbdint_setanswer(session_, static_cast<unsigned>(i), answer.c_str());
      }
      rc = kbdint();
    }
    if (rc == SSH_AUTH_SUCCESS) return ok();
  }
  if (rc == SSH_AUTH_AGAIN) {
    return device_error(target_, Errc::Timeout, "authentication did not finish in time");
  }
  if (rc == SSH_AUTH_ERROR) {
    return device_error(
        target_, Errc::Unreachable,
        std::string("connection failed during authentication: ") + ssh_get_error(session_));
  }
  if (tried.empty()) {
    // Only to learn what the server would accept.
    rc = until_done(session_, SSH_AUTH_AGAIN, deadline,
                    [&] { return ssh_userauth_none(session_, user); });
    if (rc == SSH_AUTH_SUCCESS) return ok();
    methods = ssh_userauth_list(session_, user);
  }
  std::string offered;
  if (methods & SSH_AUTH_METHOD_PUBLICKEY) offered += " publickey";
  if (methods & SSH_AUTH_METHOD_PASSWORD) offered += " password";
  if (methods & SSH_AUTH_METHOD_INTERACTIVE) offered += " keyboard-interactive";
  std::string tried_text;
  for (const auto& method : tried)
    tried_text += (tried_text.empty() ? "" : ", ") + method;
  return device_error(target_, Errc::Unauthenticated,
                      "authentication as '" + credentials.username + "' refused (tried: " +
                          (tried_text.empty() ? "nothing usable" : tried_text) +
                          "; server offers:" + (offered.empty() ? " none" : offered) + ")");
}

namespace {
Result<std::unique_ptr<SshChannel>> new_channel(ssh_session session, const DeviceTarget& target,
                                                ssh_channel& channel) {
  channel = ssh_channel_new(session);
  if (!channel) return device_error(target, Errc::ResourceExhausted, "ssh_channel_new failed");
  return std::make_unique<SshChannel>(channel, &target);
}

// `rc` is a channel call's last answer: SSH_AGAIN means the deadline passed first.
Error channel_error(ssh_session session, const DeviceTarget& target, const std::string& what,
                    int rc) {
  if (rc == SSH_AGAIN) return device_error(target, Errc::Timeout, what + ": no answer in time");
  return device_error(target, ssh_is_connected(session) ? Errc::Rejected : Errc::Unreachable,
                      what + ": " + ssh_get_error(session));
}
}  // namespace

Result<std::unique_ptr<SshChannel>> SshConnection::open_channel(
    const Deadline& deadline, const std::vector<ChannelStep>& steps) {
  ssh_channel channel = nullptr;
  auto wrapped = new_channel(session_, target_, channel);
  if (!wrapped) return wrapped;
  for (const auto& step : steps) {
    const int rc = until_done(session_, SSH_AGAIN, deadline, [&] { return step.call(channel); });
    if (rc != SSH_OK) return channel_error(session_, target_, step.refused, rc);
  }
  return wrapped;
}

namespace {
constexpr const char* kSessionRefused = "cannot open a session channel";
}  // namespace

Result<std::unique_ptr<SshChannel>> SshConnection::open_shell(const PtySize& size,
                                                              const Deadline& deadline) {
  return open_channel(deadline, {{ssh_channel_open_session, kSessionRefused},
                                 {[&](ssh_channel channel) {
                                    return ssh_channel_request_pty_size(channel, "vt100",
                                                                        size.columns, size.rows);
                                  },
                                  "the device refused a terminal"},
                                 {ssh_channel_request_shell, "the device refused a shell"}});
}

Result<std::unique_ptr<SshChannel>> SshConnection::open_subsystem(const std::string& name,
                                                                  const Deadline& deadline) {
  return open_channel(
      deadline,
      {{ssh_channel_open_session, kSessionRefused},
       {[&](ssh_channel channel) { return ssh_channel_request_subsystem(channel, name.c_str()); },
        "the device refused the '" + name + "' subsystem"}});
}

Result<std::unique_ptr<SshChannel>> SshConnection::open_exec(const std::string& command,
                                                             const Deadline& deadline) {
  return open_channel(
      deadline,
      {{ssh_channel_open_session, kSessionRefused},
       {[&](ssh_channel channel) { return ssh_channel_request_exec(channel, command.c_str()); },
        "the device refused to execute '" + command + "'"}});
}

Result<std::unique_ptr<SshChannel>> SshConnection::open_forward(const std::string& host, int port,
                                                                const Deadline& deadline) {
  return open_channel(
      deadline, {{[&](ssh_channel channel) {
                    return ssh_channel_open_forward(channel, host.c_str(), port, "127.0.0.1", 0);
                  },
                  "jump host refused to forward to " + host + ":" + std::to_string(port)}});
}

Result<ExecOutput> SshConnection::exec(const std::string& command, std::int64_t idle_ms,
                                       Deadline deadline) {
  auto opened = open_exec(command, deadline);
  if (!opened) return std::move(opened).error();
  auto& channel = **opened;
  ExecOutput output;
  std::int64_t last_data = steady_us();
  // Both streams are read as their data comes; the command is done when stdout ends (stderr's
  // last bytes are taken as they come with it).
  for (;;) {
    auto got = channel.read_some(output.out, 0);
    auto got_err = channel.read_some(output.err, 0, true);
    if (!got) break;
    if ((got_err && *got_err > 0) || *got > 0) {
      last_data = steady_us();
      continue;
    }
    if (deadline.expired()) {
      return device_error(target_, Errc::Timeout,
                          "'" + command + "' still running when the deadline passed");
    }
    const auto silent_ms = (steady_us() - last_data) / 1000;
    if (silent_ms >= idle_ms) {
      return device_error(target_, Errc::Timeout,
                          "'" + command + "' sent nothing for " + std::to_string(idle_ms) + " ms");
    }
    wait_for_session(
        session_, std::min({idle_ms - silent_ms, deadline.remaining_ms() + 1, std::int64_t{200}}));
  }
  while (channel.read_some(output.err, 0, true).value_or(std::size_t{0}) > 0) {
  }
  output.exit_status = channel.exit_status(deadline.capped_ms(idle_ms));
  return output;
}

bool SshConnection::is_connected() const {
  return session_ && ssh_is_connected(session_);
}

bool SshConnection::keepalive() {
  if (!is_connected()) return false;
  return ssh_send_ignore(session_, "nauto-keepalive") == SSH_OK && ssh_is_connected(session_);
}

}  // namespace nauto::drivers::ssh
