#include "router.h"

#include <pthread.h>
#include <pwd.h>
#include <unistd.h>

#include <functional>
#include <optional>
#include <queue>
#include <set>
#include <unordered_map>
#include <zmq_addon.hpp>

#include "../host/module_runner.h"
#include "audit_tap.h"
#include "auth_change.h"
#include "nauto/base/clock.h"
#include "nauto/base/log.h"
#include "nauto/bus/body.h"
#include "nauto/bus/codec.h"
#include "nauto/bus/schema_types.h"
#include "nauto/bus/topic_match.h"

namespace nauto::kernel {

using nlohmann::json;

namespace {
constexpr const char* kSelf = "kernel.router";
// The audit record of a reload of nautod's configuration (SIGHUP): not a bus service.
constexpr const char* kReloadService = "nautod.reload";
constexpr int kMaxBatch = 512;  // messages handled between deadline checks

// Routing ids from zmq are binary; show them as hex when they are not printable.
std::string printable_identity(const std::string& id) {
  bool text = !id.empty();
  for (unsigned char c : id)
    text = text && c >= 0x20 && c < 0x7f;
  if (text) return id;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "0x";
  for (unsigned char c : id) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}
}  // namespace

/// Everything the router knows about one connected peer.
struct Peer {
  std::string name;
  std::string principal;  // who registered it (principals.h)
  std::vector<std::string> subscriptions;
  std::vector<std::string> excludes;  // topics not delivered although a subscription matches
  std::vector<std::string> services;
  std::uint64_t events_delivered = 0;
  std::uint64_t events_dropped = 0;
  std::uint64_t requests_delivered = 0;
  std::uint64_t requests_rejected = 0;  // answered with Overloaded because its queue was full
  std::uint64_t queue_depth = 0;        // delivered but not yet processed, as of its heartbeat
  std::int64_t registered_us = 0;
};

// Lets the maps be searched with a string_view of a frame, without building a std::string.
struct TransparentHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view text) const noexcept {
    return std::hash<std::string_view>{}(text);
  }
};
template <typename V>
using StringMap = std::unordered_map<std::string, V, TransparentHash, std::equal_to<>>;

struct PendingRequest {
  std::string requester;  // routing id
  std::string owner;      // routing id of the module that must answer
  std::string service;
  std::int64_t deadline_us = 0;
  std::string request_id;
  std::shared_ptr<AuditRecord> audit;  // set when the request is audited; closed by its outcome
};

// A bus.audit.take with nothing to take yet: answered when a record comes, or empty at its
// deadline.
struct ParkedTake {
  std::string identity;
  bus::Envelope request;
  std::uint64_t after = 0;
  std::size_t max = 0;
  std::int64_t deadline_us = 0;
};

struct Totals {
  std::uint64_t events_in = 0, events_delivered = 0, events_dropped = 0, events_unrouted = 0;
  std::uint64_t requests_in = 0, replies_routed = 0, timeouts = 0, late_replies = 0;
  std::uint64_t requests_unavailable = 0, requests_overloaded = 0, replies_dropped = 0;
  std::uint64_t malformed = 0;
  std::uint64_t replies_forged = 0;    // replies from a peer the request was not routed to
  std::uint64_t requests_refused = 0;  // answered permission_denied (roles.h)
  std::uint64_t events_refused = 0;    // published by a caller no role lets publish the topic
};

std::string joined(const std::vector<std::string>& items, const char* separator = ",") {
  std::string out;
  for (const auto& item : items)
    out += (out.empty() ? "" : separator) + item;
  return out;
}

class RouterImpl {
 public:
  RouterImpl(zmq::context_t& context, RouterOptions options)
      : options_(std::move(options)),
        socket_(context, zmq::socket_type::router),
        log_(logger(kSelf)),
        started_us_(now_us()),
        principals_(options_.auth, ::geteuid(), options_.in_process_modules,
                    options_.out_of_process_modules),
        policy_(options_.auth.roles),
        audit_(options_.audit_capacity, started_us_) {}

  Result<void> bind(zmq::context_t& context) {
    try {
      if (options_.curve_server && !options_.curve_allowed_clients.empty()) {
        // The ZAP handler must be bound before the first CURVE handshake, in the same context.
        zap_.emplace(context, zmq::socket_type::rep);
        zap_->set(zmq::sockopt::linger, 0);
        zap_->bind("inproc://zeromq.zap.01");
      }
      socket_.set(zmq::sockopt::linger, 0);
      socket_.set(zmq::sockopt::maxmsgsize, bus::kMaxMessageBytes);
      socket_.set(zmq::sockopt::router_mandatory, 1);
      // A routing id in use is not handed over to a new connection: an impostor that connects
      // with a module's id is ignored and the module keeps its connection. Modules take a new
      // random id each time they start (ModuleRunner), so a restart never needs the handover.
      socket_.set(zmq::sockopt::router_handover, 0);
      socket_.set(zmq::sockopt::sndhwm, options_.peer_high_water_mark);
      socket_.set(zmq::sockopt::rcvhwm, 100000);
      for (const auto& endpoint : options_.endpoints)
        socket_.bind(endpoint);
      if (!options_.tcp_endpoint.empty()) {
        // Socket options are captured per bind, so CURVE applies to the tcp bind only.
        if (options_.curve_server) {
          socket_.set(zmq::sockopt::curve_server, 1);
          socket_.set(zmq::sockopt::curve_secretkey, options_.curve_server->secret_key);
        }
        socket_.bind(options_.tcp_endpoint);
      }
    } catch (const zmq::error_t& e) {
      return fail(Errc::Library, std::string("cannot bind router: ") + e.what(), kSelf);
    }
    return ok();
  }

