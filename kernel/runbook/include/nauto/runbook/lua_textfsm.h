#pragma once
// The `textfsm` table of the runbook API (and `d:run(cmd, {parse = "textfsm"})`, which uses it):
//   textfsm.parse(template, text)             template: a file name in the template directory
//                                             or the template's text; -> list of records
//   textfsm.parse_command(platform, command, text)   the index picks the template(s)
// Records are tables keyed by the lower-cased Value names; List values are arrays. The list's
// metatable has `__columns`: those names in the template's order (for display).
#include <memory>

#include "nauto/text/textfsm/template_library.h"

struct lua_State;

namespace nauto::runbook {

/// The template directory (an ntc-templates style `index` and *.textfsm files) that runbooks
/// of this process parse with; nullptr when none is configured. One per process because it is
/// configuration of nautod (modules.runbooks.textfsm_templates), like the runbook directories.
void set_textfsm_templates(std::shared_ptr<textfsm::TemplateLibrary> library);

/// Installs the `textfsm` table.
void open_textfsm(lua_State* L);

}  // namespace nauto::runbook
