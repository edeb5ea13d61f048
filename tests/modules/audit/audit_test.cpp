// The audit trail's parts (issue 30): the hash chain and what verify finds, the signed heads,
// RFC 5424 messages, and forwarding to a real TCP receiver across its restarts.

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "audit_chain.h"
#include "audit_forwarder.h"
#include "audit_signer.h"
#include "nauto/bus/body.h"
#include "support/temp_dir.h"

using namespace nauto;
using namespace nauto::mod::audit;
using nauto::test::TempDir;
using nlohmann::json;

namespace {

std::unique_ptr<store::Store> open_store(const std::string& dir) {
  store::StoreOptions options;
  options.path = dir + "/store";
  options.tables = {kRecordsTable, kHeadsTable, kMetaTable};
  auto opened = store::Store::open(options);
  REQUIRE(opened);
  return std::move(*opened);
}

// Appends `count` records after the chain's tail, as the module does.
Anchor append(store::Store& store, Anchor tail, int count, std::int64_t time_us = 1'000'000) {
  store::WriteBatch batch;
  for (int i = 0; i < count; ++i) {
    const auto seq = tail.seq + 1;
    json record = {{"seq", seq},
                   {"time_us", time_us + static_cast<std::int64_t>(seq)},
                   {"principal", "alice"},
                   {"service", "job.run"},
                   {"target", "device=r" + std::to_string(seq)},
                   {"outcome", "ok"}};
    Hash hash{};
    batch.append(kRecordsTable, seq_key(seq), encode_link(seq, tail.hash, record, hash));
    tail = Anchor{seq, hash};
  }
  REQUIRE(store.write(std::move(batch)).wait());
  return tail;
}

std::string raw(store::Store& store, std::uint64_t seq) {
  auto value = store.get(kRecordsTable, seq_key(seq));
  REQUIRE(value);
  REQUIRE(*value);
  return **value;
}

void put_raw(store::Store& store, std::uint64_t seq, const std::string& value) {
  store::WriteBatch batch;
  batch.put(kRecordsTable, seq_key(seq), value);
  REQUIRE(store.write(std::move(batch)).wait());
}

Verdict verify_all(store::Store& store, const HeadCheck& check = {}) {
  auto verdict = verify(store, check, UINT64_MAX - 1, INT64_MAX);
  REQUIRE(verdict);
  return *verdict;
}

}  // namespace

TEST_CASE("an intact chain verifies; every kind of tampering is named at its first record",
          "[audit]") {
  TempDir dir("nauto-audit-chain");
  auto store = open_store(dir.path);
  auto tail = append(*store, Anchor{}, 20);
  CHECK(tail.seq == 20);
  auto verdict = verify_all(*store);
  CHECK(verdict.ok);
  CHECK(verdict.records == 20);
  auto read = read_tail(*store);
  REQUIRE(read);
  CHECK(read->seq == 20);
  CHECK(read->hash == tail.hash);

  SECTION("an edited record") {
    auto value = raw(*store, 7);
    const auto at = value.find("alice");
    REQUIRE(at != std::string::npos);
    value.replace(at, 5, "mallo");
    put_raw(*store, 7, value);
    verdict = verify_all(*store);
    CHECK_FALSE(verdict.ok);
    CHECK(verdict.first_bad == 7);
    CHECK(verdict.problem == "its content does not match its hash (edited)");
  }
  SECTION("an edited record whose hash was recomputed breaks the next link") {
    const auto value = raw(*store, 7);  // the link's views point into it
    auto link = decode_link(value);
    REQUIRE(link);
    auto record = *bus::from_body(link->record);
    record["principal"] = "mallory";
    Hash prev{}, hash{};
    std::copy(link->prev.begin(), link->prev.end(), prev.begin());
    put_raw(*store, 7, encode_link(7, prev, record, hash));
    verdict = verify_all(*store);
    CHECK(verdict.first_bad == 8);
    CHECK(verdict.problem.find("previous hash is not the hash of record 7") != std::string::npos);
  }
  SECTION("a removed record") {
    store::WriteBatch batch;
    batch.erase(kRecordsTable, seq_key(12));
    REQUIRE(store->write(std::move(batch)).wait());
    verdict = verify_all(*store);
    CHECK(verdict.first_bad == 12);
    CHECK(verdict.problem == "record 12 is missing (the next is 13)");
  }
  SECTION("two records swapped") {
    const auto five = raw(*store, 5), six = raw(*store, 6);
    put_raw(*store, 5, six);
    put_raw(*store, 6, five);
    verdict = verify_all(*store);
    CHECK(verdict.first_bad == 5);
  }
  SECTION("bytes that are not a link") {
    put_raw(*store, 3, "garbage");
    verdict = verify_all(*store);
    CHECK(verdict.first_bad == 3);
    CHECK(verdict.problem == "the stored record is not a chain link");
  }
  SECTION("records after the tail being verified are left for the next verify") {
    append(*store, tail, 5);
    auto partial = verify(*store, {}, 20, INT64_MAX);
    REQUIRE(partial);
    CHECK(partial->records == 20);
  }
}

