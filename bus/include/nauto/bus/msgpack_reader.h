#pragma once
// MsgpackReader: a bounds-checked, non-allocating msgpack reader for hot paths that look at a
// few values of a message and skip the rest — the router reads one envelope header per message,
// the rules module tests a few fields of every event body. msgpack-cxx's unpack (and a JSON
// document) allocate for every value; this reads in place.
// Reads booleans, integers, floats, strings and map heads, tells any value's type (peek), and
// skips any value whole. Every read checks the bytes left: a truncated or malformed input makes the
// read return false, never read past the end. A failed read leaves the position unspecified.

#include <cstdint>
#include <cstring>
#include <string_view>

namespace nauto::bus {

class MsgpackReader {
 public:
  explicit MsgpackReader(std::string_view bytes)
      : p_(reinterpret_cast<const std::uint8_t*>(bytes.data())), end_(p_ + bytes.size()) {}

  /// What the next value is, without consuming it.
  enum class Type { End, Nil, Boolean, Integer, Float, String, Binary, Array, Map, Extension };
  Type peek() const {
    if (p_ == end_) return Type::End;
    const auto tag = *p_;
    if (tag <= 0x7f || tag >= 0xe0 || (tag >= 0xcc && tag <= 0xd3)) return Type::Integer;
    if ((tag & 0xe0) == 0xa0 || tag == 0xd9 || tag == 0xda || tag == 0xdb) return Type::String;
    if ((tag & 0xf0) == 0x80 || tag == 0xde || tag == 0xdf) return Type::Map;
    if ((tag & 0xf0) == 0x90 || tag == 0xdc || tag == 0xdd) return Type::Array;
    if (tag == 0xc0) return Type::Nil;
    if (tag == 0xc2 || tag == 0xc3) return Type::Boolean;
    if (tag == 0xca || tag == 0xcb) return Type::Float;
    if (tag >= 0xc4 && tag <= 0xc6) return Type::Binary;
    return Type::Extension;  // 0xc7-0xc9, 0xd4-0xd8 (and the never-used 0xc1)
  }

  bool at_end() const { return p_ == end_; }
  /// Where the next value starts: with skip(), gives the bytes of one whole value.
  const char* position() const { return reinterpret_cast<const char*>(p_); }

  bool boolean(bool& out) {
    if (!have(1) || (*p_ != 0xc2 && *p_ != 0xc3)) return false;
    out = *p_++ == 0xc3;
    return true;
  }

  bool floating(double& out) {
    if (!have(1)) return false;
    const auto tag = *p_;
    if (tag == 0xca) {
      std::uint32_t bits = 0;
      if (!(++p_, big_endian(4, bits))) return false;
      float value = 0;
      std::memcpy(&value, &bits, sizeof value);
      out = value;
      return true;
    }
    if (tag == 0xcb) {
      std::uint64_t bits = 0;
      if (!(++p_, big_endian(8, bits))) return false;
      std::memcpy(&out, &bits, sizeof out);
      return true;
    }
    return false;
  }

  bool map_size(std::uint32_t& n) {
    if (!have(1)) return false;
    const auto tag = *p_;
    if ((tag & 0xf0) == 0x80) {
      ++p_;
      n = tag & 0x0f;
      return true;
    }
    if (tag == 0xde) return ++p_, big_endian(2, n);
    if (tag == 0xdf) return ++p_, big_endian(4, n);
    return false;
  }

  /// True if the next value is a string (without consuming it).
  bool next_is_string() const {
    if (!have(1)) return false;
    const auto tag = *p_;
    return (tag & 0xe0) == 0xa0 || tag == 0xd9 || tag == 0xda || tag == 0xdb;
  }

  bool string(std::string_view& out) {
    if (!have(1)) return false;
    const auto tag = *p_;
    std::uint32_t n = 0;
    if ((tag & 0xe0) == 0xa0) {
      ++p_;
      n = tag & 0x1f;
    } else if (tag == 0xd9 || tag == 0xda || tag == 0xdb) {
      ++p_;
      if (!big_endian(tag == 0xd9 ? 1 : tag == 0xda ? 2 : 4, n)) return false;
    } else {
      return false;
    }
    if (!have(n)) return false;
    out = std::string_view(reinterpret_cast<const char*>(p_), n);
    p_ += n;
    return true;
  }

