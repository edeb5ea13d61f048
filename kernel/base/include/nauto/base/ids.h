#pragma once
// Message and request ids: unique across processes without coordination.

#include <string>

namespace nauto {

/// A fresh id: 64 random bits fixed per thread plus a per-thread counter, as 24 hex digits.
/// Thread-safe (each thread has its own state); collisions need a 64-bit random clash.
std::string new_id();

}  // namespace nauto
