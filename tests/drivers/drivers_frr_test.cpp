// Drivers against software we did not write: OpenSSH's sshd, whose logins on one port land in
// FRR's vtysh (bgpd started by this test) and on another in a plain shell (the linux driver, and
// the jump host). Everything listens on 127.0.0.1 with this test's own config, keys and PID files.

#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "driver_test_support.h"
#include "lab_process.h"
#include "nauto/drivers/make_driver.h"

using namespace nauto;
using namespace nauto::drivers;
using Catch::Matchers::Contains;

namespace {

void run_or_throw(const std::string& command) {
  if (std::system(command.c_str()) != 0) throw std::runtime_error("failed: " + command);
}

// Stops a daemon that is not our child and waits (up to 5 s) until it has exited, woken by a
// pidfd, so that it no longer touches its files (sshd removes its PID file on the way out).
void stop_daemon(int pid) {
  if (pid <= 0) return;
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  ::kill(pid, SIGTERM);
  if (pidfd < 0) return;
  pollfd exited{pidfd, POLLIN, 0};
  ::poll(&exited, 1, 5000);
  ::close(pidfd);
}

int read_pid(const std::filesystem::path& file) {
  for (int i = 0; i < 100; ++i) {
    std::ifstream in(file);
    int pid = 0;
    if (in >> pid && pid > 0) return pid;
    ::usleep(50'000);
  }
  return 0;
}

// bgpd (no zebra, no kernel routes, no BGP listener) + sshd on two loopback ports.
class FrrSetup {
 public:
  FrrSetup() {
    if (::geteuid() != 0) throw std::runtime_error("the FRR test needs root (sshd, bgpd)");
    dir_ = std::filesystem::temp_directory_path() / ("nauto-frr-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    std::filesystem::create_directories("/run/sshd");  // sshd's privilege-separation directory
    int base = nauto::test::claim_port_block();
    vtysh_port_ = base;
    shell_port_ = base + 1;
    std::string d = dir_.string();
    std::ofstream(dir_ / "frr.conf") << "hostname frr-test\nrouter bgp 65100\n bgp router-id "
                                        "10.255.0.1\n neighbor 192.0.2.1 remote-as 65200\n!\n";
    run_or_throw(
        "/usr/lib/frr/bgpd -Z -n -S -p 0 -l 127.0.0.1 -A 127.0.0.1 -P 0 -u root -g root -d"
        " -f " +
        d + "/frr.conf -i " + d + "/bgpd.pid --vty_socket " + d);
    bgpd_pid_ = read_pid(dir_ / "bgpd.pid");
    run_or_throw("ssh-keygen -q -t ed25519 -N '' -f " + d + "/host_key");
    run_or_throw("ssh-keygen -q -t ed25519 -N '' -f " + d + "/client_key");
    // HOME is ours: the login runs through root's shell, which would source root's ~/.bashrc,
    // and vtysh writes ~/.history_frr.
    std::ofstream(dir_ / "sshd_config")
        << "ListenAddress 127.0.0.1:" << vtysh_port_ << "\nListenAddress 127.0.0.1:" << shell_port_
        << "\nHostKey " << d << "/host_key\nPidFile " << d << "/sshd.pid\nAuthorizedKeysFile " << d
        << "/client_key.pub\nPermitRootLogin prohibit-password\nPasswordAuthentication no\n"
           "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nAllowTcpForwarding yes\n"
           "SetEnv HOME="
        << d << "\nMatch LocalPort " << vtysh_port_
        << "\n  ForceCommand /usr/bin/vtysh --vty_socket " << d << "\n";
    run_or_throw("/usr/sbin/sshd -f " + d + "/sshd_config -E " + d + "/sshd.log");
    sshd_pid_ = read_pid(dir_ / "sshd.pid");
    // known_hosts in OpenSSH's format for both ports, from the host key we generated.
    std::ifstream pub(dir_ / "host_key.pub");
    std::string type, key;
    pub >> type >> key;
    std::ofstream(dir_ / "known_hosts")
        << "[127.0.0.1]:" << vtysh_port_ << " " << type << " " << key
        << "\n[127.0.0.1]:" << shell_port_ << " " << type << " " << key << "\n";
  }
  ~FrrSetup() {
    stop_daemon(sshd_pid_);
    stop_daemon(bgpd_pid_);
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  DeviceTarget target(const std::string& platform, int port) const {
    DeviceTarget target;
    target.name = platform == "frr" ? "frr-test" : "linux-test";
    target.platform = platform;
    target.port = port;
    target.credentials.username = "root";
    target.credentials.private_key_file = (dir_ / "client_key").string();
    target.known_hosts = (dir_ / "known_hosts").string();
    return target;
  }
  int vtysh_port_ = 0, shell_port_ = 0;

 private:
  std::filesystem::path dir_;
  int bgpd_pid_ = 0, sshd_pid_ = 0;
};

FrrSetup& frr() {
  static FrrSetup setup;
  return setup;
}

using nauto::test::catalog;
using nauto::test::open_driver;
using nauto::test::soon;

}  // namespace

TEST_CASE("FRR vtysh over OpenSSH: show, push, read back, diff, roll back", "[drivers][frr]") {
  auto driver = open_driver(frr().target("frr", frr().vtysh_port_));
  auto version = driver->run("show version", soon());
  REQUIRE(version);
  CHECK_THAT(version->text, Contains("FRRouting"));
  auto facts = driver->facts(soon());
  REQUIRE(facts);
  CHECK(facts->vendor == "FRRouting");
  CHECK_FALSE(facts->os_version.empty());
  auto summary = driver->run("show bgp summary", soon());
  REQUIRE(summary);
  CHECK_THAT(summary->text, Contains("192.0.2.1"));

  auto bad = driver->run("show no-such-thing", soon());
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == Errc::Rejected);
  CHECK_THAT(bad.error().message, Contains("% Unknown command"));

  auto running = driver->get_config(ConfigSource::Running, soon());
  REQUIRE(running);
  CHECK_THAT(*running, Contains("neighbor 192.0.2.1 remote-as 65200"));

  ConfigPush change;
  change.text =
      "router bgp 65100\n neighbor 192.0.2.9 remote-as 65300\n neighbor 192.0.2.9 "
      "description added-by-nauto\n";
  change.dry_run = true;
  auto preview = driver->push_config(change, soon());
  REQUIRE(preview);
  CHECK_THAT(preview->diff, Contains("+ neighbor 192.0.2.9 remote-as 65300"));
  auto still = driver->get_config(ConfigSource::Running, soon());
  REQUIRE(still);
  CHECK_THAT(*still, !Contains("192.0.2.9"));

  change.dry_run = false;
  auto pushed = driver->push_config(change, soon());
  INFO((pushed ? "" : pushed.error().describe()));
  REQUIRE(pushed);
  CHECK(pushed->changed);
  CHECK_THAT(pushed->diff, Contains("+ neighbor 192.0.2.9 description added-by-nauto"));
  auto neighbors = driver->run("show bgp summary", soon());
  REQUIRE(neighbors);
  CHECK_THAT(neighbors->text, Contains("192.0.2.9"));  // bgpd itself has the peer now

  auto rolled = driver->rollback(RollbackTarget{pushed->snapshot, {}}, soon());
  INFO((rolled ? "" : rolled.error().describe()));
  REQUIRE(rolled);
  auto after = driver->get_config(ConfigSource::Running, soon());
  REQUIRE(after);
  CHECK_THAT(*after, !Contains("192.0.2.9"));
  CHECK_THAT(*after, Contains("neighbor 192.0.2.1 remote-as 65200"));

  ConfigPush typo;
  typo.text = "router bgp 65100\n neighbr 192.0.2.10 remote-as 1\n";
  auto refused = driver->push_config(typo, soon());
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == Errc::Rejected);
  CHECK_THAT(refused.error().message, Contains("config line 2 'neighbr 192.0.2.10 remote-as 1'"));
}

TEST_CASE("Linux over OpenSSH exec channels: output, exit status, facts", "[drivers][frr]") {
  auto driver = open_driver(frr().target("linux", frr().shell_port_));
  auto echo = driver->run("echo hello; echo to-stderr 1>&2", soon());
  REQUIRE(echo);
  CHECK(echo->text == "hello\n");
  auto failed = driver->run("ls /no/such/path", soon());
  REQUIRE_FALSE(failed);
  CHECK(failed.error().code == Errc::Rejected);
  CHECK_THAT(failed.error().message, Contains("exited with status 2"));
  CHECK_THAT(failed.error().message, Contains("No such file"));
  auto facts = driver->facts(soon());
  REQUIRE(facts);
  CHECK_FALSE(facts->hostname.empty());
  CHECK_THAT(facts->os_version, Contains("Debian"));
}

TEST_CASE("a jump host carries the session (ProxyJump)", "[drivers][frr]") {
  auto target = frr().target("frr", frr().vtysh_port_);
  JumpHost jump;
  jump.host = "127.0.0.1";
  jump.port = frr().shell_port_;
  jump.credentials = target.credentials;
  target.jump = jump;
  auto driver = open_driver(target);
  auto version = driver->run("show version", soon());
  INFO((version ? "" : version.error().describe()));
  REQUIRE(version);
  CHECK_THAT(version->text, Contains("FRRouting"));
  // An idle tunnel sleeps until either side has bytes: its pump used to wake every 5 ms
  // (200 context switches a second); now it wakes about once a second to re-check its stop flag.
  rusage before{}, after{};
  ::getrusage(RUSAGE_SELF, &before);
  std::this_thread::sleep_for(std::chrono::seconds(1));
  ::getrusage(RUSAGE_SELF, &after);
  const auto switches = after.ru_nvcsw - before.ru_nvcsw;
  INFO("voluntary context switches in 1 s idle: " << switches);
  CHECK(switches < 30);
  auto again = driver->run("show version", soon());  // and it still carries the session
  REQUIRE(again);
  CHECK_THAT(again->text, Contains("FRRouting"));
  driver->close();
}
