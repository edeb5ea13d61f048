#pragma once
// ConfigCodec: zstd compression of config texts, whole or as a delta against an earlier text
// (the earlier text is zstd's prefix, so the frame holds little more than the changed lines).
// The archive keeps most versions as deltas against the version before: thirty versions of a
// 20 KB config cost about one compressed config, not thirty.
//
// Not thread-safe: it owns zstd contexts. One per thread (the archive keeps one thread_local).

#include <memory>
#include <string>
#include <string_view>

#include "nauto/base/result.h"

namespace nauto::configs {

class ConfigCodec {
 public:
  ConfigCodec();
  ~ConfigCodec();
  ConfigCodec(const ConfigCodec&) = delete;
  ConfigCodec& operator=(const ConfigCodec&) = delete;

  /// A zstd frame of `text`; with `base` non-empty, one that needs `base` to be decompressed.
  /// Errors: Errc::Library (zstd's message).
  Result<std::string> compress(std::string_view text, std::string_view base);
  /// The text of a frame made by compress() with the same `base`; `size` is the text's length.
  /// Errors: Errc::Malformed when the frame does not decompress to `size` bytes.
  Result<std::string> decompress(std::string_view frame, std::string_view base, std::size_t size);

 private:
  struct Contexts;
  std::unique_ptr<Contexts> contexts_;
};

}  // namespace nauto::configs
