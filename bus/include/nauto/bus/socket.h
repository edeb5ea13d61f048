#pragma once
// Socket helpers over cppzmq. A zmq socket is created, used and closed by one thread; these
// functions never share one. Every cppzmq exception is caught here and becomes a Result, so no
// exception crosses the bus boundary.

#include <optional>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "nauto/bus/envelope.h"

namespace nauto::bus {

/// A CURVE key pair, Z85-encoded (40 characters each).
struct CurveKeys {
  std::string public_key;
  std::string secret_key;
};

/// The largest message any bus socket accepts (ZMQ_MAXMSGSIZE, on the router and on every
/// client): a peer that sends more is disconnected by ZeroMQ before the bytes are buffered.
/// Bodies are bounded far below this by their owners (a job's result page, a config).
constexpr std::int64_t kMaxMessageBytes = 64ll << 20;

/// Options for a client (DEALER) socket that talks to the kernel router.
struct ClientOptions {
  std::string routing_id;  ///< stable identity (module name); empty = assigned by zmq
  int send_high_water_mark = 10000;
  int receive_high_water_mark = 10000;
  std::optional<CurveKeys> curve_client;  ///< tcp only: this client's keys
  std::string curve_server_public_key;    ///< tcp only: the router's public key
};

/// Creates a DEALER socket, applies `options` and connects to `endpoint`.
Result<zmq::socket_t> connect_client(zmq::context_t& context, const std::string& endpoint,
                                     const ClientOptions& options);

/// Sends an envelope as three frames. With `dont_wait`, a full queue is Errc::Overloaded.
Result<void> send_envelope(zmq::socket_t& socket, const Envelope& envelope, bool dont_wait = false);

/// Receives one envelope. With `dont_wait` and nothing queued, returns std::nullopt.
/// A message with the wrong frame count or a bad header is Errc::Malformed (it is consumed).
Result<std::optional<Envelope>> receive_envelope(zmq::socket_t& socket, bool dont_wait = false);

/// Generates a fresh CURVE key pair (libzmq must be built with libsodium; it is on Debian).
Result<CurveKeys> make_curve_keys();
/// Reads a file holding a Z85 secret key (as `nauto keygen --secret-file` writes it) and derives
/// the public key. Errc::InvalidArgument, naming the file, if it is missing or not a key.
Result<CurveKeys> read_curve_secret_file(const std::string& path);
/// Reads Z85 public keys, one per line; a line starting with '#', or text after the key and
/// whitespace starting with '#', is a comment. A malformed line is
/// Errc::InvalidArgument naming the file and line.
Result<std::vector<std::string>> read_curve_public_keys_file(const std::string& path);

/// Endpoint helpers: the only place endpoint strings are formed.
namespace endpoints {
/// The in-process router endpoint; unique per zmq context.
inline constexpr const char* kRouterInproc = "inproc://nauto/router";
/// The ipc endpoint of nautod's router in `run_dir`.
std::string router_ipc(const std::string& run_dir);
/// Checks an endpoint is ipc://, inproc:// or tcp:// with a non-empty address.
Result<void> validate(const std::string& endpoint);
}  // namespace endpoints

}  // namespace nauto::bus
