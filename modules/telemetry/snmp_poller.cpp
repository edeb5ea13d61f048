#include "snmp_poller.h"

// clang-format off
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/library/large_fd_set.h>
// clang-format on
#include <openssl/crypto.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>

#include "nauto/base/clock.h"

namespace nauto::telemetry {

namespace {

// usmStats counters (RFC 3414) an agent reports instead of answering a v3 request.
constexpr std::uint32_t kUsmStats[] = {1, 3, 6, 1, 6, 3, 15, 1, 1};
enum UsmStat : std::uint32_t {
  kUnsupportedSecLevels = 1,
  kNotInTimeWindows = 2,
  kUnknownUserNames = 3,
  kUnknownEngineIds = 4,
  kWrongDigests = 5,
  kDecryptionErrors = 6,
};

struct ProtocolOid {
  const char* name;
  const oid* value;
  std::size_t length;
};

const ProtocolOid kAuthProtocols[] = {
    {"md5", usmHMACMD5AuthProtocol, 10},          {"sha", usmHMACSHA1AuthProtocol, 10},
    {"sha224", usmHMAC128SHA224AuthProtocol, 10}, {"sha256", usmHMAC192SHA256AuthProtocol, 10},
    {"sha384", usmHMAC256SHA384AuthProtocol, 10}, {"sha512", usmHMAC384SHA512AuthProtocol, 10},
};
const ProtocolOid kPrivProtocols[] = {
    {"des", usmDESPrivProtocol, 10},
    {"aes", usmAESPrivProtocol, 10},
    {"aes192", usmAES192PrivProtocol, 9},
    {"aes256", usmAES256PrivProtocol, 9},
    {"aes192c", usmAES192CiscoPrivProtocol, 11},
    {"aes256c", usmAES256CiscoPrivProtocol, 11},
};

template <std::size_t N>
const ProtocolOid* find_protocol(const ProtocolOid (&table)[N], const std::string& name) {
  for (const auto& p : table) {
    if (name == p.name) return &p;
  }
  return nullptr;
}

Oid to_oid(const oid* name, std::size_t length) {
  Oid out(length);
  for (std::size_t i = 0; i < length; ++i)
    out[i] = static_cast<std::uint32_t>(name[i]);
  return out;
}

std::vector<oid> from_oid(const Oid& o) {
  return std::vector<oid>(o.begin(), o.end());
}

SnmpValue to_value(const netsnmp_variable_list& v) {
  SnmpValue out;
  switch (v.type) {
    case ASN_INTEGER:
      out.type = SnmpType::Integer;
      out.integer = *v.val.integer;
      break;
    case ASN_COUNTER:
    case ASN_GAUGE:
    case ASN_TIMETICKS:
      out.type = v.type == ASN_COUNTER ? SnmpType::Counter32
                 : v.type == ASN_GAUGE ? SnmpType::Gauge32
                                       : SnmpType::TimeTicks;
      out.integer = static_cast<std::int64_t>(static_cast<std::uint32_t>(*v.val.integer));
      break;
    case ASN_COUNTER64:
      out.type = SnmpType::Counter64;
      out.integer =
          static_cast<std::int64_t>((static_cast<std::uint64_t>(v.val.counter64->high) << 32) |
                                    (v.val.counter64->low & 0xffffffffu));
      break;
    case ASN_OCTET_STR:
      out.type = SnmpType::OctetString;
      out.text.assign(reinterpret_cast<const char*>(v.val.string), v.val_len);
      break;
    case ASN_OPAQUE:
      out.type = SnmpType::Opaque;
      out.text.assign(reinterpret_cast<const char*>(v.val.string), v.val_len);
      break;
    case ASN_OBJECT_ID:
      out.type = SnmpType::ObjectId;
      out.text = oid_text(to_oid(v.val.objid, v.val_len / sizeof(oid)));
      break;
    case ASN_IPADDRESS:
      out.type = SnmpType::IpAddress;
      if (v.val_len == 4) {
        const auto* b = v.val.string;
        out.text = std::to_string(b[0]) + "." + std::to_string(b[1]) + "." + std::to_string(b[2]) +
                   "." + std::to_string(b[3]);
      }
      break;
    default:
      out.type = SnmpType::Null;
  }
  return out;
}

bool is_exception(const netsnmp_variable_list& v) {
  return v.type == SNMP_NOSUCHOBJECT || v.type == SNMP_NOSUCHINSTANCE ||
         v.type == SNMP_ENDOFMIBVIEW;
}

/// The usmStats counter a Report carries, 0 if none.
std::uint32_t report_kind(const netsnmp_pdu& pdu) {
  if (!pdu.variables) return 0;
  const auto reported = to_oid(pdu.variables->name, pdu.variables->name_length);
  const Oid prefix(std::begin(kUsmStats), std::end(kUsmStats));
  if (!is_prefix_of(prefix, reported) || reported.size() <= prefix.size()) return 0;
  return reported[prefix.size()];
}

Error report_error(std::uint32_t kind) {
  switch (kind) {
    case kUnknownUserNames:
      return fail(Errc::Unauthenticated, "the agent does not know this SNMPv3 user");
    case kWrongDigests:
      return fail(Errc::Unauthenticated, "authentication failure (wrong SNMPv3 auth password)");
    case kDecryptionErrors:
      return fail(Errc::Unauthenticated, "decryption failure (wrong SNMPv3 privacy password)");
    case kUnsupportedSecLevels:
      return fail(Errc::Unauthenticated, "the agent refuses this SNMPv3 security level");
    case kNotInTimeWindows:
      return fail(Errc::Unauthenticated, "the agent's clock (engine time) is out of window");
    case kUnknownEngineIds:
      return fail(Errc::Unauthenticated, "the agent's engine ID changed");
    default:
      return fail(Errc::Rejected, "the agent answered with a Report");
  }
}

const char* error_status_name(long status) {
  static const char* names[] = {"noError",
                                "tooBig",
                                "noSuchName",
                                "badValue",
                                "readOnly",
                                "genErr",
                                "noAccess",
                                "wrongType",
                                "wrongLength",
                                "wrongEncoding",
                                "wrongValue",
                                "noCreation",
                                "inconsistentValue",
                                "resourceUnavailable",
                                "commitFailed",
                                "undoFailed",
                                "authorizationError",
                                "notWritable",
                                "inconsistentName"};
  return status >= 0 && status < static_cast<long>(std::size(names)) ? names[status] : "error";
}

/// One column being walked: its root and the last OID received.
struct Column {
  Oid root;
  Oid last;
  bool done = false;
  bool any = false;
};

}  // namespace

bool SnmpValue::numeric() const {
  switch (type) {
    case SnmpType::Integer:
    case SnmpType::Counter32:
    case SnmpType::Counter64:
    case SnmpType::Gauge32:
    case SnmpType::TimeTicks:
      return true;
    default:
      return false;
  }
}

double SnmpValue::number() const {
  return type == SnmpType::Integer ? static_cast<double>(integer)
                                   : static_cast<double>(unsigned_value());
}

std::string value_text(const SnmpValue& value) {
  if (value.numeric()) {
    return value.type == SnmpType::Integer ? std::to_string(value.integer)
                                           : std::to_string(value.unsigned_value());
  }
  if (value.type != SnmpType::OctetString) return value.text;
  std::string_view text = value.text;
  while (!text.empty() && text.back() == '\0')
    text.remove_suffix(1);  // some agents count the C string's terminator
  const bool printable = std::all_of(text.begin(), text.end(), [](unsigned char c) {
    return c == '\t' || (c >= 0x20 && c < 0x7f) || c >= 0x80;
  });
  if (printable) return std::string(text);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : value.text) {
    if (!out.empty()) out += ':';
    out += hex[c >> 4];
    out += hex[c & 15];
  }
  return out;
}

