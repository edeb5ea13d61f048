// What a worker and the control node read from Redis: work items and results. The signature
// and MAC are checked before any parsing, so the fuzzer signs what it feeds with a key of its
// own (made once in a temporary directory) to reach the parsers behind them; the same bytes
// are also read as a Redis URL (the workers' --redis flag).
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>

#include "fuzz_input.h"
#include "nauto/base/digest.h"
#include "redis_connection.h"
#include "work_item.h"

using namespace nauto;
using namespace nauto::devices;

namespace {

const SigningKey& key() {
  static const std::unique_ptr<SigningKey> made = [] {
    char dir[] = "/tmp/nauto-fuzz-work-XXXXXX";
    const std::string path = std::string(::mkdtemp(dir)) + "/key";
    auto opened = SigningKey::open_or_create(path, "the fuzzer's key");
    std::filesystem::remove_all(dir);
    if (!opened) std::abort();
    return std::make_unique<SigningKey>(std::move(*opened));
  }();
  return *made;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto input = std::string(nauto::fuzz::text_of(data, size));
  (void)open_item({input, key().sign(input)}, key().public_key());
  (void)open_item({input, ""}, key().public_key());
  (void)open_result({input, hmac_sha256_hex(worker_result_key(key(), "w"), input)}, key());
  auto document = nlohmann::json::parse(input, nullptr, false);
  if (document.is_object() && document.contains("worker") && document["worker"].is_string()) {
    const auto worker = document["worker"].get<std::string>();
    (void)open_result({input, hmac_sha256_hex(worker_result_key(key(), worker), input)}, key());
  }
  (void)parse_redis_url(input);
  return 0;
}
