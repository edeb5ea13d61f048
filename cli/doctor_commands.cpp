// nauto doctor: checks an installation the way an operator would on a first run, and says what
// to fix for each problem: the configuration (nautod --check-config), nautod and its store,
// the socket's permissions, the vault key's, the clock's synchronisation, and whether a sample
// of the inventory's devices answers on its management port.

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <poll.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timex.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "cli_context.h"
#include "nauto/base/clock.h"
#include "nauto/bus/schema_types.h"
#include "shell/private_nautod.h"

namespace nauto::cli {

namespace {

using nlohmann::json;

enum class Verdict { Ok, Warn, Fail };

struct Finding {
  std::string check;
  Verdict verdict;
  std::string detail;  ///< what was found, and for a problem what to do about it
};

const char* verdict_name(Verdict v) {
  return v == Verdict::Ok ? "ok" : v == Verdict::Warn ? "warn" : "FAIL";
}

struct DoctorArgs {
  std::string service_user = "nauto";
  int sample = 5;
  std::int64_t connect_timeout_ms = 3000;
};

// The settings the checks need, read from the YAML as nautod would (defaults when absent).
struct Settings {
  std::string data_dir = "/var/lib/nauto";
  std::string run_dir = "/run/nauto";
  std::string vault_key_file;
};

Settings read_settings(const std::string& config) {
  Settings s;
  try {
    if (std::filesystem::exists(config)) {
      const auto root = YAML::LoadFile(config);
      if (root["data_dir"]) s.data_dir = root["data_dir"].as<std::string>();
      if (root["run_dir"]) s.run_dir = root["run_dir"].as<std::string>();
      const auto key = root["modules"]["vault"]["key_file"];
      if (key && key.IsScalar()) s.vault_key_file = key.as<std::string>();
    }
  } catch (const YAML::Exception&) {
    // The configuration check reports it; the defaults serve the other checks.
  }
  if (const char* e = std::getenv("NAUTO_DATA_DIR"); e && *e) s.data_dir = e;
  if (const char* e = std::getenv("NAUTO_RUN_DIR"); e && *e) s.run_dir = e;
  return s;
}

std::string octal(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

std::string user_of(uid_t uid) {
  if (const auto* pw = ::getpwuid(uid)) return pw->pw_name;
  return std::to_string(uid);
}

std::string group_of(gid_t gid) {
  if (const auto* gr = ::getgrgid(gid)) return gr->gr_name;
  return std::to_string(gid);
}

// Runs `nautod --check-config`; its verdict is the configuration's.
Finding check_config(const std::string& config) {
  int out[2];
  if (::pipe(out) != 0) return {"configuration", Verdict::Fail, std::strerror(errno)};
  const auto binary = shell::nautod_binary();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], 1);
    ::dup2(out[1], 2);
    ::close(out[0]);
    ::close(out[1]);
    ::execlp(binary.c_str(), binary.c_str(), "--config", config.c_str(), "--check-config", nullptr);
    std::fprintf(stderr, "cannot run %s: %s\n", binary.c_str(), std::strerror(errno));
    ::_exit(127);
  }
  ::close(out[1]);
  std::string text;
  char chunk[4096];
  for (ssize_t n; (n = ::read(out[0], chunk, sizeof chunk)) > 0;)
    text.append(chunk, static_cast<std::size_t>(n));
  ::close(out[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  while (!text.empty() && text.back() == '\n')
    text.pop_back();
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {"configuration", Verdict::Ok, text};
  return {"configuration", Verdict::Fail,
          text + "\n  fix: edit " + config + " (each problem names its key; man nauto.yaml)"};
}

Finding check_nautod(const json* status, const Error* why, const Settings& s) {
  if (!status) {
    return {"nautod", Verdict::Fail,
            "no answer on " + s.run_dir + "/nautod.sock: " + why->describe() +
                "\n  fix: systemctl start nautod; journalctl -u nautod shows why it stopped"};
  }
  return {"nautod", Verdict::Ok,
          "version " + status->value("version", "?") + ", up " +
              std::to_string(static_cast<long long>(status->value("uptime_s", 0.0))) + " s, " +
              std::to_string((*status)["modules"].size()) + " modules"};
}

Finding check_store(const json* status, const Settings& s, const std::string& service_user) {
  struct stat st {};
  if (::stat(s.data_dir.c_str(), &st) != 0) {
    return {"store", Verdict::Fail,
            s.data_dir + ": " + std::strerror(errno) +
                "\n  fix: create it for nautod's user (the package does: dpkg-reconfigure nauto)"};
  }
  if ((st.st_mode & 0007) != 0) {
    return {"store", Verdict::Fail,
            s.data_dir + " is " + octal(st.st_mode) + ": others may enter it\n  fix: chmod 0750 " +
                s.data_dir};
  }
  const auto* owner = ::getpwnam(service_user.c_str());
  if (owner && st.st_uid != owner->pw_uid) {
    return {"store", Verdict::Fail,
            s.data_dir + " belongs to " + user_of(st.st_uid) + ", not " + service_user +
                "\n  fix: chown -R " + service_user + ":" + service_user + " " + s.data_dir};
  }
  if (!status || !(*status)["store"].is_object())
    return {"store", Verdict::Ok, s.data_dir + " (" + octal(st.st_mode) + ")"};
  const auto& store = (*status)["store"];
  const auto used = store.value("used_bytes", std::uint64_t{0});
  const auto max = std::max<std::uint64_t>(1, store.value("max_size", std::uint64_t{1}));
  const auto used_text = std::to_string(used >> 20) + " MiB of " + std::to_string(max >> 20) +
                         " MiB (" + std::to_string(used * 100 / max) + "%)";
  if (store.value("full", false)) {
    return {"store", Verdict::Fail,
            "full: " + used_text +
                "\n  fix: raise store.max_size or lower the retention limits (keep_*, max_age)"};
  }
  if (store.value("failed_batches", 0) > 0 || store.value("filling", false)) {
    return {"store", Verdict::Warn,
            used_text + ", " + std::to_string(store.value("failed_batches", 0)) +
                " failed writes\n  fix: raise store.max_size or lower the retention limits"};
  }
  return {"store", Verdict::Ok, s.data_dir + ": " + used_text};
}

Finding check_socket(const Settings& s) {
  const auto path = s.run_dir + "/nautod.sock";
  struct stat dir {
  }, sock{};
  if (::stat(s.run_dir.c_str(), &dir) != 0) {
    if (errno == EACCES) {
      return {"socket", Verdict::Fail,
              "cannot enter " + s.run_dir + ": you (" + user_name() +
                  ") are not in its group\n  fix: adduser " + user_name() +
                  " nauto, then log in again"};
    }
    return {"socket", Verdict::Fail, s.run_dir + ": " + std::strerror(errno)};
  }
  if (::stat(path.c_str(), &sock) != 0) {
    return {"socket", Verdict::Fail,
            path + ": " + std::strerror(errno) + "\n  fix: start nautod (it creates the socket)"};
  }
  const auto where =
      path + " " + octal(sock.st_mode) + " " + user_of(sock.st_uid) + ":" + group_of(sock.st_gid);
  if ((sock.st_mode & 0007) != 0 || (dir.st_mode & 0007) != 0) {
    return {"socket", Verdict::Fail,
            where + ", " + s.run_dir + " " + octal(dir.st_mode) +
                ": anyone on this machine may call nautod\n  fix: chmod 0750 " + s.run_dir +
                " (RuntimeDirectoryMode=0750 in nautod.service)"};
  }
  if (::access(path.c_str(), R_OK | W_OK) != 0) {
    return {"socket", Verdict::Fail,
            where + ": you (" + user_name() + ") may not use it\n  fix: adduser " + user_name() +
                " " + group_of(sock.st_gid) + ", then log in again"};
  }
  return {"socket", Verdict::Ok, where};
}

Finding check_vault_key(const Settings& s, const std::string& service_user) {
  if (s.vault_key_file.empty()) {
    return {"vault key", Verdict::Warn,
            "modules.vault.key_file is not set: the vault key comes from a passphrase in "
            "the environment\n  fix: nauto creds keygen --key-file /etc/nauto/vault.key, then "
            "set modules.vault.key_file"};
  }
  struct stat st {};
  if (::stat(s.vault_key_file.c_str(), &st) != 0) {
    return {"vault key", Verdict::Fail,
            s.vault_key_file + ": " + std::strerror(errno) +
                "\n  fix: nauto creds keygen --key-file " + s.vault_key_file +
                " (a new key opens no existing vault)"};
  }
  const auto where = s.vault_key_file + " " + octal(st.st_mode) + " " + user_of(st.st_uid);
  std::string problems;
  if ((st.st_mode & 0077) != 0) problems += "\n  fix: chmod 0600 " + s.vault_key_file;
  const auto* owner = ::getpwnam(service_user.c_str());
  if (owner && st.st_uid != owner->pw_uid)
    problems += "\n  fix: chown " + service_user + " " + s.vault_key_file;
  if (!problems.empty()) {
    return {"vault key", Verdict::Fail,
            where + ": it must be 0600 and belong to " + service_user + problems};
  }
  return {"vault key", Verdict::Ok, where};
}

// The kernel's view of the clock (adjtimex): unsynchronised until an NTP client (chrony,
// systemd-timesyncd) disciplines it. TLS certificates, API tokens'
// expiry and audit records' times depend on it.
Finding check_clock() {
  timex tx{};
  const int state = ::adjtimex(&tx);
  if (state < 0) return {"clock", Verdict::Warn, std::string("adjtimex: ") + std::strerror(errno)};
  if (state == TIME_ERROR || (tx.status & STA_UNSYNC) != 0) {
    return {"clock", Verdict::Warn,
            "not synchronised to a time source: certificates, tokens and audit times depend "
            "on it\n  fix: apt install systemd-timesyncd (or chrony) and check timedatectl"};
  }
  return {"clock", Verdict::Ok,
          "synchronised, estimated error " + std::to_string(tx.esterror) + " us"};
}

std::uint16_t management_port(const json& host) {
  const auto port = host.value("port", 0);
  if (port > 0 && port < 65536) return static_cast<std::uint16_t>(port);
  const auto transport = host.value("transport", "ssh");
  if (transport == "netconf") return 830;
  if (transport == "ssh" || transport.empty()) return 22;
  return 443;  // eapi, nxapi, rest
}

// Opens a TCP connection to each device at once and waits for all, up to the timeout.
std::vector<std::string> unreachable(const json& hosts, std::int64_t timeout_ms) {
  struct Attempt {
    std::string name, target;
    int fd = -1;        ///< open while the connection is in progress
    std::string error;  ///< empty once connected
  };
  std::vector<Attempt> attempts;
  for (const auto& host : hosts) {
    const auto address = host.value("host", host.value("name", ""));
    const auto port = std::to_string(management_port(host));
    Attempt a{host.value("name", "?"), address + ":" + port, -1, ""};
    addrinfo hints{}, *found = nullptr;
    hints.ai_socktype = SOCK_STREAM;
    if (int rc = ::getaddrinfo(address.c_str(), port.c_str(), &hints, &found); rc != 0) {
      a.error = std::string("cannot resolve: ") + ::gai_strerror(rc);
    } else {
      a.fd = ::socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (a.fd < 0 ||
          (::connect(a.fd, found->ai_addr, found->ai_addrlen) != 0 && errno != EINPROGRESS)) {
        a.error = std::strerror(errno);
        if (a.fd >= 0) ::close(a.fd);
        a.fd = -1;
      }
      ::freeaddrinfo(found);
    }
    attempts.push_back(std::move(a));
  }
  const auto deadline = (steady_us() / 1000) + timeout_ms;
  for (;;) {
    std::vector<pollfd> waiting;
    std::vector<Attempt*> owners;  // owners[i] made waiting[i]
    for (auto& a : attempts) {
      if (a.fd < 0) continue;
      waiting.push_back({a.fd, POLLOUT, 0});
      owners.push_back(&a);
    }
    const auto left = deadline - (steady_us() / 1000);
    if (waiting.empty() || left <= 0) break;
    if (::poll(waiting.data(), waiting.size(), static_cast<int>(left)) <= 0) continue;
    for (std::size_t i = 0; i < waiting.size(); ++i) {
      if (waiting[i].revents == 0) continue;
      auto& a = *owners[i];
      int error = 0;
      socklen_t size = sizeof error;
      ::getsockopt(a.fd, SOL_SOCKET, SO_ERROR, &error, &size);
      a.error = error ? std::strerror(error) : "";
      ::close(a.fd);
      a.fd = -1;
    }
  }
  std::vector<std::string> out;
  for (auto& a : attempts) {
    if (a.fd >= 0) {  // still in progress at the deadline
      ::close(a.fd);
      a.error = "no answer within " + std::to_string(timeout_ms) + " ms";
    }
    if (!a.error.empty()) out.push_back(a.name + " (" + a.target + "): " + a.error);
  }
  return out;
}

Finding check_devices(CliContext& context, const DoctorArgs& args, bool nautod_up) {
  if (!nautod_up) return {"devices", Verdict::Warn, "not checked: nautod does not answer"};
  auto answer = context.call(bus::schema::InventorySelectRequest::kTopic, {{"selector", "all"}});
  if (!answer) {
    return {"devices", Verdict::Warn, "cannot list the inventory: " + answer.error().describe()};
  }
  const auto& all = (*answer)["hosts"];
  if (all.empty()) {
    return {"devices", Verdict::Warn,
            "the inventory is empty\n  fix: nauto inventory import FILE (Ansible YAML/INI or "
            "CSV)"};
  }
  // An even spread over the inventory, not just its first devices.
  json sample = json::array();
  const auto count = std::min<std::size_t>(all.size(), static_cast<std::size_t>(args.sample));
  for (std::size_t i = 0; i < count; ++i)
    sample.push_back(all[i * all.size() / count]);
  const auto failed = unreachable(sample, args.connect_timeout_ms);
  if (failed.empty()) {
    return {"devices", Verdict::Ok,
            std::to_string(count) + " of " + std::to_string(all.size()) +
                " devices answer on their management port"};
  }
  std::string detail = std::to_string(failed.size()) + " of " + std::to_string(count) +
                       " sampled devices do not answer:";
  for (const auto& line : failed)
    detail += "\n  " + line;
  detail +=
      "\n  fix: check the address and port in the inventory (nauto inventory show NAME), "
      "routes and firewalls from this host";
  return {"devices", failed.size() == count ? Verdict::Fail : Verdict::Warn, detail};
}

int run_doctor(CliContext& context, const DoctorArgs& args) {
  const auto settings = read_settings(context.config);
  std::vector<Finding> findings;
  findings.push_back(check_config(context.config));
  auto status = context.call(bus::schema::KernelStatusRequest::kTopic, json::object());
  findings.push_back(
      check_nautod(status ? &*status : nullptr, status ? nullptr : &status.error(), settings));
  findings.push_back(check_store(status ? &*status : nullptr, settings, args.service_user));
  findings.push_back(check_socket(settings));
  findings.push_back(check_vault_key(settings, args.service_user));
  findings.push_back(check_clock());
  findings.push_back(check_devices(context, args, status.has_value()));

  int failures = 0;
  for (const auto& f : findings)
    failures += f.verdict == Verdict::Fail;
  if (context.format() != OutputFormat::Table) {
    json out = json::array();
    for (const auto& f : findings)
      out.push_back(
          {{"check", f.check}, {"verdict", verdict_name(f.verdict)}, {"detail", f.detail}});
    std::cout << render_document(out, context.format());
  } else {
    for (const auto& f : findings) {
      char head[48];
      std::snprintf(head, sizeof head, "%-4s  %-13s ", verdict_name(f.verdict), f.check.c_str());
      std::cout << head << f.detail << "\n";
    }
    std::cout << (failures ? std::to_string(failures) + " problem(s) to fix\n"
                           : std::string("nothing to fix\n"));
  }
  return failures ? 1 : 0;
}

}  // namespace

void add_doctor_command(CLI::App& app, CliContext& context) {
  auto args = std::make_shared<DoctorArgs>();
  auto* doctor = app.add_subcommand(
      "doctor",
      "check this installation: configuration, nautod and its store, socket and vault key "
      "permissions, clock sync, and whether a sample of devices answers; says what to fix");
  doctor->add_option("--sample", args->sample, "devices to try (spread over the inventory)")
      ->check(CLI::Range(0, 1000));
  doctor->add_option("--connect-timeout", args->connect_timeout_ms,
                     "milliseconds to wait for each device's port");
  doctor->add_option("--service-user", args->service_user,
                     "the user nautod runs as (owns the store and the vault key)");
  add_output_option(doctor, context);
  doctor->callback([&context, args] { context.exit_code = run_doctor(context, *args); });
}

}  // namespace nauto::cli
