// The snmp_trap module: receives SNMPv2c (and v1) traps over UDP, IPv4 and IPv6, checks the
// community, finds the sending device in the inventory (by the source address, or a v1
// trap's agent address) and publishes each trap as `device.<name>.<kind>` with the fields a
// syslog event has, so one rule serves both:
//   {device, known, address, hostname: "", facility: "snmp", severity, severity_name,
//    program: "snmptrap", message, kind, rule: <trap name>, fields, timestamp: "", format:
//    "snmpv2c"|"snmpv1", received_us, trap_oid, uptime, bindings: [{oid, type, value}]}
// Communities are configuration secrets: compared in constant time, never logged or published.
// Bounded like syslog: per-source token buckets, at most `batch` datagrams per wake-up, the
// bus's high-water mark, the kernel's receive-buffer drops read back. Serves snmp_trap.stats.

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>

#include "nauto/base/clock.h"
#include "nauto/base/digest.h"
#include "nauto/bus/body.h"
#include "nauto/bus/schema_types.h"
#include "nauto/sdk/config_reader.h"
#include "nauto/sdk/device_directory.h"
#include "nauto/sdk/ingest_guard.h"
#include "nauto/sdk/listen_socket.h"
#include "nauto/sdk/registry.h"
#include "trap_classifier.h"
#include "trap_decoder.h"