TEST_CASE("signed heads catch a rewritten chain and a truncated one", "[audit]") {
  TempDir dir("nauto-audit-heads");
  auto store = open_store(dir.path);
  auto signer = AuditSigner::open(dir.path + "/signing.key");
  REQUIRE(signer);
  struct stat info {};
  REQUIRE(::stat((dir.path + "/signing.key").c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0600);
  auto again = AuditSigner::open(dir.path + "/signing.key");
  REQUIRE(again);
  CHECK(again->public_key() == signer->public_key());
  CHECK(signer->public_key().size() == 64);

  auto tail = append(*store, Anchor{}, 10);
  auto sign = [&](const Anchor& head) {
    store::WriteBatch batch;
    batch.put(kHeadsTable, seq_key(head.seq),
              bus::to_body(json{{"seq", head.seq},
                                {"hash", hex(head.hash)},
                                {"signature", signer->sign(head.seq, head.hash)},
                                {"time_us", 1}}));
    REQUIRE(store->write(std::move(batch)).wait());
  };
  sign(tail);
  HeadCheck check = [&](std::uint64_t seq, const Hash& hash, std::string_view signature) {
    return signer->check(seq, hash, signature);
  };
  auto verdict = verify_all(*store, check);
  CHECK(verdict.ok);
  CHECK(verdict.heads == 1);
  CHECK_FALSE(signer->check(tail.seq + 1, tail.hash, signer->sign(tail.seq, tail.hash)));

  SECTION("every hash rewritten after an edit") {
    // Record 4 edited and the chain re-linked from there: each link is sound again, but the
    // head signed at 10 holds the old hash.
    Anchor rebuilt{3, {}};
    const auto third = raw(*store, 3);
    auto link = decode_link(third);
    std::copy(link->hash.begin(), link->hash.end(), rebuilt.hash.begin());
    store::WriteBatch batch;
    for (std::uint64_t seq = 4; seq <= 10; ++seq) {
      auto record = *bus::from_body(decode_link(raw(*store, seq))->record);
      if (seq == 4) record["outcome"] = "refused";
      Hash hash{};
      batch.put(kRecordsTable, seq_key(seq), encode_link(seq, rebuilt.hash, record, hash));
      rebuilt = Anchor{seq, hash};
    }
    REQUIRE(store->write(std::move(batch)).wait());
    verdict = verify_all(*store, check);
    CHECK_FALSE(verdict.ok);
    CHECK(verdict.first_bad == 10);
    CHECK(verdict.problem.find("not the one signed then") != std::string::npos);
  }
  SECTION("the newest records removed") {
    store::WriteBatch batch;
    batch.erase(kRecordsTable, seq_key(10));
    batch.erase(kRecordsTable, seq_key(9));
    REQUIRE(store->write(std::move(batch)).wait());
    verdict = verify_all(*store, check);
    CHECK(verdict.first_bad == 9);
    CHECK(verdict.problem.find("(truncated)") != std::string::npos);
  }
  SECTION("a forged signature") {
    auto other = AuditSigner::open(dir.path + "/other.key");
    REQUIRE(other);
    store::WriteBatch batch;
    batch.put(kHeadsTable, seq_key(tail.seq),
              bus::to_body(json{{"seq", tail.seq},
                                {"hash", hex(tail.hash)},
                                {"signature", other->sign(tail.seq, tail.hash)},
                                {"time_us", 1}}));
    REQUIRE(store->write(std::move(batch)).wait());
    verdict = verify_all(*store, check);
    CHECK(verdict.first_bad == 10);
    CHECK(verdict.problem.find("valid signature") != std::string::npos);
  }
  SECTION("retention: the oldest records go, the anchor keeps the rest verifiable") {
    const auto fourth = raw(*store, 4);
    auto link = decode_link(fourth);
    Anchor anchor{4, {}};
    std::copy(link->hash.begin(), link->hash.end(), anchor.hash.begin());
    store::WriteBatch batch;
    batch.erase_before(kRecordsTable, seq_key(5));
    batch.put(kMetaTable, "anchor", bus::to_body(to_json(anchor)));
    REQUIRE(store->write(std::move(batch)).wait());
    verdict = verify_all(*store, check);
    CHECK(verdict.ok);
    CHECK(verdict.records == 6);
    // An old record put back is found.
    put_raw(*store, 2, "x");
    verdict = verify_all(*store, check);
    CHECK(verdict.first_bad == 2);
  }
}

TEST_CASE("a record as an RFC 5424 message", "[audit]") {
  json record = {{"seq", 42},
                 {"time_us", 1'765'000'000'123'456},
                 {"principal", "al\"ice]"},
                 {"service", "configs.push"},
                 {"target", "target=site=dc1"},
                 {"outcome", "refused"},
                 {"hash", "ab12"}};
  const auto message = syslog_message(record, "nauto host");
  CHECK(message.rfind("<84>1 2025-12-06T05:46:40.123456Z nautohost nauto - audit-42 "
                      "[nauto-audit@32473 seq=\"42\" principal=\"al\\\"ice\\]\" "
                      "service=\"configs.push\" target=\"target=site=dc1\" outcome=\"refused\" "
                      "hash=\"ab12\"] {",
                      0) == 0);
  const auto json_start = message.find("] {") + 2;
  CHECK(json::parse(message.substr(json_start)) == record);
  record["outcome"] = "ok";
  CHECK(syslog_message(record, "h").rfind("<85>1 ", 0) == 0);
}

TEST_CASE("forward targets are checked, each problem named", "[audit]") {
  CHECK(read_forward_targets(nullptr)->empty());
  auto good = read_forward_targets(
      json::parse(R"([{"name": "siem", "address": "[::1]:6514", "transport": "tls",
                       "ca_file": "/etc/ca.pem"}, {"name": "udp", "address": "h:514",
                       "transport": "udp", "confirm_after": "1s"}])"));
  REQUIRE(good);
  CHECK((*good)[0].host == "::1");
  CHECK((*good)[0].port == 6514);
  CHECK((*good)[1].confirm_after_ms == 1000);
  auto bad = read_forward_targets(json::parse(
      R"([{"name": "a b", "address": "nowhere"}, {"name": "t", "address": "h:1", "transport": "tls"}, {"name": "x", "address": "h:1", "transport": "smtp"}])"));
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.find("forward[0].name") != std::string::npos);
  CHECK(bad.error().message.find("forward[0].address: expected host:port") != std::string::npos);
  CHECK(bad.error().message.find("forward[1].ca_file") != std::string::npos);
  CHECK(bad.error().message.find("forward[2].transport") != std::string::npos);
}

