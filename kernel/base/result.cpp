#include "nauto/base/result.h"

#include <array>

namespace nauto {
namespace {
constexpr std::array<std::pair<Errc, std::string_view>, 19> kNames{{
    {Errc::InvalidArgument, "invalid_argument"},
    {Errc::InvalidConfig, "invalid_config"},
    {Errc::Malformed, "malformed"},
    {Errc::NotFound, "not_found"},
    {Errc::Unavailable, "unavailable"},
    {Errc::Timeout, "timeout"},
    {Errc::Overloaded, "overloaded"},
    {Errc::ResourceExhausted, "resource_exhausted"},
    {Errc::System, "system"},
    {Errc::Library, "library"},
    {Errc::Unsupported, "unsupported"},
    {Errc::Cancelled, "cancelled"},
    {Errc::Unreachable, "unreachable"},
    {Errc::Unauthenticated, "unauthenticated"},
    {Errc::Untrusted, "untrusted"},
    {Errc::Rejected, "rejected"},
    {Errc::Conflict, "conflict"},
    {Errc::Bug, "bug"},
    {Errc::PermissionDenied, "permission_denied"},
}};
}  // namespace

std::string_view errc_name(Errc code) noexcept {
  for (const auto& [c, name] : kNames) {
    if (c == code) return name;
  }
  return "bug";
}

Errc errc_from_name(std::string_view name) noexcept {
  for (const auto& [c, n] : kNames) {
    if (n == name) return c;
  }
  return Errc::Bug;
}

std::string Error::describe() const {
  if (where.empty()) return message;
  return where + ": " + message;
}

}  // namespace nauto
