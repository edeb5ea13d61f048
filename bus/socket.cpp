#include "nauto/bus/socket.h"

#include <array>
#include <fstream>
#include <sstream>
#include <zmq_addon.hpp>

#include "nauto/bus/codec.h"

namespace nauto::bus {
namespace {
Error zmq_failure(const zmq::error_t& e, const std::string& what) {
  return fail(Errc::Library, what + ": " + e.what(), "zmq");
}
}  // namespace

Result<zmq::socket_t> connect_client(zmq::context_t& context, const std::string& endpoint,
                                     const ClientOptions& options) {
  if (auto valid = endpoints::validate(endpoint); !valid) return std::move(valid).error();
  try {
    zmq::socket_t socket(context, zmq::socket_type::dealer);
    socket.set(zmq::sockopt::linger, 0);
    socket.set(zmq::sockopt::maxmsgsize, kMaxMessageBytes);
    socket.set(zmq::sockopt::sndhwm, options.send_high_water_mark);
    socket.set(zmq::sockopt::rcvhwm, options.receive_high_water_mark);
    if (!options.routing_id.empty()) socket.set(zmq::sockopt::routing_id, options.routing_id);
    if (options.curve_client) {
      socket.set(zmq::sockopt::curve_serverkey, options.curve_server_public_key);
      socket.set(zmq::sockopt::curve_publickey, options.curve_client->public_key);
      socket.set(zmq::sockopt::curve_secretkey, options.curve_client->secret_key);
    }
    socket.connect(endpoint);
    return socket;
  } catch (const zmq::error_t& e) {
    return zmq_failure(e, "cannot connect to " + endpoint);
  }
}

Result<void> send_envelope(zmq::socket_t& socket, const Envelope& envelope, bool dont_wait) {
  auto frames = encode_frames(envelope);
  try {
    const auto flags = dont_wait ? zmq::send_flags::dontwait : zmq::send_flags::none;
    // The first frame decides: zmq queues a multipart message atomically once it has begun.
    if (!socket.send(frames[0], flags | zmq::send_flags::sndmore)) {
      return fail(Errc::Overloaded, "send queue full for '" + envelope.topic + "'", "bus");
    }
    socket.send(frames[1], zmq::send_flags::sndmore);
    socket.send(frames[2], zmq::send_flags::none);
    return ok();
  } catch (const zmq::error_t& e) {
    return zmq_failure(e, "send of '" + envelope.topic + "' failed");
  }
}

Result<std::optional<Envelope>> receive_envelope(zmq::socket_t& socket, bool dont_wait) {
  std::vector<zmq::message_t> frames;
  try {
    const auto flags = dont_wait ? zmq::recv_flags::dontwait : zmq::recv_flags::none;
    if (!zmq::recv_multipart(socket, std::back_inserter(frames), flags)) {
      return std::optional<Envelope>();
    }
  } catch (const zmq::error_t& e) {
    return zmq_failure(e, "receive failed");
  }
  auto envelope = decode_frames(frames);
  if (!envelope) return std::move(envelope).error();
  return std::optional<Envelope>(std::move(*envelope));
}

Result<CurveKeys> make_curve_keys() {
  std::array<char, 41> public_key{}, secret_key{};
  if (zmq_curve_keypair(public_key.data(), secret_key.data()) != 0) {
    return fail(Errc::Unsupported, "libzmq was built without CURVE support", "zmq");
  }
  return CurveKeys{public_key.data(), secret_key.data()};
}

Result<CurveKeys> read_curve_secret_file(const std::string& path) {
  std::ifstream file(path);
  std::string secret;
  std::array<char, 41> public_key{};
  if (!file || !(file >> secret) || secret.size() != 40 ||
      zmq_curve_public(public_key.data(), secret.c_str()) != 0) {
    return fail(Errc::InvalidArgument,
                "expected a file holding a 40-character Z85 CURVE secret key ('nauto keygen "
                "--secret-file F' writes one)",
                path);
  }
  return CurveKeys{public_key.data(), secret};
}

Result<std::vector<std::string>> read_curve_public_keys_file(const std::string& path) {
  std::ifstream file(path);
  if (!file) return fail(Errc::InvalidArgument, "cannot read the file", path);
  std::vector<std::string> keys;
  std::string line;
  for (int number = 1; std::getline(file, line); ++number) {
    // The Z85 alphabet contains '#', so a comment is a whole line or follows whitespace.
    std::istringstream words(line);
    std::string key, rest;
    if (!(words >> key) || key[0] == '#') continue;
    std::array<std::uint8_t, 32> decoded{};
    if (key.size() != 40 || !zmq_z85_decode(decoded.data(), key.c_str()) ||
        ((words >> rest) && rest[0] != '#')) {
      return fail(Errc::InvalidArgument,
                  "line " + std::to_string(number) +
                      ": expected a 40-character Z85 public key (as 'nauto keygen' prints), "
                      "optionally followed by ' # comment'",
                  path);
    }
    keys.push_back(key);
  }
  return keys;
}

namespace endpoints {

std::string router_ipc(const std::string& run_dir) {
  return "ipc://" + run_dir + "/nautod.sock";
}

Result<void> validate(const std::string& endpoint) {
  for (const char* scheme : {"ipc://", "inproc://", "tcp://"}) {
    const std::string_view prefix(scheme);
    if (endpoint.rfind(prefix, 0) == 0 && endpoint.size() > prefix.size()) return ok();
  }
  return fail(Errc::InvalidArgument,
              "endpoint '" + endpoint +
                  "' must start with ipc://, inproc:// or tcp:// followed by an address "
                  "(e.g. ipc:///run/nauto/nautod.sock or tcp://127.0.0.1:5555)",
              "endpoint");
}

}  // namespace endpoints
}  // namespace nauto::bus
