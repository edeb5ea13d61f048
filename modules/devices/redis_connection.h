#pragma once
// RedisConnection: one blocking connection to Redis, in plain TCP or TLS (rediss://), for the
// work streams between a control node and its workers (work_streams.h).
//
// Debian 12's hiredis (0.14) has no TLS, so the transport is ours: a socket, and OpenSSL for
// rediss:// (the server's certificate verified against `ca_file` or the system's CAs, its name
// checked, an optional client certificate for `tls-auth-clients`). hiredis does the protocol:
// redisFormatCommandArgv encodes commands and its reader parses replies (RESP2). Every call
// has a deadline; any I/O error or timeout leaves the connection broken(): the owner opens a
// new one. ADR 0020.
//
// Thread: one owner thread at a time (the socket is blocking, waits are poll(2) with deadlines).

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "nauto/base/result.h"

namespace nauto::devices {

struct RedisEndpoint {
  std::string host = "127.0.0.1";
  int port = 6379;
  bool tls = false;
  std::string ca_file;    ///< TLS: the CA to verify the server with; empty: the system's
  std::string cert_file;  ///< TLS: a client certificate (PEM), for tls-auth-clients
  std::string key_file;   ///< TLS: its key
  std::string username;   ///< ACL user; empty with a password: the default user
  std::string password;   ///< never in a URL, a log or an error
  int database = 0;
};

/// `redis://host[:port][/db]` or `rediss://...`, optionally `user@host`. A password in the URL
/// is refused: it belongs in the vault.
Result<RedisEndpoint> parse_redis_url(std::string_view url);
/// The endpoint without secrets, for logs and status: "rediss://host:port/db".
std::string describe(const RedisEndpoint& endpoint);

/// One RESP2 reply.
struct RedisReply {
  enum class Type : std::uint8_t { String, Status, Error, Integer, Nil, Array };
  Type type = Type::Nil;
  std::string text;  ///< String, Status, Error
  long long integer = 0;
  std::vector<RedisReply> elements;  ///< Array

  bool is_error() const { return type == Type::Error; }
  bool is_nil() const { return type == Type::Nil; }
};

class RedisConnection {
 public:
  /// Connects (and handshakes, AUTH, SELECT) within `timeout_ms`. Errors: Unreachable (refused,
  /// reset, name unknown), Timeout, Untrusted (TLS), Unauthenticated (AUTH refused).
  static Result<std::unique_ptr<RedisConnection>> open(const RedisEndpoint& endpoint,
                                                       std::int64_t timeout_ms);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  /// One command; a Redis error reply is Errc::Rejected with its text.
  Result<RedisReply> command(const std::vector<std::string>& args, std::int64_t timeout_ms);
  /// Several commands in one write; their replies in order (error replies included as such).
  Result<std::vector<RedisReply>> pipeline(const std::vector<std::vector<std::string>>& commands,
                                           std::int64_t timeout_ms);
  /// An I/O error or a timeout happened: replies may be out of step; open a new connection.
  bool broken() const { return broken_; }
  const std::string& where() const { return where_; }

 private:
  struct Transport;
  RedisConnection(std::unique_ptr<Transport> transport, std::string where);
  Result<void> send(const std::string& bytes, std::int64_t deadline_us);
  Result<RedisReply> receive(std::int64_t deadline_us);

  std::unique_ptr<Transport> transport_;
  std::string where_;       // describe(endpoint), for errors
  void* reader_ = nullptr;  // redisReader
  bool broken_ = false;
};

/// One stream entry: its id and its fields.
struct StreamEntry {
  std::string id;
  std::vector<std::pair<std::string, std::string>> fields;
  /// The value of `name`, empty when absent.
  std::string field(std::string_view name) const;
};

/// The entries of an array of [id, [field, value, ...]] (XRANGE, one stream of XREADGROUP, the
/// second element of XAUTOCLAIM). Entries deleted meanwhile (a nil body) are skipped.
std::vector<StreamEntry> stream_entries(const RedisReply& entries);
/// The entries of an XREADGROUP reply (nil when BLOCK timed out) for one stream.
std::vector<StreamEntry> read_group_entries(const RedisReply& reply);
/// Makes consumer group `group` on stream `key` (and the stream), from its start; a group that
/// exists already is fine.
Result<void> ensure_group(RedisConnection& connection, const std::string& key,
                          const std::string& group, std::int64_t timeout_ms);

}  // namespace nauto::devices