namespace nauto::snmp_trap {

using nlohmann::json;

namespace {

struct Settings {
  std::vector<ListenEndpoint> listen;
  std::vector<std::string> communities;
  std::set<std::string> trust_agent_address_from;  // relays whose v1 agent address is believed
  std::size_t receive_buffer = 4u << 20;
  std::size_t batch = 1024;
  double rate_per_source = 0;
  double burst_per_source = 0;
  std::int64_t inventory_refresh_ms = 30'000;
};

Result<Settings> read_settings(const json& config) {
  Settings s;
  ConfigReader r(config, "modules.snmp_trap");
  auto listen = r.strings("listen");
  if (!config.is_object() || !config.contains("listen")) listen = {"udp://127.0.0.1:1162"};
  s.communities = r.strings("communities");
  s.trust_agent_address_from = r.addresses("trust_agent_address_from");
  s.receive_buffer = r.size_bytes("receive_buffer", 4u << 20, 65536);
  s.batch = static_cast<std::size_t>(r.integer("batch", 1024, 1, 100'000));
  s.rate_per_source = static_cast<double>(r.integer("rate_per_source", 0, 0, 100'000'000));
  s.burst_per_source = static_cast<double>(r.integer(
      "burst_per_source", static_cast<std::int64_t>(s.rate_per_source) * 2, 0, 1'000'000'000));
  s.inventory_refresh_ms = r.duration_ms("inventory_refresh", 30'000, 1000);
  if (auto done = r.finish(); !done) return std::move(done).error();
  std::string problems;
  for (const auto& text : listen) {
    auto endpoint = parse_endpoint(text);
    if (!endpoint) {
      problems += "modules.snmp_trap.listen: " + endpoint.error().message + "\n";
    } else if (endpoint->tcp) {
      problems += "modules.snmp_trap.listen: '" + text +
                  "': traps are taken over UDP only (udp://0.0.0.0:162)\n";
    } else {
      s.listen.push_back(*endpoint);
    }
  }
  if (s.listen.empty() && problems.empty())
    problems += "modules.snmp_trap.listen: give at least one endpoint (udp://0.0.0.0:162)\n";
  if (s.communities.empty())
    problems +=
        "modules.snmp_trap.communities: list the communities devices send (a trap with any "
        "other is refused and counted); e.g. communities: [nauto-traps]\n";
  if (!problems.empty()) {
    problems.pop_back();
    return fail(Errc::InvalidConfig, problems);
  }
  return s;
}

struct TrapCounters {
  std::uint64_t unsupported = 0;  ///< v3, informs, other PDUs (counted in malformed too)
};

std::string message_of(const Trap& trap, const TrapMeaning& meaning) {
  std::string out = (meaning.name.empty() ? trap.trap_oid : meaning.name);
  for (const auto& [key, value] : meaning.fields.items())
    out += " " + key + "=" + (value.is_string() ? value.get<std::string>() : value.dump());
  return out;
}

}  // namespace

class SnmpTrapModule final : public Module {
 public:
  Manifest manifest() const override {
    return Manifest::declared(
        "snmp_trap", "SNMPv2c/v1 trap receiver (UDP) publishing device.<name>.<kind> events", {},
        {});
  }

  Result<void> validate(const json& config) const override {
    auto s = read_settings(config);
    if (!s) return std::move(s).error();
    return ok();
  }

  Result<void> start(Context& ctx) override {
    auto s = read_settings(ctx.config());
    if (!s) return std::move(s).error();
    settings_ = std::move(*s);
    limiter_ =
        std::make_unique<SourceRateLimiter>(settings_.rate_per_source, settings_.burst_per_source);
    buffer_.resize(65536);
    for (const auto& endpoint : settings_.listen) {
      auto socket = open_listen_socket(endpoint, settings_.receive_buffer,
                                       "modules.snmp_trap.listen " + endpoint.text());
      if (!socket) return std::move(socket).error();
      sockets_.push_back(*socket);
      const int fd = socket->fd;
      auto watched = ctx.watch(fd, [this, &ctx, fd] { on_readable(ctx, fd); });
      if (!watched) return std::move(watched).error();
      watches_.push_back(*watched);
      ctx.log().info("listening for traps on {}", socket->endpoint.text());
    }
    directory_.keep_current(ctx, std::chrono::milliseconds(settings_.inventory_refresh_ms));
    return ok();
  }

  void stop(Context& ctx) noexcept override {
    for (auto watch : watches_)
      ctx.unwatch(watch);
    for (const auto& socket : sockets_)
      ::close(socket.fd);
    sockets_.clear();
  }

  void on_request(const bus::Envelope& request, Context&, Reply reply) override {
    if (request.topic != bus::schema::SnmpTrapStatsRequest::kTopic)
      return reply.fail(Error{Errc::Unsupported, "unknown service " + request.topic, "snmp_trap"});
    json listening = json::array();
    for (const auto& socket : sockets_)
      listening.push_back(socket.endpoint.text());
    auto counters = counters_.to_json();
    counters["unsupported"] = trap_counters_.unsupported;
    std::uint64_t dropped = 0;
    for (const auto& [fd, count] : drops_by_socket_)
      dropped += count;
    counters["kernel_dropped"] = dropped;
    reply.ok_json(
        {{"counters", counters}, {"listening", listening}, {"devices", directory_.size()}});
  }

 private:
  void on_readable(Context& ctx, int fd) {
    for (std::size_t i = 0; i < settings_.batch; ++i) {
      sockaddr_storage from{};
      alignas(cmsghdr) char control[CMSG_SPACE(sizeof(std::uint32_t))];
      iovec io{buffer_.data(), buffer_.size()};
      msghdr header{};
      header.msg_name = &from;
      header.msg_namelen = sizeof from;
      header.msg_iov = &io;
      header.msg_iovlen = 1;
      header.msg_control = control;
      header.msg_controllen = sizeof control;
      const auto got = ::recvmsg(fd, &header, MSG_DONTWAIT);
      if (got < 0) return;  // EAGAIN: drained; anything else: nothing to read now either
      read_drops(fd, header);
      handle(ctx, std::string_view(buffer_.data(), static_cast<std::size_t>(got)),
             address_text(from), (header.msg_flags & MSG_TRUNC) != 0);
    }
  }

  // SO_RXQ_OVFL: the kernel's count of datagrams it dropped on this socket, as of now.
  void read_drops(int fd, msghdr& header) {
    for (auto* c = CMSG_FIRSTHDR(&header); c; c = CMSG_NXTHDR(&header, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SO_RXQ_OVFL) continue;
      std::uint32_t dropped = 0;
      std::memcpy(&dropped, CMSG_DATA(c), sizeof dropped);
      drops_by_socket_[fd] = dropped;
    }
  }

  void handle(Context& ctx, std::string_view datagram, const std::string& address, bool truncated) {
    ++counters_.received;
    const auto received_us = now_us();
    if (!limiter_->admit(address, received_us)) {
      ++counters_.rate_limited;
      if (rate_warning_.allow(received_us))
        ctx.log().warn("shedding traps from {}: over rate_per_source {} traps/s ({} so far)",
                       address, settings_.rate_per_source, counters_.rate_limited);
      return;
    }
    auto trap = truncated ? Result<Trap>(fail(Errc::Malformed, "datagram over 64 KiB"))
                          : decode_trap(datagram);
    if (!trap) {
      ++counters_.malformed;
      if (trap.error().code == Errc::Unsupported) ++trap_counters_.unsupported;
      if (malformed_warning_.allow(received_us))
        ctx.log().warn("trap from {} refused ({} so far): {} ({} bytes)", address,
                       counters_.malformed, trap.error().message, datagram.size());
      return;
    }
    if (!community_allowed(trap->community)) {
      ++counters_.rejected;
      if (rejected_warning_.allow(received_us))
        ctx.log().warn(
            "trap from {} refused: its community is not one of "
            "modules.snmp_trap.communities ({} so far)",
            address, counters_.rejected);
      return;
    }
    const auto meaning = classify_trap(*trap);
    if (meaning.kind != "snmp.trap") ++counters_.classified;
    // A trap is known by where it came from. A v1 trap also names its agent, but the field is
    // the sender's say-so (a community is no proof of who sent it): it is believed only from a
    // relay the configuration names.
    const bool relayed = settings_.trust_agent_address_from.contains(address);
    const auto& agent = relayed && !trap->agent_address.empty() ? trap->agent_address : address;
    auto device = directory_.resolve("", agent);
    if (device.empty()) {
      ++counters_.unresolved;
      directory_.refresh_after_miss(ctx, received_us);
    }
    json bindings = json::array();
    for (const auto& b : trap->bindings)
      bindings.push_back({{"oid", b.oid}, {"type", b.type}, {"value", b.value}});
    json body = {{"device", device},
                 {"known", !device.empty()},
                 {"address", agent},
                 {"hostname", ""},
                 {"facility", "snmp"},
                 {"severity", meaning.severity},
                 {"severity_name", severity_name(meaning.severity)},
                 {"program", "snmptrap"},
                 {"procid", ""},
                 {"msgid", ""},
                 {"message", message_of(*trap, meaning)},
                 {"kind", meaning.kind},
                 {"rule", meaning.name},
                 {"fields", meaning.fields},
                 {"timestamp", ""},
                 {"format", trap->version == 1 ? "snmpv1" : "snmpv2c"},
                 {"received_us", received_us},
                 {"trap_oid", trap->trap_oid},
                 {"uptime", trap->uptime},
                 {"bindings", std::move(bindings)}};
    if (auto sent = ctx.publish(device_event_topic(device, meaning.kind), bus::to_body(body));
        !sent) {
      ++counters_.shed;
      if (shed_warning_.allow(received_us))
        ctx.log().warn("shedding traps: the bus would not take more ({}; {} so far)",
                       sent.error().message, counters_.shed);
      return;
    }
    ++counters_.published;
  }

  bool community_allowed(const std::string& community) const {
    bool allowed = false;
    // Every configured community is compared, in constant time: the answer's timing says
    // nothing about how close a guess was.
    for (const auto& configured : settings_.communities)
      allowed = equal_in_constant_time(community, configured) || allowed;
    return allowed;
  }

  Settings settings_;
  std::unique_ptr<SourceRateLimiter> limiter_;
  std::vector<ListenSocket> sockets_;
  std::vector<Context::TimerId> watches_;
  std::vector<char> buffer_;
  DeviceDirectory directory_;
  IngestCounters counters_;
  TrapCounters trap_counters_;
  std::map<int, std::uint64_t> drops_by_socket_;  // SO_RXQ_OVFL: each socket's own total
  WarningThrottle rate_warning_, malformed_warning_, rejected_warning_, shed_warning_;
};

NAUTO_REGISTER_MODULE(SnmpTrapModule, "snmp_trap");

}  // namespace nauto::snmp_trap