  // Sleeps until a message, a request deadline or the bell rings (stop(), reload()): an idle
  // router makes no system calls.
  void run(const std::atomic<bool>& stopping, const Doorbell& bell,
           const std::function<std::optional<ConfigReload>()>& take_reload) {
    pthread_setname_np(pthread_self(), "router");
    if (auto applied = apply_scheduling(options_.scheduling); !applied)
      log_->warn("router.scheduling not applied: {}", applied.error().message);
    std::vector<zmq::message_t> frames;
    frames.reserve(4);
    while (!stopping.load(std::memory_order_relaxed)) {
      zmq::pollitem_t items[3] = {{socket_.handle(), 0, ZMQ_POLLIN, 0},
                                  {nullptr, bell.fd(), ZMQ_POLLIN, 0},
                                  {zap_ ? zap_->handle() : nullptr, 0, ZMQ_POLLIN, 0}};
      const auto timeout = next_poll_timeout_ms();
      try {
        zmq::poll(items, zap_ ? 3 : 2, std::chrono::milliseconds(timeout));
        if (items[1].revents & ZMQ_POLLIN) bell.drain();
        if (zap_ && (items[2].revents & ZMQ_POLLIN)) answer_zap();
        for (int i = 0; i < kMaxBatch; ++i) {
          // A reload applies before any message sent after reload() returned (one atomic
          // load a message when there is none).
          while (auto reload = take_reload())
            apply(std::move(*reload));
          frames.clear();
          if (!zmq::recv_multipart(socket_, std::back_inserter(frames),
                                   zmq::recv_flags::dontwait)) {
            break;
          }
          handle(frames);
          forget_gone();
        }
      } catch (const zmq::error_t& e) {
        if (e.num() == ETERM) return;
        log_->error("router loop: {}", e.what());
      }
      expire_requests();
      forget_gone();
    }
  }

 private:
  // One ZAP request: [version][request id][domain][address][identity][mechanism][key...].
  // Replies 200 for a listed CURVE client key and for NULL (ipc peers, guarded by the socket
  // file's permissions), 400 otherwise.
  void answer_zap() {
    std::vector<zmq::message_t> request;
    if (!zmq::recv_multipart(*zap_, std::back_inserter(request), zmq::recv_flags::dontwait)) {
      return;
    }
    std::string status = "400", text = "client key not allowed", user;
    if (request.size() >= 6 && request[5].to_string_view() == "NULL") {
      status = "200";
      text = "OK";
    } else if (request.size() >= 7 && request[5].to_string_view() == "CURVE" &&
               request[6].size() == 32) {
      char z85[41] = {};
      zmq_z85_encode(z85, request[6].data<std::uint8_t>(), 32);
      for (const auto& allowed : options_.curve_allowed_clients) {
        if (allowed == z85) {
          status = "200";
          text = "OK";
          user = z85;
        }
      }
      if (status != "200") {
        log_->warn("refused a tcp client from {} with CURVE key {}: not in the allow-list",
                   request[3].to_string(), z85);
      }
    }
    std::vector<zmq::message_t> reply;
    reply.emplace_back(std::string_view("1.0"));
    reply.push_back(request.size() > 1 ? std::move(request[1]) : zmq::message_t());
    reply.emplace_back(std::string_view(status));
    reply.emplace_back(std::string_view(text));
    reply.emplace_back(std::string_view(user));
    reply.emplace_back();
    zmq::send_multipart(*zap_, reply);
  }

  // Until the earliest request deadline (rounded up, so a deadline under a millisecond away is
  // not a spin of zero-timeout polls); -1, no timeout, when no request is in flight.
  int next_poll_timeout_ms() const {
    if (deadlines_.empty() && !parked_take_) return -1;
    auto next = deadlines_.empty() ? INT64_MAX : deadlines_.top().first;
    if (parked_take_) next = std::min(next, parked_take_->deadline_us);
    const auto wait_us = next - now_us();
    return static_cast<int>(std::clamp<std::int64_t>((wait_us + 999) / 1000, 0, INT32_MAX));
  }

  void handle(std::vector<zmq::message_t>& frames) {
    // Malformed input is counted always and logged at the first and every 1000th, so a
    // misbehaving peer cannot flood the log.
    if (frames.size() != 4) {
      if (totals_.malformed++ % 1000 == 0) {
        log_->warn(
            "dropped a malformed message: {} frames, expected [topic][header][body] "
            "(malformed so far: {})",
            frames.size() - 1, totals_.malformed);
      }
      return;
    }
    const std::string_view identity(frames[0].data<char>(), frames[0].size());
    auto header =
        bus::decode_header_view(std::string_view(frames[2].data<char>(), frames[2].size()));
    if (!header || frames[1].size() == 0) {
      if (totals_.malformed++ % 1000 == 0) {
        log_->warn("dropped a malformed message from {}: {} (malformed so far: {})",
                   printable_identity(std::string(identity)),
                   header ? "empty topic" : header.error().message, totals_.malformed);
      }
      return;
    }
    const std::string_view topic(frames[1].data<char>(), frames[1].size());
    switch (header->kind) {
      case bus::Kind::Event:
        return route_event(identity, topic, frames);
      case bus::Kind::Request:
        return route_request(std::string(identity), topic, *header, frames);
      case bus::Kind::Reply:
      case bus::Kind::Error:
        return route_reply(identity, *header, frames);
    }
  }

