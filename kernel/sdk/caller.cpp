#include "nauto/sdk/caller.h"

#include "nauto/bus/body.h"

namespace nauto {

std::string caller_of(const bus::Header& header) {
  return header.principal.empty() ? header.source : header.principal;
}

bool acts_for_others(const bus::Header& header) {
  return header.principal.empty() || header.principal.rfind("module:", 0) == 0;
}

void attribute_body(bus::Envelope& request) {
  if (acts_for_others(request.header)) return;
  auto body = bus::from_body(request.body);
  if (!body || !body->is_object()) return;
  const auto by = body->find("by");
  if (by == body->end() || *by == request.header.principal) return;
  *by = request.header.principal;
  request.body = bus::to_body(*body);
}

}  // namespace nauto
