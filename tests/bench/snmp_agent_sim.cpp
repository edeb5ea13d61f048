// A fast SNMPv2c agent simulation for the telemetry benchmark: N agents, each its own loopback
// address (127.1.0.1 + i) on one port, all answered from one thread. Requests are decoded with
// net-snmp's parser; answers are encoded here (a GetResponse is a few nested TLVs).
//   snmp_agent_sim PORT COUNT
// Objects: sysUpTime.0 (TimeTicks since start); 1.3.6.1.4.1.99999.N.0, a Counter32 growing by
// a rate of its own when N is odd (wrapping at 2^32), a Gauge32 0..100 when N is even; anything
// else is noSuchObject. Prints "ready" once every socket is bound; on SIGTERM prints how many
// requests it answered.
// clang-format off
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/library/snmp_impl.h>
// clang-format on
#include <arpa/inet.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

volatile sig_atomic_t g_stop = 0;

std::string tlv(unsigned char tag, const std::string& value) {
  std::string out(1, static_cast<char>(tag));
  const auto n = value.size();
  if (n < 128) {
    out += static_cast<char>(n);
  } else if (n < 256) {
    out += static_cast<char>(0x81);
    out += static_cast<char>(n);
  } else {
    out += static_cast<char>(0x82);
    out += static_cast<char>(n >> 8);
    out += static_cast<char>(n & 0xff);
  }
  return out + value;
}

std::string integer(unsigned char tag, std::int64_t v) {
  std::string bytes;
  for (int i = 7; i >= 0; --i)
    bytes += static_cast<char>((v >> (i * 8)) & 0xff);
  // Minimal two's complement: drop leading bytes that only repeat the sign.
  std::size_t start = 0;
  while (start < 7 && ((bytes[start] == 0 && !(bytes[start + 1] & 0x80)) ||
                       (bytes[start] == '\xff' && (bytes[start + 1] & 0x80))))
    ++start;
  return tlv(tag, bytes.substr(start));
}

std::string unsigned32(unsigned char tag, std::uint32_t v) {
  return integer(tag, static_cast<std::int64_t>(v));  // as a positive int64: a 0 byte if needed
}

std::string oid_bytes(const oid* name, std::size_t length) {
  std::string out;
  if (length < 2) return tlv(0x06, out);
  out += static_cast<char>(name[0] * 40 + name[1]);
  for (std::size_t i = 2; i < length; ++i) {
    auto v = static_cast<std::uint32_t>(name[i]);
    std::string arc(1, static_cast<char>(v & 0x7f));
    while (v >>= 7)
      arc.insert(arc.begin(), static_cast<char>(0x80 | (v & 0x7f)));
    out += arc;
  }
  return tlv(0x06, out);
}

const oid kUptime[] = {1, 3, 6, 1, 2, 1, 1, 3, 0};
const oid kBase[] = {1, 3, 6, 1, 4, 1, 99999};

struct Sim {
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  std::uint64_t answered = 0;

  std::string value_of(const netsnmp_variable_list& v, std::size_t agent) const {
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (v.name_length == 9 && std::equal(kUptime, kUptime + 9, v.name))
      return unsigned32(0x43, static_cast<std::uint32_t>(seconds * 100));
    if (v.name_length == 9 && std::equal(kBase, kBase + 7, v.name) && v.name[8] == 0) {
      const auto n = v.name[7];
      if (n % 2 == 1) {
        const auto rate = 1000.0 * static_cast<double>((agent % 97) + 1) * static_cast<double>(n);
        return unsigned32(0x41, static_cast<std::uint32_t>(static_cast<std::uint64_t>(
                                    3'000'000'000.0 + rate * seconds)));  // wraps
      }
      return unsigned32(0x42, static_cast<std::uint32_t>(
                                  (agent * 7 + n * 13 + static_cast<std::size_t>(seconds)) % 101));
    }
    return tlv(0x80, "");  // noSuchObject
  }

  /// The GetResponse to a v2c GET, or "" for anything else.
  std::string answer(const unsigned char* data, std::size_t size, std::size_t agent) {
    u_char community[64];
    size_t community_length = sizeof community;
    long version = 0;
    size_t length = size;
    u_char* pdu_data = snmp_comstr_parse(const_cast<u_char*>(data), &length, community,
                                         &community_length, &version);
    if (!pdu_data || version != SNMP_VERSION_2c) return {};
    netsnmp_pdu* pdu = snmp_pdu_create(0);
    std::string out;
    if (snmp_pdu_parse(pdu, pdu_data, &length) == 0 && pdu->command == SNMP_MSG_GET) {
      std::string bindings;
      for (auto* v = pdu->variables; v; v = v->next_variable)
        bindings += tlv(0x30, oid_bytes(v->name, v->name_length) + value_of(*v, agent));
      const std::string body =
          integer(0x02, pdu->reqid) + integer(0x02, 0) + integer(0x02, 0) + tlv(0x30, bindings);
      out = tlv(0x30,
                integer(0x02, SNMP_VERSION_2c) +
                    tlv(0x04, std::string(reinterpret_cast<char*>(community), community_length)) +
                    tlv(0xa2, body));
      ++answered;
    }
    snmp_free_pdu(pdu);
    return out;
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: snmp_agent_sim PORT COUNT\n");
    return 2;
  }
  const int port = std::atoi(argv[1]);
  const int count = std::atoi(argv[2]);
  signal(SIGTERM, [](int) { g_stop = 1; });
  signal(SIGINT, [](int) { g_stop = 1; });
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  std::vector<int> sockets;
  for (int i = 0; i < count; ++i) {
    const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(0x7F010001u + static_cast<std::uint32_t>(i));
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      std::perror("bind");
      return 1;
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = static_cast<std::uint32_t>(i);
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    sockets.push_back(fd);
  }
  std::printf("ready %d agents on 127.1.0.1+ port %d\n", count, port);
  std::fflush(stdout);
  Sim sim;
  std::vector<epoll_event> events(256);
  unsigned char buffer[65536];
  while (!g_stop) {
    const int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 200);
    for (int k = 0; k < n; ++k) {
      const auto agent = events[k].data.u32;
      const int fd = sockets[agent];
      for (;;) {
        sockaddr_storage from{};
        socklen_t from_length = sizeof from;
        const auto got = recvfrom(fd, buffer, sizeof buffer, 0, reinterpret_cast<sockaddr*>(&from),
                                  &from_length);
        if (got <= 0) break;
        const auto reply = sim.answer(buffer, static_cast<std::size_t>(got), agent);
        if (!reply.empty())
          sendto(fd, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from),
                 from_length);
      }
    }
  }
  std::printf("answered %llu requests\n", static_cast<unsigned long long>(sim.answered));
  return 0;
}
