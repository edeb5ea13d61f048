#pragma once
// Device scopes: a caller whose roles limit the devices it may act on ("site=dc1", issue 30)
// reaches a module with that selector as its request header's `scope`. A module that acts on
// the devices a selector picks (job.run, device.call, configs.push...) checks the selector
// against the scope before it starts anything: every device selected must be inside it, or the
// whole request is refused, naming the devices outside. An empty scope allows every device.
//
// Thread: the module's own (the answer comes through Context::request).

#include <functional>
#include <optional>
#include <string>

#include "nauto/base/result.h"
#include "nauto/bus/envelope.h"
#include "nauto/sdk/module.h"

namespace nauto {

class Context;

/// Asks the inventory for the devices `target` selects outside `scope` (the request header's);
/// `then` gets ok() when there are none (at once, without a request, for an empty scope), else
/// Errc::PermissionDenied naming `who` (the header's principal), the scope and up to ten
/// devices outside it.
void check_device_scope(Context& ctx, std::string who, std::string scope, const std::string& target,
                        std::function<void(Result<void>)> then);

/// A request served only inside its caller's scope: `serve` runs at once when `target` is
/// nullopt (the request acts on no device) or the request has no scope, later when every
/// device `target` selects is inside the scope; otherwise `reply` fails with the refusal.
/// The request is copied for `serve`.
void serve_in_scope(Context& ctx, const bus::Envelope& request,
                    const std::optional<std::string>& target, Reply reply,
                    std::function<void(const bus::Envelope&, Reply)> serve);

/// The selector of the devices `target` picks outside `scope`.
std::string outside_scope_selector(const std::string& target, const std::string& scope);

}  // namespace nauto
