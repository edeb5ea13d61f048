#include "config_codec.h"

#include <zstd.h>

namespace nauto::configs {

namespace {
// Level 6: a keyframe of a 20 KB config compresses ~10% smaller than at the default 3, still in
// well under a millisecond; a delta is a few hundred bytes at any level.
constexpr int kLevel = 6;
}  // namespace

struct ConfigCodec::Contexts {
  ZSTD_CCtx* compress = ZSTD_createCCtx();
  ZSTD_DCtx* decompress = ZSTD_createDCtx();
  ~Contexts() {
    ZSTD_freeCCtx(compress);
    ZSTD_freeDCtx(decompress);
  }
};

ConfigCodec::ConfigCodec() : contexts_(std::make_unique<Contexts>()) {}
ConfigCodec::~ConfigCodec() = default;

Result<std::string> ConfigCodec::compress(std::string_view text, std::string_view base) {
  auto* cctx = contexts_->compress;
  ZSTD_CCtx_reset(cctx, ZSTD_reset_session_and_parameters);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, kLevel);
  // The frame says its size, so decompress() can check it.
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 1);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
  if (!base.empty()) {
    if (auto refd = ZSTD_CCtx_refPrefix(cctx, base.data(), base.size()); ZSTD_isError(refd))
      return fail(Errc::Library, std::string("zstd: ") + ZSTD_getErrorName(refd));
  }
  std::string frame(ZSTD_compressBound(text.size()), '\0');
  const auto written = ZSTD_compress2(cctx, frame.data(), frame.size(), text.data(), text.size());
  if (ZSTD_isError(written))
    return fail(Errc::Library, std::string("zstd: ") + ZSTD_getErrorName(written));
  frame.resize(written);
  return frame;
}

Result<std::string> ConfigCodec::decompress(std::string_view frame, std::string_view base,
                                            std::size_t size) {
  auto* dctx = contexts_->decompress;
  ZSTD_DCtx_reset(dctx, ZSTD_reset_session_and_parameters);
  if (!base.empty()) {
    if (auto refd = ZSTD_DCtx_refPrefix(dctx, base.data(), base.size()); ZSTD_isError(refd))
      return fail(Errc::Library, std::string("zstd: ") + ZSTD_getErrorName(refd));
  }
  std::string text(size, '\0');
  const auto read = ZSTD_decompressDCtx(dctx, text.data(), text.size(), frame.data(), frame.size());
  if (ZSTD_isError(read) || read != size) {
    return fail(Errc::Malformed, std::string("an archived config does not decompress: ") +
                                     (ZSTD_isError(read) ? ZSTD_getErrorName(read) : "wrong size"));
  }
  return text;
}

}  // namespace nauto::configs