Result<void> validate_credentials(const SnmpCredentials& c) {
  if (c.version != 2 && c.version != 3)
    return fail(Errc::InvalidConfig, "must be 2 (v2c) or 3", "version");
  if (c.version == 2) {
    if (c.community.empty()) return fail(Errc::InvalidConfig, "a community is needed", "community");
    return ok();
  }
  if (c.user.empty()) return fail(Errc::InvalidConfig, "an SNMPv3 user is needed", "user");
  if (!c.auth_protocol.empty() && !find_protocol(kAuthProtocols, c.auth_protocol))
    return fail(Errc::InvalidConfig,
                "'" + c.auth_protocol + "' is not md5, sha, sha224, sha256, sha384 or sha512",
                "auth_protocol");
  if (!c.priv_protocol.empty() && !find_protocol(kPrivProtocols, c.priv_protocol))
    return fail(Errc::InvalidConfig,
                "'" + c.priv_protocol + "' is not des, aes, aes192, aes256, aes192c or aes256c",
                "priv_protocol");
  if (!c.priv_protocol.empty() && c.auth_protocol.empty())
    return fail(Errc::InvalidConfig, "privacy needs authentication (an auth_protocol)",
                "priv_protocol");
  if (!c.auth_protocol.empty() && c.auth_password.size() < 8)
    return fail(Errc::InvalidConfig, "must be at least 8 characters (USM)", "auth_password");
  if (!c.priv_protocol.empty() && c.priv_password.size() < 8)
    return fail(Errc::InvalidConfig, "must be at least 8 characters (USM)", "priv_password");
  return ok();
}