  // Sends [identity] + copies of frames[1..3]. Returns Overloaded when the peer's queue is
  // full and Unavailable when the peer is gone; a gone peer is noted in gone_ and forgotten by
  // forget_gone() once the current message is handled (callers may be iterating peers_).
  Result<void> forward(std::string_view identity, std::vector<zmq::message_t>& frames) {
    try {
      zmq::message_t id(identity.data(), identity.size());
      if (!socket_.send(id, zmq::send_flags::dontwait | zmq::send_flags::sndmore)) {
        return fail(Errc::Overloaded, "queue full");
      }
      for (int i = 1; i <= 3; ++i) {
        zmq::message_t part;
        part.copy(frames[i]);
        socket_.send(part, i < 3 ? zmq::send_flags::sndmore : zmq::send_flags::none);
      }
      return ok();
    } catch (const zmq::error_t& e) {
      if (e.num() == EHOSTUNREACH) {
        gone_.emplace_back(identity);
        return fail(Errc::Unavailable, "peer disconnected");
      }
      return fail(Errc::Library, e.what());
    }
  }

  Result<void> send_envelope_to(const std::string& identity, const bus::Envelope& envelope) {
    auto frames = bus::encode_frames(envelope);
    std::vector<zmq::message_t> with_id;
    with_id.reserve(4);
    with_id.emplace_back();
    for (auto& f : frames)
      with_id.push_back(std::move(f));
    return forward(identity, with_id);
  }

  // A heartbeat says how many messages the module has processed; what the router delivered
  // beyond that is still queued. Both counts are taken at the same instant for this peer.
  void note_heartbeat(std::string_view identity, const zmq::message_t& body) {
    auto peer = peers_.find(identity);
    if (peer == peers_.end()) return;
    auto parsed = bus::from_body(std::string_view(body.data<char>(), body.size()));
    if (!parsed || !parsed->is_object()) return;
    const auto processed = parsed->value("processed_events", std::uint64_t{0}) +
                           parsed->value("processed_requests", std::uint64_t{0});
    const auto delivered = peer->second.events_delivered + peer->second.requests_delivered;
    peer->second.queue_depth = delivered > processed ? delivered - processed : 0;
  }

  void route_event(std::string_view identity, std::string_view topic,
                   std::vector<zmq::message_t>& frames) {
    ++totals_.events_in;
    if (const auto credentials = credentials_of(frames[1]);
        credentials.via != PeerCredentials::Via::InProcess) {
      const auto& caller = principals_.resolve(credentials, identity);
      if (!caller.module && !policy_.may_publish(caller.roles, topic)) {
        if (totals_.events_refused++ % 1000 == 0) {
          log_->warn(
              "refused an event on '{}' from '{}': no role of theirs ({}) may publish it "
              "(refused so far: {})",
              topic, caller.principal, joined(caller.roles), totals_.events_refused);
        }
        return;
      }
    }
    if (topic == kHeartbeatTopic) note_heartbeat(identity, frames[3]);
    targets_.clear();
    for (auto& [peer_identity, peer] : peers_) {
      if (subscribed(peer, topic)) targets_.emplace_back(&peer_identity, &peer);
    }
    if (targets_.empty()) ++totals_.events_unrouted;
    for (const auto& [peer_identity, peer] : targets_) {
      auto sent = forward(*peer_identity, frames);
      if (sent) {
        ++totals_.events_delivered;
        ++peer->events_delivered;
        continue;
      }
      ++totals_.events_dropped;
      if (sent.error().code != Errc::Unavailable && peer->events_dropped++ % 1000 == 0) {
        log_->warn("dropping events for '{}': {} (dropped so far: {})", peer->name,
                   sent.error().message, peer->events_dropped);
      }
    }
  }

  static bool subscribed(const Peer& peer, std::string_view topic) {
    for (const auto& pattern : peer.subscriptions) {
      if (!bus::topic_matches(pattern, topic)) continue;
      for (const auto& excluded : peer.excludes) {
        if (bus::topic_matches(excluded, topic)) return false;
      }
      return true;
    }
    return false;
  }

  void reply_error(const std::string& identity, const bus::Envelope& request, Error error) {
    auto sent = send_envelope_to(identity, bus::make_error_reply(request, kSelf, error));
    if (!sent) {
      ++totals_.replies_dropped;
      log_->warn("could not return an error reply for '{}' to {}: {}", request.topic,
                 printable_identity(identity), sent.error().message);
    }
  }

  // The request as an owned envelope, for the rare paths that answer it from here.
  static bus::Envelope request_view(std::string_view topic, const bus::HeaderView& header,
                                    const zmq::message_t& body) {
    bus::Envelope e;
    e.topic = std::string(topic);
    e.header = header.to_header();
    e.body.assign(body.data<char>(), body.size());
    return e;
  }

  // What the kernel verified about the connection a message came on: ZeroMQ's Peer-Address
  // carries an ipc peer's SO_PEERCRED uid, gid and pid; a tcp peer has the CURVE key its ZAP
  // check accepted as User-Id; an in-process peer has neither.
  static PeerCredentials credentials_of(const zmq::message_t& frame) {
    auto* message = const_cast<zmq_msg_t*>(frame.handle());
    const char* address = zmq_msg_gets(message, "Peer-Address");
    if (!address) return PeerCredentials{};
    if (auto ipc = parse_ipc_peer_address(address)) return *ipc;
    PeerCredentials tcp;
    tcp.via = PeerCredentials::Via::Tcp;
    if (const char* key = zmq_msg_gets(message, "User-Id")) tcp.curve_key = key;
    return tcp;
  }

