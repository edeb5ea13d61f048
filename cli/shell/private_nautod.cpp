#include "private_nautod.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "nauto/base/clock.h"
#include "nauto/bus/client.h"
#include "nauto/bus/schema_types.h"
#include "nauto/bus/socket.h"

namespace nauto::cli::shell {

namespace {

std::string tail_of(const std::string& file) {
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  auto all = text.str();
  if (all.size() > 600) all = "..." + all.substr(all.size() - 600);
  return all;
}

}  // namespace

Result<PrivateNautod> PrivateNautod::start(const std::string& config, std::int64_t timeout_ms) {
  char pattern[] = "/tmp/nauto-shell-XXXXXX";
  if (!::mkdtemp(pattern)) return fail(Errc::System, "cannot create a directory in /tmp");
  PrivateNautod kernel;
  kernel.run_dir_ = pattern;
  kernel.endpoint_ = bus::endpoints::router_ipc(kernel.run_dir_);
  kernel.log_file_ = kernel.run_dir_ + "/nautod.log";
  const auto binary = nautod_binary();
  const bool config_exists = ::access(config.c_str(), R_OK) == 0;
  const pid_t pid = ::fork();
  if (pid < 0) return fail(Errc::System, "fork failed", "nautod");
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);  // never outlive the shell
    ::setenv("NAUTO_RUN_DIR", kernel.run_dir_.c_str(), 1);
    const int log = ::open(kernel.log_file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (log >= 0) {
      ::dup2(log, STDOUT_FILENO);
      ::dup2(log, STDERR_FILENO);
    }
    const int nothing = ::open("/dev/null", O_RDONLY);
    if (nothing >= 0) ::dup2(nothing, STDIN_FILENO);
    ::signal(SIGINT, SIG_IGN);  // Ctrl-C belongs to the shell, not its kernel
    if (config_exists) {
      ::execlp(binary.c_str(), binary.c_str(), "--config", config.c_str(), "--passive", nullptr);
    } else {
      ::execlp(binary.c_str(), binary.c_str(), "--passive", nullptr);
    }
    std::fprintf(stderr, "cannot run %s: %s\n", binary.c_str(), std::strerror(errno));
    ::_exit(127);
  }
  kernel.pid_ = pid;
  zmq::context_t context;
  const auto give_up = steady_us() + timeout_ms * 1000;
  while (steady_us() < give_up) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      kernel.pid_ = -1;
      return fail(Errc::Unavailable,
                  "the private nautod exited at start:\n" + tail_of(kernel.log_file_), binary);
    }
    if (std::filesystem::exists(kernel.endpoint_.substr(std::string("ipc://").size()))) {
      auto client = bus::BusClient::connect(context, kernel.endpoint_, "shell.probe");
      if (client &&
          client->call(bus::schema::KernelStatusRequest::kTopic, nlohmann::json::object(), 500))
        return kernel;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return fail(Errc::Timeout,
              "the private nautod did not answer within " + std::to_string(timeout_ms / 1000) +
                  " s; its log:\n" + tail_of(kernel.log_file_),
              binary);
}

PrivateNautod::PrivateNautod(PrivateNautod&& other) noexcept
    : pid_(other.pid_),
      run_dir_(std::move(other.run_dir_)),
      endpoint_(std::move(other.endpoint_)),
      log_file_(std::move(other.log_file_)) {
  other.pid_ = -1;
  other.run_dir_.clear();
}

PrivateNautod::~PrivateNautod() {
  stop();
}

void PrivateNautod::stop() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 100 && ::waitpid(pid_, &status, WNOHANG) == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (::waitpid(pid_, &status, WNOHANG) == 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
    }
    pid_ = -1;
  }
  if (!run_dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(run_dir_, ignored);
    run_dir_.clear();
  }
}

// NAUTO_NAUTOD when set (the build tree keeps nauto and nautod in different folders, so tests
// name it), else the nautod installed beside this nauto, else the package's (nauto in
// /usr/bin, nautod in /usr/sbin, which a user's PATH often lacks), else the one on PATH.
std::string nautod_binary() {
  if (const char* named = std::getenv("NAUTO_NAUTOD"); named != nullptr && *named != '\0')
    return named;
  char self[PATH_MAX];
  const auto n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    const auto folder =
        std::filesystem::path(std::string(self, static_cast<std::size_t>(n))).parent_path();
    for (const auto& candidate : {folder / "nautod", folder.parent_path() / "sbin" / "nautod"}) {
      if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    }
  }
  return "nautod";  // from PATH
}

}  // namespace nauto::cli::shell
