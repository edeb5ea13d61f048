#pragma once
// platform_regex: a platform's regular expressions compiled once per process, not once per
// session. Compiling one (PCRE2 plus its JIT) costs tens of microseconds, and a CLI session
// used a dozen (error patterns, pager, confirmations, prompts, password), so a fleet job spent
// a fifth of its per-device CPU compiling the same patterns again for every device.
//
// The set is bounded by the platform definitions loaded (built-in and $NAUTO_PLATFORM_DIR):
// per-device text (a learned hostname) never goes in; prompts are compiled with the host as a
// capture (host_prompt_pattern) and the capture compared.
// Thread-safe; the regexes live until the process ends.

#include <string>
#include <string_view>
#include <vector>

#include "nauto/text/regex.h"

namespace nauto::drivers {

/// The compiled `pattern` (Python syntax, as platform files write it); nullptr when it does not
/// compile (platform loading rejects such a file, so only a hand-built definition gets here).
const text::Regex* platform_regex(const std::string& pattern,
                                  text::Regex::Anchor anchor = text::Regex::Anchor::Anywhere);

/// platform_regex() of each pattern of a platform's list, leaving out those that do not compile.
std::vector<const text::Regex*> platform_regexes(const std::vector<std::string>& patterns);

/// The capture group name host_prompt_pattern() gives the hostname.
inline constexpr std::string_view kHostGroup = "nauto_host";

/// A prompt pattern with `{host}` made a capture (?P<nauto_host>...) (later ones a back
/// reference), so one compiled pattern serves every device of the platform.
std::string host_prompt_pattern(std::string_view pattern);

}  // namespace nauto::drivers
