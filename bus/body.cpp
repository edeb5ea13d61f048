#include "nauto/bus/body.h"

namespace nauto::bus {

std::string to_body(const nlohmann::json& value) {
  std::string out;
  nlohmann::json::to_msgpack(value, nlohmann::detail::output_adapter<char>(out));
  return out;
}

Result<nlohmann::json> from_body(std::string_view bytes) {
  if (bytes.empty()) return nlohmann::json();
  auto value = nlohmann::json::from_msgpack(bytes.begin(), bytes.end(), true, false);
  if (value.is_discarded()) {
    return fail(Errc::Malformed, "message body is not valid msgpack", "bus.body");
  }
  return value;
}

}  // namespace nauto::bus