/// One agent: its session (and, while discovering a v3 engine ID, the probe's session) and the
/// poll in flight.
struct Session {
  SnmpTarget target;
  void* handle = nullptr;  // net-snmp single session
  int fd = -1;
  void* probe = nullptr;  // v3 engine ID discovery
  int probe_fd = -1;
  std::string engine_id;

  bool polling = false;
  PollPlan plan;
  SnmpPoller::Done done;
  PollOutcome outcome;
  std::size_t next_get = 0;
  std::vector<Column> columns;
  std::size_t next_column = 0;  // first column of the group being walked
  std::size_t group_size = 0;

  std::uint64_t token = 0;              // the request in flight, 0 when none
  std::int64_t deadline = 0;            // steady µs when net-snmp's timer for it is due
  std::optional<Error> security_error;  // SEC_ERROR seen; a Report may refine it
};

struct SnmpPoller::Impl {
  int epoll_fd = -1;
  netsnmp_large_fd_set read_set{};
  std::unordered_map<std::string, std::unique_ptr<Session>> sessions;
  std::unordered_map<int, Session*> by_fd;
  std::unordered_map<std::uint64_t, Session*> by_token;
  std::set<std::pair<std::int64_t, Session*>> deadlines;
  std::uint64_t next_token = 1;
  SnmpPollerStats stats;
  std::vector<Session*> finishing;  // polls to complete once net-snmp returns
  std::vector<void*> retired;       // sessions to close once net-snmp returns
  bool tearing_down = false;

  static Impl* instance;

  ~Impl() {
    // snmp_sess_close calls back for the requests still outstanding: nothing is answered now.
    tearing_down = true;
    for (auto& [name, s] : sessions)
      close_all(*s);
    close_retired();
    netsnmp_large_fd_set_cleanup(&read_set);
    if (epoll_fd >= 0) ::close(epoll_fd);
  }

  // --- sockets -----------------------------------------------------------------------------