  void route_request(const std::string& identity, std::string_view topic,
                     const bus::HeaderView& header, std::vector<zmq::message_t>& frames) {
    ++totals_.requests_in;
    const auto credentials = credentials_of(frames[1]);
    const auto& verified = principals_.resolve(credentials, identity);
    // A module acting for a user it verified (the API for a token's holder) is checked as that
    // user; nobody else may name someone to act for.
    std::optional<Identity> delegated;
    if (!header.acting_for.empty()) {
      if (!verified.module) {
        ++totals_.requests_refused;
        return answer_here(identity, topic, header, frames,
                           fail(Errc::PermissionDenied,
                                "'" + verified.principal +
                                    "' may not act for another principal: only a module may",
                                std::string(topic)),
                           nullptr, "refused");
      }
      delegated = delegated_identity(verified, header.acting_for, header.roles);
    }
    const Identity& caller = delegated ? *delegated : verified;
    const auto* declared = declared_service(topic);
    const auto access = declared ? declared->access : bus::schema::Access::Admin;
    // What changes something is recorded for the audit module, with its outcome (an
    // undeclared service is an admin's, and recorded).
    std::shared_ptr<AuditRecord> audit;
    const bool control = topic.rfind("bus.", 0) == 0;  // the router's own: not audited
    if (audit_.enabled() && (declared ? declared->audited : true) && !control)
      audit = open_record(caller, credentials, topic, access, header, frames[3]);
    // Code inside nautod and its child modules is trusted. The scope a sender wrote (a module
    // acting for a user passes that user's on) is kept, narrowed by the caller's own: a scope can
    // only narrow.
    const bool trusted =
        !delegated && (credentials.via == PeerCredentials::Via::InProcess || caller.module);
    std::string scope(header.scope);
    if (!trusted) {
      auto grant = policy_.service(caller.roles, topic, access);
      if (!grant.allowed) {
        ++totals_.requests_refused;
        publish_refusal(caller, credentials, topic, access);
        if (audit_.enabled() && !audit)
          audit = open_record(caller, credentials, topic, access, header, frames[3]);
        return answer_here(identity, topic, header, frames, refusal(caller, topic, access), audit,
                           "refused");
      }
      if (scope.empty()) {
        scope = std::move(grant.scope);
      } else if (!grant.scope.empty()) {
        scope = "(" + grant.scope + ") and (" + scope + ")";
      }
    }
    if (control) return serve_control(identity, topic, header, frames, credentials, caller);
    // The caller as verified, whatever the sender wrote: the new header frame replaces the
    // old, which `header` points into and so is kept until this function returns.
    const auto roles = joined(caller.roles);
    bus::HeaderView stamped_view = header;
    stamped_view.principal = caller.principal;
    stamped_view.roles = roles;
    stamped_view.scope = scope;
    stamped_view.acting_for = {};
    zmq::message_t old_header(bus::encode_header(stamped_view));
    std::swap(frames[2], old_header);
    const auto now = now_us();
    if (header.deadline_us != 0 && header.deadline_us <= now) {
      ++totals_.timeouts;
      return answer_here(
          identity, topic, header, frames,
          fail(Errc::Timeout, "deadline passed before the request was routed", std::string(topic)),
          audit, "timeout");
    }
    const auto owner = services_.find(topic);
    if (owner == services_.end()) {
      ++totals_.requests_unavailable;
      return answer_here(identity, topic, header, frames,
                         fail(Errc::Unavailable,
                              "no module serves '" + std::string(topic) +
                                  "'; 'nauto modules' lists the services on offer",
                              std::string(topic)),
                         audit, "unavailable");
    }
    const std::string owner_identity = owner->second;
    const std::string key(header.id);
    if (pending_.count(key)) {
      return answer_here(
          identity, topic, header, frames,
          fail(Errc::InvalidArgument, "a request with this id is in flight", std::string(topic)),
          audit, "error");
    }
    auto sent = forward(owner_identity, frames);
    auto peer = peers_.find(owner_identity);
    if (!sent) {
      if (sent.error().code == Errc::Overloaded) {
        ++totals_.requests_overloaded;
        if (peer != peers_.end()) ++peer->second.requests_rejected;
        return answer_here(identity, topic, header, frames,
                           fail(Errc::Overloaded,
                                "module '" + (peer != peers_.end() ? peer->second.name : "") +
                                    "' has a full queue; retry later",
                                std::string(topic)),
                           audit, "overloaded");
      }
      ++totals_.requests_unavailable;
      return answer_here(
          identity, topic, header, frames,
          fail(Errc::Unavailable, "the serving module went away: " + sent.error().message,
               std::string(topic)),
          audit, "unavailable");
    }
    if (peer != peers_.end()) ++peer->second.requests_delivered;
    std::int64_t deadline = header.deadline_us;
    const auto cap = now + options_.max_request_timeout_ms * 1000;
    if (deadline == 0) deadline = now + options_.default_request_timeout_ms * 1000;
    deadline = std::min(deadline, cap);
    pending_.emplace(key, PendingRequest{identity, owner_identity, std::string(topic), deadline,
                                         key, std::move(audit)});
    deadlines_.emplace(deadline, key);
  }

  // Answers a request from the router itself, and closes its audit record.
  void answer_here(const std::string& identity, std::string_view topic,
                   const bus::HeaderView& header, std::vector<zmq::message_t>& frames, Error error,
                   const std::shared_ptr<AuditRecord>& audit, const char* outcome) {
    if (audit) close_record(*audit, outcome, error);
    reply_error(identity, request_view(topic, header, frames[3]), std::move(error));
  }

