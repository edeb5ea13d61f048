// The Prometheus text format, and the /metrics server handing each scrape to the module's
// thread through its doorbell.
#include "exposition.h"

#include <httplib.h>
#include <poll.h>

#include <catch2/catch.hpp>
#include <thread>

#include "metrics_server.h"

using namespace nauto;
using namespace nauto::telemetry;

TEST_CASE("families are whole, sorted, typed, with escaped labels", "[telemetry][exposition]") {
  Exposition e;
  e.add("if_in_octets_total", Exposition::Type::Counter, "Octets received",
        {{"device", "r1"}, {"interface", "Gi0/1"}}, 5e9);
  e.add("uptime_seconds", Exposition::Type::Gauge, "Up\nfor", {{"device", "r\"1\\"}}, 12.5);
  e.add("if_in_octets_total", Exposition::Type::Counter, "ignored", {{"device", "r2"}}, 7);
  Histogram h({0.1, 1});
  for (double v : {0.05, 0.5, 0.7, 3.0})
    h.observe(v);
  e.add_histogram("poll_seconds", "Polls", {{"group", "core"}}, h);
  e.add("bad-name.x", Exposition::Type::Gauge, "", {}, 1);
  const auto text = e.text();
  CHECK(text ==
        "# HELP bad_name_x \n# TYPE bad_name_x gauge\nbad_name_x 1\n"
        "# HELP if_in_octets_total Octets received\n# TYPE if_in_octets_total counter\n"
        "if_in_octets_total{device=\"r1\",interface=\"Gi0/1\"} 5000000000\n"
        "if_in_octets_total{device=\"r2\"} 7\n"
        "# HELP poll_seconds Polls\n# TYPE poll_seconds histogram\n"
        "poll_seconds_bucket{group=\"core\",le=\"0.1\"} 1\n"
        "poll_seconds_bucket{group=\"core\",le=\"1\"} 3\n"
        "poll_seconds_bucket{group=\"core\",le=\"+Inf\"} 4\n"
        "poll_seconds_sum{group=\"core\"} 4.25\n"
        "poll_seconds_count{group=\"core\"} 4\n"
        "# HELP uptime_seconds Up\\nfor\n# TYPE uptime_seconds gauge\n"
        "uptime_seconds{device=\"r\\\"1\\\\\"} 12.5\n");
  CHECK(e.samples() == 5);
}

TEST_CASE("a scrape is rendered by the module's thread after the scrape asked",
          "[telemetry][exposition]") {
  auto server = MetricsServer::start("127.0.0.1:0", 2000);
  REQUIRE(server);
  auto& s = **server;
  REQUIRE(s.port() > 0);
  std::atomic<bool> stop{false};
  int renders = 0;
  // The module's thread: waits on the doorbell, renders what is asked.
  std::thread module([&] {
    while (!stop) {
      pollfd p{s.bell().fd(), POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      s.bell().drain();
      const auto answers = s.render_wanted();
      ++renders;
      s.publish(answers, "nauto_up 1\nrender " + std::to_string(renders) + "\n");
    }
  });
  httplib::Client client("127.0.0.1", s.port());
  auto first = client.Get("/metrics");
  REQUIRE(first);
  CHECK(first->status == 200);
  CHECK(first->get_header_value("Content-Type").find("version=0.0.4") != std::string::npos);
  CHECK(first->body.find("render 1") != std::string::npos);
  auto second = client.Get("/metrics");
  REQUIRE(second);
  CHECK(second->body.find("render 2") != std::string::npos);  // its own, fresh
  CHECK(client.Get("/other")->status == 404);
  stop = true;
  module.join();
  // Nobody renders: the scrape gets 503 after the render timeout, not a hang.
  auto slow = MetricsServer::start("127.0.0.1:0", 200);
  REQUIRE(slow);
  httplib::Client late("127.0.0.1", (*slow)->port());
  auto unanswered = late.Get("/metrics");
  REQUIRE(unanswered);
  CHECK(unanswered->status == 503);
  CHECK((*slow)->counters().timed_out == 1);
  CHECK_FALSE(MetricsServer::start("not an address", 100));
}