  void watch_fd(int fd, Session* s) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev);
    by_fd[fd] = s;
  }
  void forget_fd(int fd) {
    if (fd < 0) return;
    ::epoll_ctl(epoll_fd, EPOLL_CTL_DEL, fd, nullptr);
    by_fd.erase(fd);
  }

  static int socket_of(void* handle) {
    auto* transport = snmp_sess_transport(handle);
    return transport ? transport->sock : -1;
  }

  /// Stops reading a session and closes it once net-snmp has returned: it may be inside that
  /// session's own callback now.
  void retire(void* handle, int fd) {
    forget_fd(fd);
    retired.push_back(handle);
  }
  void close_retired() {
    // A close may call back (an outstanding request), and a callback may retire another
    // session: take the list first.
    while (!retired.empty()) {
      auto closing = std::move(retired);
      retired.clear();
      for (void* handle : closing)
        snmp_sess_close(handle);
    }
  }
  void close_probe(Session& s) {
    if (!s.probe) return;
    retire(s.probe, s.probe_fd);
    s.probe = nullptr;
    s.probe_fd = -1;
  }
  void close_session(Session& s) {
    if (!s.handle) return;
    retire(s.handle, s.fd);
    s.handle = nullptr;
    s.fd = -1;
    --stats.sessions;
  }
  void close_all(Session& s) {
    close_probe(s);
    close_session(s);
  }

  /// A net-snmp session description for `target`, with `level` and, for v3, the engine ID.
  static void describe(const SnmpTarget& target, netsnmp_session& session, bool probe,
                       const std::string& engine_id) {
    snmp_sess_init(&session);
    session.peername = const_cast<char*>(target.address.c_str());
    session.timeout = static_cast<long>(target.timeout_ms) * 1000;
    session.retries = target.retries;
    session.callback = &Impl::on_pdu;
    const auto& c = target.credentials;
    if (c.version == 2) {
      session.version = SNMP_VERSION_2c;
      session.community = reinterpret_cast<u_char*>(const_cast<char*>(c.community.data()));
      session.community_len = c.community.size();
      return;
    }
    session.version = SNMP_VERSION_3;
    session.flags |= SNMP_FLAGS_DONT_PROBE;
    if (probe) {
      session.securityLevel = SNMP_SEC_LEVEL_NOAUTH;
      session.securityName = const_cast<char*>("nauto-probe");
      session.securityNameLen = std::strlen(session.securityName);
      return;
    }
    session.securityName = const_cast<char*>(c.user.c_str());
    session.securityNameLen = c.user.size();
    session.securityEngineID = reinterpret_cast<u_char*>(const_cast<char*>(engine_id.data()));
    session.securityEngineIDLen = engine_id.size();
    if (!c.context.empty()) {
      session.contextName = const_cast<char*>(c.context.c_str());
      session.contextNameLen = c.context.size();
    }
    session.securityLevel = c.auth_protocol.empty()   ? SNMP_SEC_LEVEL_NOAUTH
                            : c.priv_protocol.empty() ? SNMP_SEC_LEVEL_AUTHNOPRIV
                                                      : SNMP_SEC_LEVEL_AUTHPRIV;
  }

  /// Opens the probe (v3, no engine ID yet) or the agent's session.
  Result<void> open(Session& s, bool probe) {
    netsnmp_session spec;
    describe(s.target, spec, probe, s.engine_id);
    const auto& c = s.target.credentials;
    std::vector<oid> auth_proto, priv_proto;
    if (!probe && c.version == 3 && !c.auth_protocol.empty()) {
      const auto* auth = find_protocol(kAuthProtocols, c.auth_protocol);
      if (!auth) return fail(Errc::InvalidConfig, "unknown auth_protocol", "auth_protocol");
      auth_proto.assign(auth->value, auth->value + auth->length);
      spec.securityAuthProto = auth_proto.data();
      spec.securityAuthProtoLen = auth_proto.size();
      spec.securityAuthKeyLen = USM_AUTH_KU_LEN;
      if (generate_Ku(spec.securityAuthProto, static_cast<u_int>(spec.securityAuthProtoLen),
                      reinterpret_cast<const u_char*>(c.auth_password.data()),
                      c.auth_password.size(), spec.securityAuthKey,
                      &spec.securityAuthKeyLen) != SNMPERR_SUCCESS)
        return fail(Errc::InvalidConfig, "could not derive a key from it", "auth_password");
      if (!c.priv_protocol.empty()) {
        const auto* priv = find_protocol(kPrivProtocols, c.priv_protocol);
        if (!priv) return fail(Errc::InvalidConfig, "unknown priv_protocol", "priv_protocol");
        priv_proto.assign(priv->value, priv->value + priv->length);
        spec.securityPrivProto = priv_proto.data();
        spec.securityPrivProtoLen = priv_proto.size();
        spec.securityPrivKeyLen = USM_PRIV_KU_LEN;
        // USM derives the privacy key with the authentication protocol's hash.
        if (generate_Ku(spec.securityAuthProto, static_cast<u_int>(spec.securityAuthProtoLen),
                        reinterpret_cast<const u_char*>(c.priv_password.data()),
                        c.priv_password.size(), spec.securityPrivKey,
                        &spec.securityPrivKeyLen) != SNMPERR_SUCCESS)
          return fail(Errc::InvalidConfig, "could not derive a key from it", "priv_password");
      }
    }
    if (!probe && c.version == 3) {
      // net-snmp keeps one USM user per engine ID and name, made by the first session that
      // names it, keys included: drop it so these credentials (perhaps changed) take effect.
      auto* name = const_cast<char*>(c.user.c_str());
      auto* engine = reinterpret_cast<u_char*>(const_cast<char*>(s.engine_id.data()));
      if (auto* old = usm_get_user(engine, s.engine_id.size(), name)) {
        usm_remove_user(old);
        usm_free_user(old);
      }
    }
    void* handle = snmp_sess_open(&spec);  // copies what it keeps
    // The copies of the secrets in `spec` are not ours to keep past this point.
    OPENSSL_cleanse(spec.securityAuthKey, sizeof spec.securityAuthKey);
    OPENSSL_cleanse(spec.securityPrivKey, sizeof spec.securityPrivKey);
    if (!handle)
      return fail(Errc::InvalidArgument,
                  "cannot open an SNMP session to '" + s.target.address + "'", "address");
    // snmp_sess_open only arms the flag for a probe at the first send; set it again so net-snmp
    // never probes itself (it would block).
    snmp_sess_session(handle)->flags |= SNMP_FLAGS_DONT_PROBE;
    const int fd = socket_of(handle);
    if (probe) {
      s.probe = handle;
      s.probe_fd = fd;
    } else {
      s.handle = handle;
      s.fd = fd;
      ++stats.sessions;
    }
    watch_fd(fd, &s);
    return ok();
  }

  // --- requests ----------------------------------------------------------------------------

  void arm(Session& s) {
    disarm(s);
    // A little after net-snmp's own expiry, so its timer has always run out when we call it.
    s.deadline = steady_us() + static_cast<std::int64_t>(s.target.timeout_ms) * 1000 + 2000;
    deadlines.emplace(s.deadline, &s);
  }
  void disarm(Session& s) {
    if (s.deadline) deadlines.erase({s.deadline, &s});
    s.deadline = 0;
  }

  /// Sends `pdu` on `handle`; on failure the poll ends with the error.
  bool send(Session& s, void* handle, netsnmp_pdu* pdu) {
    const auto token = next_token++;
    s.token = token;
    by_token[token] = &s;
    s.security_error.reset();
    const int id = snmp_sess_async_send(
        handle, pdu, &Impl::on_pdu, reinterpret_cast<void*>(static_cast<std::uintptr_t>(token)));
    if (id == 0) {
      snmp_free_pdu(pdu);
      by_token.erase(token);
      s.token = 0;
      const auto* session = snmp_sess_session(handle);
      finish(s, fail(Errc::Unreachable,
                     std::string("cannot send to the agent: ") +
                         snmp_api_errstring(session ? session->s_snmp_errno : SNMPERR_GENERR)));
      return false;
    }
    ++s.outcome.requests;
    ++stats.requests;
    arm(s);
    return true;
  }

  void start_probe(Session& s) {
    ++stats.discoveries;
    if (auto opened = open(s, true); !opened) return finish(s, std::move(opened).error());
    // The probe of RFC 3414 section 4: a GET with no bindings and no engine ID; the agent's
    // Report (usmStatsUnknownEngineIDs) carries its engine ID.
    auto* pdu = snmp_pdu_create(SNMP_MSG_GET);
    pdu->version = SNMP_VERSION_3;
    pdu->securityName = strdup("");
    pdu->securityNameLen = 0;
    pdu->securityLevel = SNMP_SEC_LEVEL_NOAUTH;
    pdu->securityModel = SNMP_SEC_MODEL_USM;
    send(s, s.probe, pdu);
  }

  /// Sends the poll's next request, or finishes it.
  void step(Session& s) {
    if (!s.handle) {
      if (s.target.credentials.version == 3 && s.engine_id.empty()) return start_probe(s);
      if (auto opened = open(s, false); !opened) return finish(s, std::move(opened).error());
    }
    const auto per_request = static_cast<std::size_t>(std::max(1, s.target.max_oids_per_request));
    if (s.next_get < s.plan.get.size()) {
      auto* pdu = snmp_pdu_create(SNMP_MSG_GET);
      const auto end = std::min(s.plan.get.size(), s.next_get + per_request);
      for (auto i = s.next_get; i < end; ++i) {
        const auto name = from_oid(s.plan.get[i]);
        snmp_add_null_var(pdu, name.data(), name.size());
      }
      s.group_size = end - s.next_get;
      send(s, s.handle, pdu);
      return;
    }
    // Columns are walked a group at a time, all of a group in each GETBULK.
    while (s.next_column < s.columns.size()) {
      const auto end = std::min(s.columns.size(), s.next_column + per_request);
      bool pending = false;
      for (auto i = s.next_column; i < end; ++i)
        pending = pending || !s.columns[i].done;
      if (!pending) {
        s.next_column = end;
        continue;
      }
      auto* pdu = snmp_pdu_create(SNMP_MSG_GETBULK);
      pdu->non_repeaters = 0;
      pdu->max_repetitions = std::max(1, s.target.bulk_repetitions);
      s.group_size = 0;
      for (auto i = s.next_column; i < end; ++i) {
        if (s.columns[i].done) continue;
        const auto name = from_oid(s.columns[i].last);
        snmp_add_null_var(pdu, name.data(), name.size());
        ++s.group_size;
      }
      send(s, s.handle, pdu);
      return;
    }
    finish(s, ok());
  }

  void on_get_reply(Session& s, const netsnmp_pdu& pdu) {
    std::size_t i = s.next_get;
    for (auto* v = pdu.variables; v; v = v->next_variable, ++i) {
      auto name = to_oid(v->name, v->name_length);
      if (is_exception(*v) || v->type == ASN_NULL) {
        s.outcome.missing.push_back(std::move(name));
      } else {
        s.outcome.values.push_back({std::move(name), to_value(*v)});
      }
    }
    s.next_get += s.group_size;
  }

  void on_bulk_reply(Session& s, const netsnmp_pdu& pdu) {
    // The bindings come row by row: one per column still walked, in request order.
    std::vector<Column*> asked;
    const auto end = std::min(
        s.columns.size(),
        s.next_column + static_cast<std::size_t>(std::max(1, s.target.max_oids_per_request)));
    for (auto i = s.next_column; i < end; ++i) {
      if (!s.columns[i].done) asked.push_back(&s.columns[i]);
    }
    std::vector<bool> ended(asked.size(), false);
    std::size_t i = 0;
    std::size_t received = 0;
    for (auto* v = pdu.variables; v; v = v->next_variable, ++i) {
      ++received;
      const auto slot = i % asked.size();
      if (ended[slot]) continue;
      Column& column = *asked[slot];
      auto name = to_oid(v->name, v->name_length);
      // Past the column, the end of the agent's view, or not increasing (a broken agent that
      // would walk forever): the column is done.
      if (is_exception(*v) || !is_prefix_of(column.root, name) ||
          !std::lexicographical_compare(column.last.begin(), column.last.end(), name.begin(),
                                        name.end())) {
        ended[slot] = true;
        continue;
      }
      column.last = name;
      column.any = true;
      s.outcome.values.push_back({std::move(name), to_value(*v)});
    }
    for (std::size_t k = 0; k < asked.size(); ++k) {
      // An empty answer would repeat forever; the agent has nothing more.
      if (ended[k] || received == 0) asked[k]->done = true;
      if (asked[k]->done && !asked[k]->any) s.outcome.missing.push_back(asked[k]->root);
    }
  }

  void on_message(Session& s, bool from_probe, netsnmp_pdu* pdu) {
    if (from_probe) {
      // The Report to the probe: keep the engine ID, then poll with the real session.
      if (pdu->securityEngineIDLen == 0)
        return finish(
            s, fail(Errc::Malformed, "the agent's answer to the engine ID probe has no engine ID"));
      s.engine_id.assign(reinterpret_cast<const char*>(pdu->securityEngineID),
                         pdu->securityEngineIDLen);
      close_probe(s);
      return step(s);
    }
    if (pdu->command == SNMP_MSG_REPORT) {
      const auto kind = report_kind(*pdu);
      if (kind == kUnknownEngineIds) {
        // The agent was replaced or re-keyed: discover it again on the next poll.
        s.engine_id.clear();
        close_session(s);
      }
      return finish(s, report_error(kind));
    }
    if (pdu->errstat != SNMP_ERR_NOERROR) {
      return finish(s, fail(Errc::Rejected, std::string("the agent answered ") +
                                                error_status_name(pdu->errstat) + " (index " +
                                                std::to_string(pdu->errindex) + ")"));
    }
    if (pdu->command != SNMP_MSG_RESPONSE)
      return finish(s, fail(Errc::Malformed, "the agent sent a PDU that is not a response"));
    if (s.next_get < s.plan.get.size()) {
      on_get_reply(s, *pdu);
    } else {
      on_bulk_reply(s, *pdu);
    }
    step(s);
  }

  static int on_pdu(int op, netsnmp_session*, int, netsnmp_pdu* pdu, void* magic) {
    auto* self = instance;
    if (!self || self->tearing_down) return 1;
    const auto token = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(magic));
    auto it = self->by_token.find(token);
    if (it == self->by_token.end()) return 1;  // an earlier poll's, already finished
    Session& s = *it->second;
    const bool from_probe = s.probe != nullptr;
    switch (op) {
      case NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE: {
        self->by_token.erase(it);
        s.token = 0;
        self->disarm(s);
        s.security_error.reset();
        self->on_message(s, from_probe, pdu);
        return 1;
      }
      case NETSNMP_CALLBACK_OP_SEC_ERROR:
        // An unauthenticated Report follows in the same read when the agent sent one; the
        // poll ends after the read either way (see settle()).
        s.security_error = fail(Errc::Unauthenticated, "SNMPv3 security check failed");
        self->finishing.push_back(&s);
        return 1;
      case NETSNMP_CALLBACK_OP_TIMED_OUT: {
        self->by_token.erase(it);
        s.token = 0;
        self->disarm(s);
        ++self->stats.timeouts;
        const auto tries = s.target.retries + 1;
        self->finish(
            s, fail(Errc::Timeout, "no answer from " + s.target.address + " in " +
                                       std::to_string(tries) + " tr" + (tries == 1 ? "y" : "ies") +
                                       " of " + std::to_string(s.target.timeout_ms) + " ms"));
        return 1;
      }
      case NETSNMP_CALLBACK_OP_SEND_FAILED:
        // send() sees snmp_sess_async_send fail and finishes the poll.
        return 1;
      default:
        return 1;  // a retransmission: nothing to do
    }
  }

  /// Ends polls a security error left waiting for a Report that did not come.
  void settle() {
    auto pending = std::move(finishing);
    finishing.clear();
    for (auto* s : pending) {
      if (!s->security_error || !s->token) continue;
      by_token.erase(s->token);
      s->token = 0;
      disarm(*s);
      auto error = std::move(*s->security_error);
      s->security_error.reset();
      finish(*s, std::move(error));
    }
  }

  void finish(Session& s, Result<void> status) {
    if (!s.polling) return;
    if (s.token) {
      by_token.erase(s.token);
      s.token = 0;
    }
    disarm(s);
    close_probe(s);
    s.polling = false;
    s.outcome.status = std::move(status);
    s.outcome.finished_us = steady_us();
    if (!s.outcome.status) {
      ++stats.failed_polls;
      if (s.outcome.status.error().code == Errc::Unauthenticated) ++stats.auth_failures;
      // A later poll starts from a fresh session, and a v3 one from a fresh discovery: an
      // agent whose engine ID changed (a replaced device) answers the old one with a Report
      // net-snmp cannot read, which looks like silence.
      if (s.outcome.status.error().code == Errc::Timeout) {
        close_session(s);
        s.engine_id.clear();
      }
    }
    auto done = std::move(s.done);
    auto outcome = std::move(s.outcome);
    s.plan = {};
    s.columns.clear();
    done(std::move(outcome));
  }

  void read_fd(int fd) {
    auto it = by_fd.find(fd);
    if (it == by_fd.end()) return;
    Session& s = *it->second;
    void* handle = fd == s.probe_fd ? s.probe : s.handle;
    if (!handle) return;
    if (static_cast<unsigned>(fd) >= read_set.lfs_setsize)
      netsnmp_large_fd_set_resize(&read_set, fd + 1024);
    NETSNMP_LARGE_FD_ZERO(&read_set);
    NETSNMP_LARGE_FD_SET(fd, &read_set);
    snmp_sess_read2(handle, &read_set);
  }
};