  // A reload of nautod's configuration: recorded with its sender and what it changed in
  // `auth:`, which takes effect for the next message (identities are resolved per message).
  void apply(ConfigReload reload) {
    AuditRecord record;
    record.time_us = now_us();
    record.via = "signal";
    record.uid = reload.sender_uid;
    record.pid = reload.sender_pid;
    record.principal = "unknown";
    if (reload.sender_uid >= 0) {
      PeerCredentials sender;
      sender.via = PeerCredentials::Via::Ipc;
      sender.uid = static_cast<uid_t>(reload.sender_uid);
      sender.gid = primary_gid(sender.uid);
      const auto& who = principals_.resolve(sender, "");
      record.principal = who.principal;
      record.roles = joined(who.roles);
    }
    record.service = kReloadService;
    record.access = std::string(bus::schema::access_name(bus::schema::Access::Admin));
    record.target = "config=" + reload.source;
    if (reload.auth) {
      record.detail = describe_auth_change(options_.auth, *reload.auth);
      if (!record.detail.empty()) log_->info("auth reloaded: {}", record.detail);
      options_.in_process_modules = std::move(reload.in_process_modules);
      options_.out_of_process_modules = std::move(reload.child_modules);
      principals_ = PrincipalMap(*reload.auth, ::geteuid(), options_.in_process_modules,
                                 options_.out_of_process_modules);
      policy_ = AccessPolicy(reload.auth->roles);
      options_.auth = std::move(*reload.auth);
      record.outcome = "ok";
    } else {
      record.outcome = "error";
      record.error_code = std::string(errc_name(Errc::InvalidConfig));
      record.error = reload.error;
    }
    if (audit_.enabled()) add_record(std::move(record));
  }

  static gid_t primary_gid(uid_t uid) {
    struct passwd entry {};
    struct passwd* found = nullptr;
    char buffer[4096];
    if (::getpwuid_r(uid, &entry, buffer, sizeof buffer, &found) != 0 || !found)
      return static_cast<gid_t>(-1);
    return found->pw_gid;
  }

  // How a caller reached the router: in-process, ipc or tcp; for a user a module acts for, that
  // module (module:api).
  static std::string via_of(const PeerCredentials& credentials, const Identity& caller) {
    return caller.delegate.empty() ? std::string(via_name(credentials.via)) : caller.delegate;
  }

  // An audit record of a request (audit_tap.h): who, what, on what; closed by its outcome.
  std::shared_ptr<AuditRecord> open_record(const Identity& caller,
                                           const PeerCredentials& credentials,
                                           std::string_view service, bus::schema::Access access,
                                           const bus::HeaderView& header,
                                           const zmq::message_t& body) {
    auto record = std::make_shared<AuditRecord>();
    record->time_us = now_us();
    record->request_id = std::string(header.id);
    record->principal = caller.principal;
    record->roles = joined(caller.roles);
    record->via = via_of(credentials, caller);
    if (credentials.via == PeerCredentials::Via::Ipc) {
      record->uid = credentials.uid;
      record->pid = credentials.pid;
    }
    record->service = std::string(service);
    record->access = std::string(bus::schema::access_name(access));
    record->target = audit_target(std::string_view(body.data<char>(), body.size()));
    return record;
  }

  void close_record(AuditRecord& record, const char* outcome, const Error& error) {
    record.duration_us = now_us() - record.time_us;
    record.outcome = outcome;
    record.error_code = std::string(errc_name(error.code));
    record.error = error.message;
    add_record(std::move(record));
  }

  void add_record(AuditRecord record) {
    audit_.add(std::move(record));
    answer_parked_take();
  }

  // bus.refused, for the journal and the audit trail: the router's own event, fanned out like
  // any other (its frames carry no peer credentials, so it passes as in-process).
  void publish_refusal(const Identity& caller, const PeerCredentials& credentials,
                       std::string_view service, bus::schema::Access access) {
    json body = {{"principal", caller.principal},
                 {"roles", caller.roles},
                 {"service", std::string(service)},
                 {"access", std::string(bus::schema::access_name(access))},
                 {"via", via_of(credentials, caller)},
                 {"time_us", now_us()}};
    if (credentials.via == PeerCredentials::Via::Ipc) {
      body["uid"] = credentials.uid;
      body["pid"] = credentials.pid;
    }
    auto event = bus::make_event(bus::schema::BusRefusedEvent::kTopic, kSelf, bus::to_body(body));
    std::vector<zmq::message_t> frames;
    frames.emplace_back();  // no sender: the router itself
    for (auto& frame : bus::encode_frames(event))
      frames.push_back(std::move(frame));
    route_event({}, event.topic, frames);
  }

  // permission_denied naming the caller, the service and the roles that would allow it.
  Error refusal(const Identity& caller, std::string_view service,
                bus::schema::Access access) const {
    std::string message = "'" + caller.principal + "' (roles: " +
                          (caller.roles.empty() ? "none" : joined(caller.roles, ", ")) +
                          ") may not call '" + std::string(service) + "' (" +
                          std::string(bus::schema::access_name(access)) + ")";
    if (access == bus::schema::Access::Module) {
      message += ": only modules inside nautod may";
    } else {
      const auto granting = policy_.roles_granting(service, access);
      message += "; roles that may: " + (granting.empty() ? "none" : joined(granting, ", "));
    }
    return fail(Errc::PermissionDenied, std::move(message), std::string(service));
  }

