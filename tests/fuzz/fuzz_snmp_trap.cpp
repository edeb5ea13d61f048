// The SNMP trap decoder (BER from the network, through net-snmp).
#include "fuzz_input.h"
#include "trap_decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  (void)nauto::snmp_trap::decode_trap(nauto::fuzz::text_of(data, size));
  return 0;
}