SnmpPoller::Impl* SnmpPoller::Impl::instance = nullptr;

SnmpPoller::SnmpPoller(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

SnmpPoller::~SnmpPoller() {
  if (Impl::instance == impl_.get()) Impl::instance = nullptr;
}

Result<std::unique_ptr<SnmpPoller>> SnmpPoller::create() {
  if (Impl::instance) return fail(Errc::Bug, "one SNMP poller per process (net-snmp is global)");
  static const bool initialized = [] {
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_READ_CONFIGS, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_LOAD, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_SAVE, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_PERSIST_STATE, 1);
    netsnmp_ds_set_int(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_MIB_ERRORS, 0);
    // No MIB files: OIDs are numeric here, and loading MIBs costs time and memory (and with
    // no MIB directory, net-snmp would complain about each module of its default list).
    netsnmp_set_mib_directory("");
    ::setenv("MIBS", "", 0);
    init_snmp("nauto");
    if (const char* tokens = std::getenv("NAUTO_SNMP_DEBUG")) {
      debug_register_tokens(tokens);
      snmp_set_do_debugging(1);
    }
    return true;
  }();
  (void)initialized;
  // Every agent holds a socket: take the hard limit on open files.
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);
  }
  auto impl = std::make_unique<Impl>();
  impl->epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (impl->epoll_fd < 0) return fail(Errc::System, std::strerror(errno), "epoll_create1");
  netsnmp_large_fd_set_init(&impl->read_set, 1024);
  Impl::instance = impl.get();
  return std::unique_ptr<SnmpPoller>(new SnmpPoller(std::move(impl)));
}

