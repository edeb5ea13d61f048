// The transport's floor for frr_fleet_bench.py: the conversation nauto's frr driver has with each
// router (connect, host key against known_hosts, public key login, a pty shell, the prompt,
// `terminal length 0`, then each command read up to the next prompt: the last line of the
// login banner, as vtysh shows the machine's name there), written straight on
// blocking libssh with a thread per session and nothing else: no job runner, bus, store,
// retries, prompt patterns or output cleaning. Its CPU per router is what any client of this
// design pays; nauto's figure minus it is nauto's own cost.
//   libssh_fleet WORK_DIR SESSIONS
// reads WORK_DIR/routers.json ({name: port}), WORK_DIR/client_key and WORK_DIR/known_hosts as
// the bench writes them, and writes WORK_DIR/libssh.json ({name: [version, config]} or null).
#include <libssh/libssh.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace {

// Reads until the text read so far ends with `prompt` (then optional spaces), or fails.
bool read_to_prompt(ssh_channel channel, const std::string& prompt, std::string& out) {
  char buffer[16384];
  for (;;) {
    const int n = ssh_channel_read_timeout(channel, buffer, sizeof buffer, 0, 60000);
    if (n <= 0) {
      std::fprintf(stderr, "no prompt '%s' after: %s\n", prompt.c_str(),
                   out.substr(out.size() > 200 ? out.size() - 200 : 0).c_str());
      return false;
    }
    out.append(buffer, static_cast<std::size_t>(n));
    auto end = out.find_last_not_of(" \r\n");
    if (end != std::string::npos && end + 1 >= prompt.size() &&
        out.compare(end + 1 - prompt.size(), prompt.size(), prompt) == 0)
      return true;
  }
}

bool send_line(ssh_channel channel, const std::string& line) {
  const std::string text = line + "\n";
  return ssh_channel_write(channel, text.data(), static_cast<std::uint32_t>(text.size())) ==
         static_cast<int>(text.size());
}

std::optional<std::vector<std::string>> converse(int port, ssh_key key,
                                                 const std::string& known_hosts) {
  ssh_session session = ssh_new();
  int nodelay = 1;
  bool no_config = false;
  ssh_options_set(session, SSH_OPTIONS_HOST, "127.0.0.1");
  ssh_options_set(session, SSH_OPTIONS_PORT, &port);
  ssh_options_set(session, SSH_OPTIONS_USER, "root");
  ssh_options_set(session, SSH_OPTIONS_NODELAY, &nodelay);
  ssh_options_set(session, SSH_OPTIONS_PROCESS_CONFIG, &no_config);
  ssh_options_set(session, SSH_OPTIONS_KNOWNHOSTS, known_hosts.c_str());
  std::optional<std::vector<std::string>> result;
  if (ssh_connect(session) == SSH_OK &&
      ssh_session_is_known_server(session) == SSH_KNOWN_HOSTS_OK &&
      ssh_userauth_publickey(session, nullptr, key) == SSH_AUTH_SUCCESS) {
    ssh_channel channel = ssh_channel_new(session);
    std::string banner;
    std::string prompt = "#";  // at first any line ending in '#'; then that whole line
    auto learn_prompt = [&] {
      const auto end = banner.find_last_not_of(" \r\n");
      const auto start = banner.find_last_of('\n', end);
      prompt = banner.substr(start == std::string::npos ? 0 : start + 1, end + 1 - (start + 1));
      return true;
    };
    if (ssh_channel_open_session(channel) == SSH_OK &&
        ssh_channel_request_pty_size(channel, "vt100", 511, 24) == SSH_OK &&
        ssh_channel_request_shell(channel) == SSH_OK && read_to_prompt(channel, prompt, banner) &&
        learn_prompt() && send_line(channel, "terminal length 0") &&
        read_to_prompt(channel, prompt, banner)) {
      std::vector<std::string> outputs;
      for (const char* command : {"show version", "show running-config"}) {
        std::string out;
        if (!send_line(channel, command) || !read_to_prompt(channel, prompt, out)) break;
        outputs.push_back(std::move(out));
      }
      if (outputs.size() == 2) result = std::move(outputs);
    }
    ssh_channel_close(channel);
    ssh_channel_free(channel);
  }
  ssh_disconnect(session);
  ssh_free(session);
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: libssh_fleet WORK_DIR SESSIONS\n");
    return 2;
  }
  const std::string work = argv[1];
  const int sessions = std::atoi(argv[2]);
  std::ifstream routers_file(work + "/routers.json");
  const auto routers = nlohmann::json::parse(routers_file, nullptr, false);
  if (routers.is_discarded()) return 1;
  ssh_key key = nullptr;
  if (ssh_pki_import_privkey_file((work + "/client_key").c_str(), nullptr, nullptr, nullptr,
                                  &key) != SSH_OK)
    return 1;
  std::vector<std::pair<std::string, int>> todo;
  for (const auto& [name, port] : routers.items())
    todo.emplace_back(name, port.get<int>());
  std::atomic<std::size_t> next{0};
  std::mutex mutex;
  nlohmann::json results = nlohmann::json::object();
  std::vector<std::thread> threads;
  for (int i = 0; i < sessions; ++i) {
    threads.emplace_back([&] {
      for (std::size_t at; (at = next++) < todo.size();) {
        auto outputs = converse(todo[at].second, key, work + "/known_hosts");
        std::lock_guard lock(mutex);
        results[todo[at].first] = outputs ? nlohmann::json(*outputs) : nlohmann::json();
      }
    });
  }
  for (auto& thread : threads)
    thread.join();
  ssh_key_free(key);
  std::ofstream(work + "/libssh.json") << results.dump();
  return 0;
}