namespace {

// A syslog receiver over TCP on 127.0.0.1 (a port of its own), reading octet-counted frames
// and keeping the seqs it got. stop() closes it as a crashed receiver would; start() again on
// the same port.
class Receiver {
 public:
  Receiver() { listen_on(0); }
  ~Receiver() { stop(); }
  int port() const { return port_; }
  void start() { listen_on(port_); }
  void stop() {
    running_ = false;
    if (thread_.joinable()) thread_.join();
    if (listener_ >= 0) ::close(listener_);
    listener_ = -1;
  }
  std::map<std::uint64_t, int> seen() const {
    std::lock_guard lock(mutex_);
    return seen_;
  }

 private:
  void listen_on(int port) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(listener_, 4) == 0);
    socklen_t size = sizeof address;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &size);
    port_ = ntohs(address.sin_port);
    running_ = true;
    thread_ = std::thread([this] { serve(); });
  }

  void serve() {
    std::vector<int> clients;
    std::string buffer;
    while (running_) {
      std::vector<pollfd> fds{{listener_, POLLIN, 0}};
      for (int fd : clients)
        fds.push_back({fd, POLLIN, 0});
      if (::poll(fds.data(), fds.size(), 20) <= 0) continue;
      if (fds[0].revents & POLLIN) clients.push_back(::accept4(listener_, nullptr, nullptr, 0));
      for (std::size_t i = 1; i < fds.size(); ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP))) continue;
        char chunk[65536];
        const auto n = ::read(fds[i].fd, chunk, sizeof chunk);
        if (n <= 0) continue;
        buffer.append(chunk, static_cast<std::size_t>(n));
      }
      // Octet-counted frames: "<length> <message>".
      for (;;) {
        const auto space = buffer.find(' ');
        if (space == std::string::npos) break;
        const auto length = std::stoul(buffer.substr(0, space));
        if (buffer.size() < space + 1 + length) break;
        const auto message = buffer.substr(space + 1, length);
        buffer.erase(0, space + 1 + length);
        const auto at = message.find("seq=\"");
        if (at == std::string::npos) continue;
        std::lock_guard lock(mutex_);
        ++seen_[std::stoull(message.substr(at + 5))];
      }
    }
    for (int fd : clients)
      ::close(fd);  // unread data makes this a reset, as a killed receiver's would
  }

  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> running_{false};
  std::thread thread_;
  mutable std::mutex mutex_;
  std::map<std::uint64_t, int> seen_;
};

