#include "nauto/bus/body.h"

#include "nauto/bus/msgpack_reader.h"

namespace nauto::bus {

std::string to_body(const nlohmann::json& value) {
  std::string out;
  nlohmann::json::to_msgpack(value, nlohmann::detail::output_adapter<char>(out));
  return out;
}

// The reader's skip() recurses once a level, bounded by the depth it is given.
Result<void> check_msgpack(std::string_view bytes) {
  MsgpackReader reader(bytes);
  if (!reader.skip(kMaxBodyDepth) || !reader.at_end()) {
    return fail(
        Errc::Malformed,
        "message body is not valid msgpack, or nests deeper than " + std::to_string(kMaxBodyDepth),
        "bus.body");
  }
  return ok();
}

Result<nlohmann::json> from_body(std::string_view bytes) {
  if (bytes.empty()) return nlohmann::json();
  if (auto checked = check_msgpack(bytes); !checked) return std::move(checked).error();
  auto value = nlohmann::json::from_msgpack(bytes.begin(), bytes.end(), true, false);
  if (value.is_discarded()) {
    return fail(Errc::Malformed, "message body is not valid msgpack", "bus.body");
  }
  return value;
}

Result<nlohmann::json> from_reply(const Result<std::string>& reply) {
  if (!reply) return reply.error();
  return from_body(*reply);
}

}  // namespace nauto::bus