  void route_reply(std::string_view identity, const bus::HeaderView& header,
                   std::vector<zmq::message_t>& frames) {
    auto it = pending_.find(header.correlation_id);
    if (it == pending_.end()) {
      ++totals_.late_replies;  // its request already timed out, or the id is unknown
      return;
    }
    if (it->second.owner != identity) {
      // Only the module the request went to may answer it: anyone else's reply is a forgery.
      if (totals_.replies_forged++ % 1000 == 0) {
        log_->warn(
            "dropped a reply to '{}' from {}, which the request was not routed to "
            "(forged replies so far: {})",
            it->second.service, printable_identity(std::string(identity)), totals_.replies_forged);
      }
      return;
    }
    const std::string requester = it->second.requester;
    if (auto audit = std::move(it->second.audit)) {
      if (header.kind == bus::Kind::Error) {
        close_record(
            *audit, "error",
            bus::error_from_body(std::string_view(frames[3].data<char>(), frames[3].size())));
      } else {
        audit->duration_us = now_us() - audit->time_us;
        audit->outcome = "ok";
        add_record(std::move(*audit));
      }
    }
    pending_.erase(it);
    auto sent = forward(requester, frames);
    if (sent) {
      ++totals_.replies_routed;
    } else {
      ++totals_.replies_dropped;
      log_->warn("could not deliver a reply to {}: {}", printable_identity(requester),
                 sent.error().message);
    }
  }

  void expire_requests() {
    const auto now = now_us();
    if (parked_take_ && parked_take_->deadline_us <= now) answer_parked_take(true);
    while (!deadlines_.empty() && deadlines_.top().first <= now) {
      const auto key = deadlines_.top().second;
      deadlines_.pop();
      auto it = pending_.find(key);
      if (it == pending_.end() || it->second.deadline_us > now) continue;
      ++totals_.timeouts;
      bus::Envelope request;
      request.topic = it->second.service;
      request.header.id = it->second.request_id;
      const auto requester = it->second.requester;
      auto error = fail(Errc::Timeout, "no reply before the deadline", request.topic);
      if (it->second.audit) close_record(*it->second.audit, "timeout", error);
      pending_.erase(it);
      reply_error(requester, request, std::move(error));
    }
  }

