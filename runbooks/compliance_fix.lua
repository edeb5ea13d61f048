-- compliance_fix: a compliance rule's remediation lines applied to the devices that fail it,
-- each device's diff shown to the approvers first and pushed only if the device would still get
-- exactly that diff. Started by `nauto compliance fix --rule ID` (docs/compliance.md); under
-- `--dry-run` every push computes its diff and changes nothing.
return runbook {
  name = "compliance_fix",
  description = "apply a compliance rule's remediation lines, each device's diff approved first",
  params = {
    devices = { type = "list", required = true, description = "the devices that fail the rule" },
    lines = { type = "string", required = true, description = "the remediation's config lines" },
    rule = { type = "string", required = true, description = "policy/rule, shown to the approvers" },
    approvers = { type = "list", description = "who may approve (none given: anyone)" },
  },
  run = function(p)
    local changed, unchanged = {}, {}
    for _, name in ipairs(p.devices) do
      local result = device(name):push(p.lines, { approval = {
        message = "compliance fix " .. p.rule .. " on " .. name, approvers = p.approvers or {} } })
      if result.changed then changed[#changed + 1] = name else unchanged[#unchanged + 1] = name end
      log.info("%s: %s", name, result.changed and "fixed" or "nothing to change")
    end
    return { changed = changed, unchanged = unchanged }
  end,
}