int SnmpPoller::fd() const {
  return impl_->epoll_fd;
}

Result<void> SnmpPoller::poll(const SnmpTarget& target, PollPlan plan, Done done) {
  if (auto valid = validate_credentials(target.credentials); !valid) return valid;
  if (plan.get.empty() && plan.walk.empty())
    return fail(Errc::InvalidArgument, "nothing to poll", "plan");
  auto& slot = impl_->sessions[target.name];
  if (!slot) slot = std::make_unique<Session>();
  Session& s = *slot;
  if (s.polling)
    return fail(Errc::Overloaded, "the previous poll of '" + target.name + "' is still running");
  if (!s.target.same_session(target)) {
    impl_->close_all(s);
    s.engine_id.clear();
  }
  s.target = target;
  s.polling = true;
  s.plan = std::move(plan);
  s.done = std::move(done);
  s.outcome = PollOutcome{};
  s.outcome.target = target.name;
  s.outcome.started_us = steady_us();
  s.next_get = 0;
  s.columns.clear();
  for (const auto& root : s.plan.walk)
    s.columns.push_back({root, root});
  s.next_column = 0;
  ++impl_->stats.polls;
  // A failure to even send is answered here, not through `done`.
  Result<void> immediate = ok();
  auto done_later = std::move(s.done);
  s.done = [&immediate](PollOutcome outcome) { immediate = std::move(outcome.status); };
  impl_->step(s);
  impl_->close_retired();
  if (!immediate) return immediate;
  s.done = std::move(done_later);
  return ok();
}

