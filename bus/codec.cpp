#include "nauto/bus/codec.h"

#include <msgpack.hpp>

namespace nauto::bus {
namespace {

constexpr std::size_t kMaxHeaderBytes = 4096;

Error malformed(std::string what) { return fail(Errc::Malformed, std::move(what), "bus.codec"); }

Result<std::string> as_string(const msgpack::object& o, const char* key) {
  if (o.type != msgpack::type::STR) {
    return malformed(std::string("header key '") + key + "' must be a string");
  }
  return std::string(o.via.str.ptr, o.via.str.size);
}

Result<std::int64_t> as_int(const msgpack::object& o, const char* key) {
  if (o.type == msgpack::type::POSITIVE_INTEGER) {
    if (o.via.u64 > static_cast<std::uint64_t>(INT64_MAX)) {
      return malformed(std::string("header key '") + key + "' is out of range");
    }
    return static_cast<std::int64_t>(o.via.u64);
  }
  if (o.type == msgpack::type::NEGATIVE_INTEGER) return o.via.i64;
  return malformed(std::string("header key '") + key + "' must be an integer");
}

}  // namespace

std::string encode_header(const Header& h) {
  msgpack::sbuffer buffer(128);
  msgpack::packer<msgpack::sbuffer> pk(buffer);
  const std::uint32_t fields = 3 + !h.source.empty() + !h.correlation_id.empty() +
                               (h.time_us != 0) + (h.deadline_us != 0);
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
  return std::string(buffer.data(), buffer.size());
}

Result<Header> decode_header(std::string_view bytes) {
  if (bytes.empty()) return malformed("empty header frame");
  if (bytes.size() > kMaxHeaderBytes) return malformed("header frame larger than 4096 bytes");
  msgpack::object_handle handle;
  try {
    handle = msgpack::unpack(bytes.data(), bytes.size());
  } catch (const std::exception& e) {
    return malformed(std::string("header is not valid msgpack: ") + e.what());
  }
  const msgpack::object& root = handle.get();
  if (root.type != msgpack::type::MAP) return malformed("header must be a msgpack map");
  Header h;
  bool has_version = false, has_id = false, has_kind = false;
  for (std::uint32_t i = 0; i < root.via.map.size; ++i) {
    const auto& kv = root.via.map.ptr[i];
    if (kv.key.type != msgpack::type::STR) return malformed("header keys must be strings");
    const std::string_view key(kv.key.via.str.ptr, kv.key.via.str.size);
    if (key == "v") {
      auto v = as_int(kv.val, "v");
      if (!v) return std::move(v).error();
      if (*v != Header::kVersion) {
        return malformed("header version " + std::to_string(*v) + " is not supported (want " +
                         std::to_string(Header::kVersion) + ")");
      }
      has_version = true;
    } else if (key == "id") {
      auto v = as_string(kv.val, "id");
      if (!v) return std::move(v).error();
      h.id = std::move(*v);
      has_id = !h.id.empty();
    } else if (key == "kind") {
      auto v = as_int(kv.val, "kind");
      if (!v) return std::move(v).error();
      if (*v < 0 || *v > 3) return malformed("header kind must be 0..3 (event..error)");
      h.kind = static_cast<Kind>(*v);
      has_kind = true;
    } else if (key == "src") {
      auto v = as_string(kv.val, "src");
      if (!v) return std::move(v).error();
      h.source = std::move(*v);
    } else if (key == "corr") {
      auto v = as_string(kv.val, "corr");
      if (!v) return std::move(v).error();
      h.correlation_id = std::move(*v);
    } else if (key == "ts") {
      auto v = as_int(kv.val, "ts");
      if (!v) return std::move(v).error();
      h.time_us = *v;
    } else if (key == "dl") {
      auto v = as_int(kv.val, "dl");
      if (!v) return std::move(v).error();
      h.deadline_us = *v;
    }
    // Unknown keys are ignored on purpose: newer peers may add optional fields.
  }
  if (!has_version) return malformed("header has no version 'v'");
  if (!has_id) return malformed("header has no 'id'");
  if (!has_kind) return malformed("header has no 'kind'");
  if ((h.kind == Kind::Reply || h.kind == Kind::Error) && h.correlation_id.empty()) {
    return malformed("reply without a correlation id 'corr'");
  }
  return h;
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