  void serve_control(const std::string& identity, std::string_view topic,
                     const bus::HeaderView& header, std::vector<zmq::message_t>& frames,
                     const PeerCredentials& credentials, const Identity& caller) {
    const auto request = request_view(topic, header, frames[3]);
    auto body = bus::from_body(request.body);
    if (!body) return reply_error(identity, request, std::move(body).error());
    Result<json> answer = json::object();
    if (topic == router_services::kRegister) {
      answer = register_peer(identity, *body, credentials, caller);
    } else if (topic == router_services::kUnregister) {
      if (auto checked = bus::schema::BusUnregisterRequest::decode(*body); !checked)
        return reply_error(identity, request, std::move(checked).error());
      forget(identity);
    } else if (topic == router_services::kStats) {
      if (auto checked = bus::schema::BusStatsRequest::decode(*body); !checked)
        return reply_error(identity, request, std::move(checked).error());
      answer = stats();
    } else if (topic == router_services::kWhoami) {
      if (auto checked = bus::schema::BusWhoamiRequest::decode(*body); !checked)
        return reply_error(identity, request, std::move(checked).error());
      answer = whoami(credentials, caller);
    } else if (topic == router_services::kAuditTake) {
      auto asked = bus::schema::BusAuditTakeRequest::decode(*body);
      if (!asked) return reply_error(identity, request, std::move(asked).error());
      if (parked_take_) answer_parked_take(true);  // a newer take replaces it
      auto deadline = header.deadline_us;
      if (deadline == 0) deadline = now_us() + options_.default_request_timeout_ms * 1000;
      parked_take_ = ParkedTake{
          identity, request, static_cast<std::uint64_t>(std::max<std::int64_t>(asked->after, 0)),
          static_cast<std::size_t>(std::clamp<std::int64_t>(asked->max, 1, 10000)),
          deadline - 100'000};  // answered before the caller gives up
      // An epoch the caller does not know: its `after` counts another start's records.
      if (asked->epoch != audit_.epoch()) parked_take_->after = 0;
      if (audit_.has_after(parked_take_->after) || asked->epoch != audit_.epoch())
        answer_parked_take(true);
      return;
    } else if (topic == router_services::kAuth) {
      if (auto checked = bus::schema::BusAuthRequest::decode(*body); !checked)
        return reply_error(identity, request, std::move(checked).error());
      answer = auth_table();
    } else {
      answer = fail(Errc::Unavailable, "the router has no service '" + std::string(topic) + "'",
                    std::string(topic));
    }
    if (!answer) return reply_error(identity, request, std::move(answer).error());
    auto sent = send_envelope_to(identity, bus::make_reply(request, kSelf, bus::to_body(*answer)));
    if (!sent && sent.error().code != Errc::Unavailable) ++totals_.replies_dropped;
  }

  // Whether `caller` may register as the module `name`: the module itself in-process, or a
  // process of nautod's own unix user (a module run with `isolation: process`). Names of no
  // configured module are anyone's.
  bool may_register_as(const std::string& name, const PeerCredentials& credentials,
                       const Identity& caller) const {
    const auto& in_process = options_.in_process_modules;
    const auto& children = options_.out_of_process_modules;
    const bool reserved =
        std::find(in_process.begin(), in_process.end(), name) != in_process.end() ||
        std::find(children.begin(), children.end(), name) != children.end();
    if (!reserved) return true;
    if (caller.principal == "module:" + name) return true;
    return credentials.via == PeerCredentials::Via::Ipc && credentials.uid == ::geteuid() &&
           std::find(children.begin(), children.end(), name) != children.end();
  }

  Result<json> register_peer(const std::string& identity, const json& body,
                             const PeerCredentials& credentials, const Identity& caller) {
    auto request = bus::schema::BusRegisterRequest::decode(body);
    if (!request) return std::move(request).error();
    if (!may_register_as(request->name, credentials, caller)) {
      return fail(Errc::PermissionDenied,
                  "'" + caller.principal + "' may not register as the module '" + request->name +
                      "': that name is reserved for the module nautod runs",
                  router_services::kRegister);
    }
    Peer peer;
    peer.name = std::move(request->name);
    peer.principal = caller.principal;
    peer.registered_us = now_us();
    for (auto& pattern : request->subscribes) {
      if (auto valid = bus::validate_pattern(pattern); !valid) return std::move(valid).error();
      peer.subscriptions.push_back(std::move(pattern));
    }
    for (auto& pattern : request->excludes) {
      if (auto valid = bus::validate_pattern(pattern); !valid) return std::move(valid).error();
      peer.excludes.push_back(std::move(pattern));
    }
    // Earlier instances of this peer (same name, same principal) are replaced: a module that
    // restarts connects with a new routing id, and its old connection may not have closed yet.
    std::set<std::string> replaced;
    for (const auto& [other_identity, other] : peers_)
      if (other_identity != identity && other.name == peer.name &&
          other.principal == peer.principal)
        replaced.insert(other_identity);
    for (auto& service : request->serves) {
      if (service.rfind("bus.", 0) == 0 || service.empty()) {
        return fail(Errc::InvalidArgument,
                    "service names starting with 'bus.' are reserved for the router", service);
      }
      const auto* declared = bus::schema::find_request(service);
      if (declared && declared->owner != peer.name &&
          credentials.via != PeerCredentials::Via::InProcess) {
        return fail(Errc::PermissionDenied,
                    "service '" + service + "' is the module '" + declared->owner +
                        "''s (bus/schema); '" + peer.name + "' may not serve it",
                    router_services::kRegister);
      }
      auto owner = services_.find(service);
      if (owner != services_.end() && owner->second != identity && !replaced.count(owner->second)) {
        const auto old = peers_.find(owner->second);
        return fail(Errc::InvalidArgument,
                    "service '" + service + "' is already served by '" +
                        (old != peers_.end() ? old->second.name : owner->second) + "'",
                    router_services::kRegister);
      }
      peer.services.push_back(std::move(service));
    }
    // The counters go on across instances (and across a second registration of this one).
    replaced.insert(identity);
    for (const auto& old_identity : replaced) {
      const auto old = peers_.find(old_identity);
      if (old == peers_.end()) continue;
      peer.events_delivered += old->second.events_delivered;
      peer.events_dropped += old->second.events_dropped;
      peer.requests_delivered += old->second.requests_delivered;
      peer.requests_rejected += old->second.requests_rejected;
      forget(old_identity);
    }
    for (const auto& service : peer.services)
      services_[service] = identity;
    log_->debug("registered '{}' ({} subscriptions, {} services)", peer.name,
                peer.subscriptions.size(), peer.services.size());
    peers_[identity] = std::move(peer);
    return json{{"registered", true}};
  }

  // Answers every request the instance behind `identity` still owes: it left or was replaced
  // by a restart, so no reply will come and the callers should not wait for their deadlines.
  void fail_owed_requests(std::string_view identity, const std::string& why) {
    std::vector<std::pair<std::string, bus::Envelope>> owed;
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (it->second.owner != identity) {
        ++it;
        continue;
      }
      bus::Envelope request;
      request.topic = it->second.service;
      request.header.id = it->second.request_id;
      if (it->second.audit)
        close_record(*it->second.audit, "unavailable",
                     fail(Errc::Unavailable, why, it->second.service));
      owed.emplace_back(it->second.requester, std::move(request));
      it = pending_.erase(it);
    }
    for (const auto& [requester, request] : owed) {
      ++totals_.requests_unavailable;
      reply_error(requester, request, fail(Errc::Unavailable, why, request.topic));
    }
  }

  // Forgets the peers forward() found disconnected. Forgetting answers their owed requests,
  // which may find more peers gone, hence the loop.
  void forget_gone() {
    while (!gone_.empty()) {
      const std::string identity = std::move(gone_.back());
      gone_.pop_back();
      forget(identity);
    }
  }

  void forget(std::string_view identity_view) {
    const std::string identity(identity_view);  // the view may point into the node erased here
    auto it = peers_.find(identity);
    if (it == peers_.end()) return;
    const std::string name = it->second.name;
    for (const auto& service : it->second.services) {
      auto owner = services_.find(service);
      if (owner != services_.end() && owner->second == identity) services_.erase(owner);
    }
    peers_.erase(it);
    // After the erase: answering may find another peer gone and forget it in turn.
    fail_owed_requests(identity, "the module '" + name + "' left or restarted before answering");
  }

  json stats() const {
    json peers = json::array();
    for (const auto& [identity, peer] : peers_) {
      peers.push_back({{"name", peer.name},
                       {"principal", peer.principal},
                       {"identity", printable_identity(identity)},
                       {"subscribes", peer.subscriptions},
                       {"excludes", peer.excludes},
                       {"serves", peer.services},
                       {"events_delivered", peer.events_delivered},
                       {"events_dropped", peer.events_dropped},
                       {"requests_delivered", peer.requests_delivered},
                       {"requests_rejected", peer.requests_rejected},
                       {"queue_depth", peer.queue_depth},
                       {"registered_us", peer.registered_us}});
    }
    return json{{"started_us", started_us_},
                {"pending_requests", pending_.size()},
                {"peer_high_water_mark", options_.peer_high_water_mark},
                {"peers", std::move(peers)},
                {"totals",
                 {{"events_in", totals_.events_in},
                  {"events_delivered", totals_.events_delivered},
                  {"events_dropped", totals_.events_dropped},
                  {"events_unrouted", totals_.events_unrouted},
                  {"requests_in", totals_.requests_in},
                  {"replies_routed", totals_.replies_routed},
                  {"requests_unavailable", totals_.requests_unavailable},
                  {"requests_overloaded", totals_.requests_overloaded},
                  {"timeouts", totals_.timeouts},
                  {"late_replies", totals_.late_replies},
                  {"replies_dropped", totals_.replies_dropped},
                  {"replies_forged", totals_.replies_forged},
                  {"requests_refused", totals_.requests_refused},
                  {"events_refused", totals_.events_refused},
                  {"audit_dropped", audit_.dropped()},
                  {"malformed", totals_.malformed}}}};
  }