void SnmpPoller::on_readable() {
  epoll_event events[256];
  for (;;) {
    const int n = ::epoll_wait(impl_->epoll_fd, events, 256, 0);
    if (n <= 0) break;
    for (int i = 0; i < n; ++i)
      impl_->read_fd(events[i].data.fd);
    impl_->settle();
    impl_->close_retired();
    if (n < 256) break;
  }
}

std::int64_t SnmpPoller::next_deadline_us() const {
  return impl_->deadlines.empty() ? 0 : impl_->deadlines.begin()->first;
}

void SnmpPoller::on_deadline() {
  const auto now = steady_us();
  while (!impl_->deadlines.empty() && impl_->deadlines.begin()->first <= now) {
    Session* s = impl_->deadlines.begin()->second;
    impl_->disarm(*s);
    void* handle = s->probe ? s->probe : s->handle;
    if (!handle || !s->token) continue;
    const auto token = s->token;
    snmp_sess_timeout(handle);              // retransmits, or times the request out (on_pdu)
    if (s->token == token) impl_->arm(*s);  // retransmitted: wait again
  }
  impl_->settle();
  impl_->close_retired();
}

void SnmpPoller::retain(const std::vector<std::string>& keep) {
  std::set<std::string> wanted(keep.begin(), keep.end());
  for (auto it = impl_->sessions.begin(); it != impl_->sessions.end();) {
    if (wanted.count(it->first) || it->second->polling) {
      ++it;
      continue;
    }
    impl_->close_all(*it->second);
    it = impl_->sessions.erase(it);
  }
  impl_->close_retired();
}

bool SnmpPoller::busy(const std::string& target) const {
  auto it = impl_->sessions.find(target);
  return it != impl_->sessions.end() && it->second->polling;
}

SnmpPollerStats SnmpPoller::stats() const {
  return impl_->stats;
}

}  // namespace nauto::telemetry
