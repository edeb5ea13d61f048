#pragma once
// Who asked for a request, as a module should read it (issue 30): the principal the router
// verified and stamped into the header, never a name in the body. A module acting for someone
// (the runbooks engine for a run's starter, a dashboard for its user) may name that person in
// the body's `by`; a user's `by` is always the user itself.
//
// Any thread; pure functions of the request.

#include <string>

#include "nauto/bus/envelope.h"

namespace nauto {

/// The header's principal; for a request that did not cross the router (a test driving a
/// module directly) its source.
std::string caller_of(const bus::Header& header);

/// Whether the caller may name whom it acts for: a module (`module:<name>`), or a request that
/// did not cross the router.
bool acts_for_others(const bus::Header& header);

/// For a user's request whose body names someone in `by`: the body with `by` replaced by the
/// caller, so records name who asked. Other requests are left as they are.
void attribute_body(bus::Envelope& request);

}  // namespace nauto