  /// Reads any msgpack integer; false for other types or a uint64 above INT64_MAX.
  bool integer(std::int64_t& out) {
    if (!have(1)) return false;
    const auto tag = *p_;
    if (tag <= 0x7f) return ++p_, out = tag, true;
    if (tag >= 0xe0) return ++p_, out = static_cast<std::int8_t>(tag), true;
    std::uint32_t width = 0;
    bool is_signed = false;
    switch (tag) {
      case 0xcc:
        width = 1;
        break;
      case 0xcd:
        width = 2;
        break;
      case 0xce:
        width = 4;
        break;
      case 0xcf:
        width = 8;
        break;
      case 0xd0:
        width = 1, is_signed = true;
        break;
      case 0xd1:
        width = 2, is_signed = true;
        break;
      case 0xd2:
        width = 4, is_signed = true;
        break;
      case 0xd3:
        width = 8, is_signed = true;
        break;
      default:
        return false;
    }
    ++p_;
    std::uint64_t raw = 0;
    if (!big_endian(width, raw)) return false;
    if (is_signed) {
      const int shift = static_cast<int>(64 - 8 * width);
      out = static_cast<std::int64_t>(raw << shift) >> shift;  // sign-extend
      return true;
    }
    if (raw > static_cast<std::uint64_t>(INT64_MAX)) return false;
    out = static_cast<std::int64_t>(raw);
    return true;
  }

  /// Skips one value of any type, nested up to `depth` levels.
  bool skip(int depth = 4) {
    if (depth < 0 || !have(1)) return false;
    const auto tag = *p_;
    std::uint32_t n = 0;
    if (tag <= 0x7f || tag >= 0xe0 || tag == 0xc0 || tag == 0xc2 || tag == 0xc3) return ++p_, true;
    if ((tag & 0xe0) == 0xa0) return skip_bytes(1, tag & 0x1f);
    if ((tag & 0xf0) == 0x90) return ++p_, skip_items(tag & 0x0f, 1, depth);
    if ((tag & 0xf0) == 0x80) return ++p_, skip_items(tag & 0x0f, 2, depth);
    switch (tag) {
      case 0xcc:
      case 0xd0:
        return skip_bytes(1, 1);
      case 0xcd:
      case 0xd1:
        return skip_bytes(1, 2);
      case 0xce:
      case 0xd2:
      case 0xca:
        return skip_bytes(1, 4);
      case 0xcf:
      case 0xd3:
      case 0xcb:
        return skip_bytes(1, 8);
      case 0xd4:
        return skip_bytes(1, 2);
      case 0xd5:
        return skip_bytes(1, 3);
      case 0xd6:
        return skip_bytes(1, 5);
      case 0xd7:
        return skip_bytes(1, 9);
      case 0xd8:
        return skip_bytes(1, 17);
      case 0xc4:
      case 0xd9:
        return ++p_, big_endian(1, n) && skip_bytes(0, n);
      case 0xc5:
      case 0xda:
        return ++p_, big_endian(2, n) && skip_bytes(0, n);
      case 0xc6:
      case 0xdb:
        return ++p_, big_endian(4, n) && skip_bytes(0, n);
      case 0xc7:
        return ++p_, big_endian(1, n) && skip_bytes(0, n + 1);
      case 0xc8:
        return ++p_, big_endian(2, n) && skip_bytes(0, n + 1);
      case 0xc9:
        return ++p_, big_endian(4, n) && skip_bytes(0, n + 1);
      case 0xdc:
        return ++p_, big_endian(2, n) && skip_items(n, 1, depth);
      case 0xdd:
        return ++p_, big_endian(4, n) && skip_items(n, 1, depth);
      case 0xde:
        return ++p_, big_endian(2, n) && skip_items(n, 2, depth);
      case 0xdf:
        return ++p_, big_endian(4, n) && skip_items(n, 2, depth);
      default:
        return false;  // 0xc1 is never used
    }
  }

 private:
  bool have(std::uint64_t n) const { return static_cast<std::uint64_t>(end_ - p_) >= n; }

  template <typename T>
  bool big_endian(std::uint32_t width, T& out) {
    if (!have(width)) return false;
    std::uint64_t v = 0;
    for (std::uint32_t i = 0; i < width; ++i)
      v = (v << 8) | p_[i];
    p_ += width;
    out = static_cast<T>(v);
    return true;
  }

  bool skip_bytes(std::uint32_t tag_bytes, std::uint64_t n) {
    if (!have(tag_bytes + n)) return false;
    p_ += tag_bytes + n;
    return true;
  }

  bool skip_items(std::uint64_t count, int per_item, int depth) {
    // Each item takes at least one byte, so a count larger than what is left is malformed.
    if (!have(count * static_cast<std::uint64_t>(per_item))) return false;
    for (std::uint64_t i = 0; i < count * static_cast<std::uint64_t>(per_item); ++i) {
      if (!skip(depth - 1)) return false;
    }
    return true;
  }

  const std::uint8_t* p_;
  const std::uint8_t* end_;
};

}  // namespace nauto::bus