bool eventually(const std::function<bool()>& done, int ms = 10'000) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

}  // namespace

TEST_CASE("forwarding delivers every record at least once across receiver and sender restarts",
          "[audit][forward]") {
  TempDir dir("nauto-audit-forward");
  auto store = open_store(dir.path);
  Receiver receiver;
  ForwardTarget target;
  target.name = "test";
  target.host = "127.0.0.1";
  target.port = receiver.port();
  target.confirm_after_ms = 200;
  target.max_backoff_ms = 500;
  auto tail = append(*store, Anchor{}, 100);
  auto forwarder = std::make_unique<AuditForwarder>(target, *store);
  forwarder->start();
  auto all_seen = [&](std::uint64_t last) {
    auto seen = receiver.seen();
    for (std::uint64_t seq = 1; seq <= last; ++seq)
      if (!seen.count(seq)) return false;
    return true;
  };
  REQUIRE(eventually([&] { return all_seen(100); }));
  // The cursor follows once the records are confirmed.
  REQUIRE(eventually([&] { return forwarder->stats()["cursor"] == 100; }));

  // The receiver goes away; records written meanwhile wait, and come when it is back.
  receiver.stop();
  tail = append(*store, tail, 50);
  forwarder->notify();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  receiver.start();
  forwarder->notify();
  REQUIRE(eventually([&] { return all_seen(150); }));

  // The sender restarts (nautod did): it resumes from its durable cursor.
  REQUIRE(eventually([&] { return forwarder->stats()["cursor"] == 150; }));
  forwarder.reset();
  tail = append(*store, tail, 30);
  forwarder = std::make_unique<AuditForwarder>(target, *store);
  forwarder->start();
  REQUIRE(eventually([&] { return all_seen(180); }));
  const auto seen = receiver.seen();
  CHECK(seen.size() == 180);
  CHECK(seen.rbegin()->first == 180);
  // At least once: a few may come twice (those not yet confirmed at a drop), most once.
  std::size_t twice = 0;
  for (const auto& [seq, count] : seen)
    twice += count > 1;
  CHECK(twice < 60);
  CHECK(forwarder->stats()["connected"] == true);
}
