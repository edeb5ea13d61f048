// Body decoding: msgpack into a document, then into declared types and against the schema.
#include "fuzz_input.h"
#include "nauto/bus/body.h"
#include "nauto/bus/schema.h"
#include "nauto/bus/schema_types.h"

using namespace nauto;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto input = fuzz::text_of(data, size);
  auto document = bus::from_body(input);
  if (!document) return 0;
  (void)bus::schema::decode_body<bus::schema::DeviceCallRequest>(input);
  (void)bus::schema::decode_body<bus::schema::RunStartRequest>(input);
  for (const auto* message : bus::schema::requests())
    (void)bus::schema::check(*message, *document);
  (void)bus::to_body(*document);
  return 0;
}
