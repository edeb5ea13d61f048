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
#include <string_view>

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

/// Work someone started (a run, a job, a rollout) that a caller asks to stop, pause or resume.
struct StartedWork {
  std::string_view kind;  ///< "run", "job", "rollout": the refusal says "only the runs it started"
  std::string id;
  std::string owner;  ///< the principal that started it
};

/// A caller limited to some devices cannot tell whether another's work stays inside them: it
/// may stop, pause or resume only the work it started. ok() when the header has no scope or the
/// caller (caller_of) is the owner; else Errc::PermissionDenied, e.g. "'dave' is limited to the
/// devices 'site=dc1' and may cancel only the runs it started; run r1 was started by 'root'".
Result<void> check_own_work(const bus::Header& header, std::string_view action,
                            const StartedWork& work, const std::string& service);

/// The selector of the devices `target` picks outside `scope`.
std::string outside_scope_selector(const std::string& target, const std::string& scope);

}  // namespace nauto
