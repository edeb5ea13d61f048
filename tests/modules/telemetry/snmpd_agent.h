#pragma once
// SnmpdAgent: a real net-snmp snmpd for a test, on 127.0.0.1 (and [::1] where the host has IPv6)
// at a port of the test's own block,
// with its own configuration, persistent directory and log in a temporary directory, stopped
// (SIGTERM, then SIGKILL) when the object goes. It answers:
//   - v2c with community "public";
//   - v3 user "nauto", SHA authentication "authpass123", AES privacy "privpass123" (authPriv);
//   - its own MIBs (system, IF-MIB, HOST-RESOURCES-MIB, ...);
//   - under 1.3.6.1.4.1.99999 (a `pass_persist` script), values the test writes: set_value("1.0",
//     "counter", "4294967000") serves a Counter32 at .1.3.6.1.4.1.99999.1.0.
// Thread: the test's.

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>

#include "support/eventually.h"
#include "support/port_block.h"
#include "support/temp_dir.h"

namespace nauto::test {

// Whether this host has IPv6 loopback (::1 can be bound): some containers have none.
inline bool has_ipv6_loopback() {
  int fd = ::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  const bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return bound;
}

class SnmpdAgent {
 public:
  explicit SnmpdAgent(int port = 0)
      : dir_("nauto-snmpd"), port_(port ? port : claim_port_block(4)) {
    std::filesystem::create_directories(dir_.path + "/values");
    write(dir_.path + "/pass.py", pass_script());
    write_config();
    start();
  }
  ~SnmpdAgent() { stop(); }
  SnmpdAgent(const SnmpdAgent&) = delete;
  SnmpdAgent& operator=(const SnmpdAgent&) = delete;

  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  /// The same agent over IPv6 loopback, in net-snmp's transport syntax.
  std::string address6() const { return "udp6:[::1]:" + std::to_string(port_); }

  /// Serves `type` (counter, gauge, integer, string, timeticks) `value` at
  /// 1.3.6.1.4.1.99999.<suffix>.
  void set_value(const std::string& suffix, const std::string& type, const std::string& value) {
    write(dir_.path + "/values/" + suffix, type + "\n" + value + "\n");
  }

  /// Restarts the agent: its sysUpTime starts from zero and its engine boots count goes up;
  /// with `new_engine_id` it comes back as another SNMP engine (a replaced device).
  void restart(bool new_engine_id = false) {
    stop();
    if (new_engine_id) ++engine_generation_;
    write_config();
    start();
  }

  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    if (!eventually([&] { return ::waitpid(pid_, nullptr, WNOHANG) == pid_; }, 3000)) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    pid_ = -1;
  }

 private:
  void write_config() {
    write(dir_.path + "/snmpd.conf",
          "engineID nauto-test-" + std::to_string(port_) + "-" +
              std::to_string(engine_generation_) + "\n" +
              "rocommunity public 127.0.0.1\n"
              "rocommunity6 public ::1\n"
              "createUser nauto SHA \"authpass123\" AES \"privpass123\"\n"
              "rouser nauto authpriv\n"
              "pass_persist .1.3.6.1.4.1.99999 /usr/bin/python3 " +
              dir_.path + "/pass.py\n");
  }

  static void write(const std::string& path, const std::string& text) {
    std::ofstream(path) << text;
  }

  // snmpd's pass_persist protocol (pass would cache a script's answer for 30 s): PING/PONG,
  // then "get"/"getnext" and an OID per request, answered with OID, type and value, or NONE.
  std::string pass_script() const {
    return "import os, sys\n"
           "base = [1, 3, 6, 1, 4, 1, 99999]\n"
           "values = '" +
           dir_.path +
           "/values'\n"
           "arcs = lambda text: [int(a) for a in text.strip('.').split('.') if a]\n"
           "for line in sys.stdin:\n"
           "    command = line.strip()\n"
           "    if command == 'PING':\n"
           "        print('PONG', flush=True)\n"
           "        continue\n"
           "    asked = arcs(sys.stdin.readline())\n"
           "    if command == 'set':\n"
           "        sys.stdin.readline()\n"
           "        print('not-writable', flush=True)\n"
           "        continue\n"
           "    answer = 'NONE'\n"
           "    for oid, name in sorted((base + arcs(n), n) for n in os.listdir(values)):\n"
           "        if (command == 'get' and oid == asked) or (command == 'getnext' and oid > "
           "asked):\n"
           "            answer = '.' + '.'.join(map(str, oid)) + '\\n' + open(os.path.join(values, "
           "name)).read().strip()\n"
           "            break\n"
           "    print(answer, flush=True)\n";
  }

  void start() {
    const std::string conf = dir_.path + "/snmpd.conf";
    const std::string pid_file = dir_.path + "/snmpd.pid";
    const std::string log = dir_.path + "/snmpd.log";
    std::string listen = "udp:127.0.0.1:" + std::to_string(port_);
    if (has_ipv6_loopback()) listen += ",udp6:[::1]:" + std::to_string(port_);
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      // A test that dies (a crash) takes its agent with it.
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      // Its complaints about MIB files it has no need of go to the log, not the test's output.
      const int null_fd = ::open("/dev/null", O_WRONLY);
      ::dup2(null_fd, 1);
      ::dup2(null_fd, 2);
      ::setenv("SNMP_PERSISTENT_DIR", (dir_.path + "/persist").c_str(), 1);
      ::setenv("MIBS", "", 1);
      ::setenv("MIBDIRS", (dir_.path + "/no-mibs").c_str(), 1);
      ::execl("/usr/sbin/snmpd", "snmpd", "-f", "-C", "-c", conf.c_str(), "-p", pid_file.c_str(),
              "-Lf", log.c_str(), "-r", listen.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    // Ready once it answers a v2c GET (snmpget from the same package).
    const std::string probe = "snmpget -v2c -c public -t 0.2 -r 0 -On " + address() +
                              " 1.3.6.1.2.1.1.3.0 >/dev/null 2>&1";
    if (!eventually([&] { return std::system(probe.c_str()) == 0; }, 10000))
      throw std::runtime_error("snmpd did not start on " + address() + "; see " + log);
  }

  TempDir dir_;
  int port_;
  int engine_generation_ = 0;
  pid_t pid_ = -1;
};

}  // namespace nauto::test
