#include "nauto/bus/codec.h"

#include <msgpack.hpp>

#include "nauto/bus/msgpack_reader.h"

namespace nauto::bus {
namespace {

constexpr std::size_t kMaxHeaderBytes = 4096;

Error malformed(std::string what) {
  return fail(Errc::Malformed, std::move(what), "bus.codec");
}

// Header and HeaderView alike.
template <typename AnyHeader>
std::string encode_any_header(const AnyHeader& h) {
  msgpack::sbuffer buffer(128);
  msgpack::packer<msgpack::sbuffer> pk(buffer);
  const std::uint32_t fields = 3 + !h.source.empty() + !h.correlation_id.empty() +
                               (h.time_us != 0) + (h.deadline_us != 0) + !h.principal.empty() +
                               !h.roles.empty() + !h.scope.empty() + !h.acting_for.empty();
  pk.pack_map(fields);
  pk.pack(std::string_view("v"));
  pk.pack(Header::kVersion);
  pk.pack(std::string_view("id"));
  pk.pack(h.id);
  pk.pack(std::string_view("kind"));
  pk.pack(static_cast<std::uint8_t>(h.kind));
  if (!h.source.empty()) {
    pk.pack(std::string_view("src"));
    pk.pack(h.source);
  }
  if (!h.correlation_id.empty()) {
    pk.pack(std::string_view("corr"));
    pk.pack(h.correlation_id);
  }
  if (h.time_us != 0) {
    pk.pack(std::string_view("ts"));
    pk.pack(h.time_us);
  }
  if (h.deadline_us != 0) {
    pk.pack(std::string_view("dl"));
    pk.pack(h.deadline_us);
  }
  if (!h.principal.empty()) {
    pk.pack(std::string_view("pr"));
    pk.pack(h.principal);
  }
  if (!h.roles.empty()) {
    pk.pack(std::string_view("ro"));
    pk.pack(h.roles);
  }
  if (!h.scope.empty()) {
    pk.pack(std::string_view("sc"));
    pk.pack(h.scope);
  }
  if (!h.acting_for.empty()) {
    pk.pack(std::string_view("af"));
    pk.pack(h.acting_for);
  }
  return std::string(buffer.data(), buffer.size());
}

}  // namespace

std::string encode_header(const Header& header) {
  return encode_any_header(header);
}
std::string encode_header(const HeaderView& header) {
  return encode_any_header(header);
}

Header HeaderView::to_header() const {
  return Header{std::string(id),
                kind,
                std::string(source),
                std::string(correlation_id),
                time_us,
                deadline_us,
                std::string(principal),
                std::string(roles),
                std::string(scope),
                std::string(acting_for)};
}

Result<HeaderView> decode_header_view(std::string_view bytes) {
  if (bytes.empty()) return malformed("empty header frame");
  if (bytes.size() > kMaxHeaderBytes) return malformed("header frame larger than 4096 bytes");
  MsgpackReader in(bytes);
  std::uint32_t fields = 0;
  if (!in.map_size(fields)) {
    // Tell "not msgpack at all" from "msgpack, but not a map".
    MsgpackReader probe(bytes);
    if (probe.skip() && probe.at_end()) return malformed("header must be a msgpack map");
    return malformed("header is not valid msgpack");
  }
  HeaderView h;
  bool has_version = false, has_id = false, has_kind = false;
  auto want_string = [&](const char* key, std::string_view& out) -> Result<void> {
    if (!in.next_is_string())
      return malformed(std::string("header key '") + key + "' must be a string");
    if (!in.string(out)) return malformed("header is not valid msgpack (truncated string)");
    return ok();
  };
  auto want_int = [&](const char* key, std::int64_t& out) -> Result<void> {
    if (!in.integer(out))
      return malformed(std::string("header key '") + key + "' must be an integer");
    return ok();
  };
  for (std::uint32_t i = 0; i < fields; ++i) {
    std::string_view key;
    if (!in.next_is_string()) return malformed("header keys must be strings");
    if (!in.string(key)) return malformed("header is not valid msgpack (truncated key)");
    Result<void> read = ok();
    std::int64_t number = 0;
    if (key == "v") {
      read = want_int("v", number);
      if (read && number != Header::kVersion) {
        return malformed("header version " + std::to_string(number) + " is not supported (want " +
                         std::to_string(Header::kVersion) + ")");
      }
      has_version = true;
    } else if (key == "id") {
      read = want_string("id", h.id);
      has_id = !h.id.empty();
    } else if (key == "kind") {
      read = want_int("kind", number);
      if (read && (number < 0 || number > 3))
        return malformed("header kind must be 0..3 (event..error)");
      h.kind = static_cast<Kind>(number);
      has_kind = true;
    } else if (key == "src") {
      read = want_string("src", h.source);
    } else if (key == "corr") {
      read = want_string("corr", h.correlation_id);
    } else if (key == "ts") {
      read = want_int("ts", h.time_us);
    } else if (key == "dl") {
      read = want_int("dl", h.deadline_us);
    } else if (key == "pr") {
      read = want_string("pr", h.principal);
    } else if (key == "ro") {
      read = want_string("ro", h.roles);
    } else if (key == "sc") {
      read = want_string("sc", h.scope);
    } else if (key == "af") {
      read = want_string("af", h.acting_for);
    } else if (!in.skip()) {
      // Unknown keys are ignored on purpose (newer peers may add fields), but must be readable.
      return malformed("header is not valid msgpack (unreadable value of '" + std::string(key) +
                       "')");
    }
    if (!read) return std::move(read).error();
  }
  if (!has_version) return malformed("header has no version 'v'");
  if (!has_id) return malformed("header has no 'id'");
  if (!has_kind) return malformed("header has no 'kind'");
  if ((h.kind == Kind::Reply || h.kind == Kind::Error) && h.correlation_id.empty()) {
    return malformed("reply without a correlation id 'corr'");
  }
  return h;
}

Result<Header> decode_header(std::string_view bytes) {
  auto view = decode_header_view(bytes);
  if (!view) return std::move(view).error();
  return view->to_header();
}

std::vector<zmq::message_t> encode_frames(const Envelope& e) {
  std::vector<zmq::message_t> frames;
  frames.reserve(3);
  frames.emplace_back(e.topic.data(), e.topic.size());
  const auto header = encode_header(e.header);
  frames.emplace_back(header.data(), header.size());
  frames.emplace_back(e.body.data(), e.body.size());
  return frames;
}

Result<Envelope> decode_frames(std::span<const zmq::message_t> frames) {
  if (frames.size() != 3) {
    return malformed("expected 3 frames [topic][header][body], got " +
                     std::to_string(frames.size()));
  }
  Envelope e;
  e.topic.assign(frames[0].data<char>(), frames[0].size());
  if (e.topic.empty()) return malformed("empty topic frame");
  auto header = decode_header(std::string_view(frames[1].data<char>(), frames[1].size()));
  if (!header) return std::move(header).error();
  e.header = std::move(*header);
  e.body.assign(frames[2].data<char>(), frames[2].size());
  return e;
}

}  // namespace nauto::bus