  // Answers the parked bus.audit.take when there are records after its `after` (or always,
  // empty if need be, with `now`: a deadline, or a newer take).
  void answer_parked_take(bool now = false) {
    if (!parked_take_ || (!now && !audit_.has_after(parked_take_->after))) return;
    auto taken = audit_.take(parked_take_->after, parked_take_->max);
    json answer = {{"epoch", audit_.epoch()},
                   {"records", std::move(taken.records)},
                   {"lost", taken.lost},
                   {"last", taken.last}};
    const auto parked = std::move(*parked_take_);
    parked_take_.reset();
    auto sent = send_envelope_to(parked.identity,
                                 bus::make_reply(parked.request, kSelf, bus::to_body(answer)));
    if (!sent && sent.error().code != Errc::Unavailable) ++totals_.replies_dropped;
  }

  json auth_table() const {
    json roles = json::array();
    for (const auto& [name, role] : policy_.roles()) {
      roles.push_back({{"name", name},
                       {"services", role.services},
                       {"topics", role.topics},
                       {"devices", role.devices},
                       {"builtin", role.builtin}});
    }
    json users = json::array();
    for (const auto& entry : options_.auth.users) {
      json user = {{"name", entry.name}, {"roles", entry.roles}};
      if (entry.uid) user["uid"] = *entry.uid;
      if (entry.gid) user["gid"] = *entry.gid;
      if (!entry.key.empty()) user["key"] = entry.key.substr(0, 8);
      users.push_back(std::move(user));
    }
    return json{{"roles", std::move(roles)},
                {"users", std::move(users)},
                {"default_roles", options_.auth.default_roles}};
  }

  static json whoami(const PeerCredentials& credentials, const Identity& caller) {
    json out = {{"principal", caller.principal},
                {"roles", caller.roles},
                {"via", via_of(credentials, caller)}};
    if (credentials.via == PeerCredentials::Via::Ipc) {
      out["uid"] = credentials.uid;
      out["gid"] = credentials.gid;
      out["pid"] = credentials.pid;
    }
    if (credentials.via == PeerCredentials::Via::Tcp) out["key"] = credentials.curve_key;
    return out;
  }

  RouterOptions options_;
  std::optional<zmq::socket_t> zap_;  // declared before socket_: closed after it
  zmq::socket_t socket_;
  std::shared_ptr<spdlog::logger> log_;
  std::int64_t started_us_;
  StringMap<Peer> peers_;              // by routing id
  StringMap<std::string> services_;    // service -> routing id
  StringMap<PendingRequest> pending_;  // by request id
  using Deadline = std::pair<std::int64_t, std::string>;
  std::priority_queue<Deadline, std::vector<Deadline>, std::greater<>> deadlines_;
  std::vector<std::pair<const std::string*, Peer*>> targets_;  // nodes are stable in the map
  std::vector<std::string> gone_;  // peers forward() found disconnected; see forget_gone()
  Totals totals_;
  PrincipalMap principals_;
  AccessPolicy policy_;
  AuditTap audit_;
  std::optional<ParkedTake> parked_take_;
};

Result<std::unique_ptr<Router>> Router::create(zmq::context_t& context, RouterOptions options) {
  for (const auto& endpoint : options.endpoints) {
    if (auto valid = bus::endpoints::validate(endpoint); !valid) return std::move(valid).error();
  }
  if (options.peer_high_water_mark <= 0) {
    return fail(Errc::InvalidConfig, "must be a positive integer", "router.peer_high_water_mark");
  }
  auto impl = std::make_unique<RouterImpl>(context, std::move(options));
  if (auto bound = impl->bind(context); !bound) return std::move(bound).error();
  return std::unique_ptr<Router>(new Router(std::move(impl)));
}

Router::Router(std::unique_ptr<RouterImpl> impl) : impl_(std::move(impl)) {}

Router::~Router() {
  stop();
}

void Router::start() {
  thread_ = std::thread([this] { impl_->run(stopping_, bell_, [this] { return take_reload(); }); });
}

void Router::reload(ConfigReload reload) {
  {
    std::lock_guard lock(reloads_mutex_);
    reloads_.push_back(std::move(reload));
    reload_pending_.store(true, std::memory_order_release);
  }
  bell_.ring();
}

std::optional<ConfigReload> Router::take_reload() {
  if (!reload_pending_.load(std::memory_order_acquire)) return std::nullopt;
  std::lock_guard lock(reloads_mutex_);
  if (reloads_.empty()) return std::nullopt;
  auto first = std::move(reloads_.front());
  reloads_.erase(reloads_.begin());
  if (reloads_.empty()) reload_pending_.store(false, std::memory_order_relaxed);
  return first;
}

void Router::stop() {
  stopping_ = true;
  bell_.ring();
  if (thread_.joinable()) thread_.join();
  impl_.reset();
}

}  // namespace nauto::kernel
