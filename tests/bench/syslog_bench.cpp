// The syslog -> rules benchmark's two halves:
//   syslog_bench baseline RULES_FILE N      in-process ceiling: parse + classify + 100 rules on
//                                           one thread, no bus (messages/s)
//   syslog_bench send PORT RATE SECONDS EVERY  UDP load at RATE msg/s for SECONDS; every EVERY-th
//                                           message is a trigger (an admin-down interface with a
//                                           unique name); prints what it sent and how far it
//                                           fell behind its schedule (max_late_ms)
// The mix: 60% messages no rule knows, 30% known kinds (line protocol, BGP) that the decoy rules
// look at, the rest interface up/down; triggers on top. Hosts are not in any inventory.

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "bench_util.h"
#include "message_classifier.h"
#include "rule_engine.h"
#include "syslog_message.h"

using namespace nauto;

namespace {

std::string message(std::uint64_t n, std::uint64_t every) {
  char text[256];
  const unsigned host = static_cast<unsigned>(n % 50);
  if (every > 0 && n % every == 0) {
    std::snprintf(text, sizeof text,
                  "<189>1 2026-11-24T10:00:00.000Z bench%u - - - - %%LINK-5-CHANGED: Interface "
                  "Bench%llu, changed state to administratively down",
                  host, static_cast<unsigned long long>(n));
    return text;
  }
  switch (n % 10) {
    case 0:
    case 1:
    case 2:
      std::snprintf(text, sizeof text,
                    "<189>1 2026-11-24T10:00:00.000Z bench%u - - - - %%LINEPROTO-5-UPDOWN: Line "
                    "protocol on Interface GigabitEthernet0/%u, changed state to %s",
                    host, static_cast<unsigned>(n % 48), n % 2 ? "up" : "down");
      return text;
    case 3:
      std::snprintf(text, sizeof text,
                    "<189>Nov 24 10:00:00 bench%u %%BGP-5-ADJCHANGE: neighbor 10.%u.%u.1 %s", host,
                    static_cast<unsigned>(n % 200), host, n % 2 ? "Up" : "Down Interface flap");
      return text;
    default:
      std::snprintf(text, sizeof text,
                    "<190>Nov 24 10:00:00 bench%u %%SYS-6-LOGGINGHOST_STARTSTOP: Logging to host "
                    "192.0.2.%u port 514 started - CLI initiated",
                    host, static_cast<unsigned>(n % 250));
      return text;
  }
}

int baseline(const std::string& rules_file, std::uint64_t count) {
  std::ifstream in(rules_file);
  std::stringstream text;
  text << in.rdbuf();
  auto rules = rules::parse_rules(text.str(), rules_file);
  if (!rules) {
    std::fprintf(stderr, "%s\n", rules.error().message.c_str());
    return 1;
  }
  auto classifier = syslog::MessageClassifier::create({});
  std::uint64_t fired = 0;
  rules::RuleEngine::Hooks hooks;
  hooks.now_ms = [] { return steady_us() / 1000; };
  hooks.after = [](std::int64_t, std::function<void()>) { return std::uint64_t{0}; };
  hooks.cancel = [](std::uint64_t) {};
  hooks.publish = [](const std::string&, nlohmann::json) {};
  hooks.act = [&](const rules::Rule&, const nlohmann::json&, const std::string&,
                  const std::string&) { ++fired; };
  rules::RuleEngine engine({{1'000'000'000, 3'600'000}, {1'000'000'000, 3'600'000}, 0, 1000},
                           std::move(hooks));
  engine.replace_rules(std::move(*rules));
  std::vector<std::string> messages;
  for (std::uint64_t i = 0; i < 10000; ++i)
    messages.push_back(message(i, 250));
  const auto start = steady_us();
  for (std::uint64_t i = 0; i < count; ++i) {
    auto parsed = syslog::parse_syslog(messages[i % messages.size()]);
    auto kind = classifier->classify(parsed->text);
    nlohmann::json body = {
        {"device", ""},      {"hostname", parsed->hostname}, {"message", parsed->text},
        {"kind", kind.kind}, {"fields", kind.fields},        {"severity", parsed->severity}};
    engine.on_event("device._unknown." + kind.kind, std::to_string(i), body);
  }
  const double seconds = static_cast<double>(steady_us() - start) / 1e6;
  std::printf(
      "baseline: %llu messages in %.2f s = %.0f msg/s on one thread (parse, classify, "
      "%zu rules; %llu fired)\n",
      static_cast<unsigned long long>(count), seconds, static_cast<double>(count) / seconds,
      engine.rules().size(), static_cast<unsigned long long>(fired));
  return 0;
}

int send(int port, double rate, double seconds, std::uint64_t every) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<std::uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
  const int buffer = 8 << 20;
  ::setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buffer, sizeof buffer);
  // Connected: the route is looked up once, not for every datagram.
  if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
    std::perror("syslog_bench: connect");
    return 1;
  }
  const auto total = static_cast<std::uint64_t>(rate * seconds);
  bench::Pacer pacer(rate);
  std::uint64_t sent = 0, failed = 0, triggers = 0;
  // Messages that are due together go out in one sendmmsg: the generator shares the two cores
  // with nautod, so it spends as little of them as it can. Nothing is sent before it is due.
  constexpr std::size_t kBurst = 16;
  std::string texts[kBurst];
  mmsghdr headers[kBurst];
  iovec vectors[kBurst];
  std::int64_t max_late_us = 0;
  std::uint64_t late_over_1ms = 0;
  // When each trigger left (wall clock, as the journal stamps events): the end-to-end latency
  // is measured from here, so time in the kernel's receive buffer counts too.
  std::vector<std::pair<std::uint64_t, std::int64_t>> trigger_sent_us;
  const auto start = steady_us();
  for (std::uint64_t n = 1; n <= total;) {
    pacer.wait_for(n);
    const auto now = steady_us();
    // How late the generator is: a generator that fell behind (descheduled on these shared
    // cores) sends its backlog at once, a burst well above the offered rate.
    const auto late_us = now - pacer.due(n);
    max_late_us = std::max(max_late_us, late_us);
    late_over_1ms += late_us > 1000;
    std::size_t count = 0;
    for (; count < kBurst && n <= total && pacer.due(n) <= now; ++count, ++n) {
      texts[count] = message(n, every);
      vectors[count] = {texts[count].data(), texts[count].size()};
      headers[count] = {};
      headers[count].msg_hdr.msg_iov = &vectors[count];
      headers[count].msg_hdr.msg_iovlen = 1;
      if (every > 0 && n % every == 0) {
        ++triggers;
        trigger_sent_us.emplace_back(n, 0);
      }
    }
    const auto burst_triggers = trigger_sent_us.size();
    // Stamped as the burst is handed to the kernel: a stamp taken after sendmmsg returns could
    // be later than the receiver's own (loopback delivers inside the call).
    const auto sent_at = now_us();
    std::size_t done = 0;
    while (done < count) {
      const int out = ::sendmmsg(fd, headers + done, static_cast<unsigned>(count - done), 0);
      if (out <= 0) {
        ++failed;  // this message is lost; go on with the rest
        ++done;
        continue;
      }
      sent += static_cast<std::size_t>(out);
      done += static_cast<std::size_t>(out);
    }
    for (auto i = burst_triggers; i-- > 0 && trigger_sent_us[i].second == 0;)
      trigger_sent_us[i].second = sent_at;
  }
  const double took = static_cast<double>(steady_us() - start) / 1e6;
  std::printf(
      "{\"sent\": %llu, \"failed\": %llu, \"triggers\": %llu, \"seconds\": %.3f, "
      "\"max_late_ms\": %.2f, \"sends_late_over_1ms\": %llu, \"trigger_sent_us\": {",
      static_cast<unsigned long long>(sent), static_cast<unsigned long long>(failed),
      static_cast<unsigned long long>(triggers), took, static_cast<double>(max_late_us) / 1000.0,
      static_cast<unsigned long long>(late_over_1ms));
  for (std::size_t i = 0; i < trigger_sent_us.size(); ++i)
    std::printf("%s\"%llu\": %lld", i ? ", " : "",
                static_cast<unsigned long long>(trigger_sent_us[i].first),
                static_cast<long long>(trigger_sent_us[i].second));
  std::printf("}}\n");
  ::close(fd);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::strcmp(argv[1], "baseline") == 0)
    return baseline(argv[2], std::stoull(argv[3]));
  if (argc == 6 && std::strcmp(argv[1], "send") == 0)
    return send(std::atoi(argv[2]), std::atof(argv[3]), std::atof(argv[4]), std::stoull(argv[5]));
  std::fprintf(stderr,
               "usage: syslog_bench baseline RULES_FILE N | send PORT RATE SECONDS EVERY\n");
  return 2;
}
