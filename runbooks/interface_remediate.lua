-- Brings back an interface that was shut by hand (the rule in runbooks/rules/ fires on the
-- device's "administratively down" syslog). Checks first, asks for approval with the exact
-- diff, applies `no shutdown`, and verifies that the interface came back; the result says what
-- happened, so the rule's run record is the remediation's outcome.
return runbook {
  name = "interface_remediate",
  description = "no shutdown on an interface shut by hand: check, approve the diff, apply, verify",
  params = {
    device = { type = "device", required = true },
    interface = { type = "string", required = true },
    approvers = { type = "list", default = "", description = "who may approve (empty: anyone)" },
    approval_timeout = { type = "int", default = 1800, description = "seconds to wait" },
    verify_attempts = { type = "int", default = 10 },
  },
  run = function(p)
    local d = device(p.device)
    local function state_of(interface)
      local brief = d:run("show ip interface brief")
      for _, line in ipairs(lines(brief)) do
        local name, rest = line:match("^(%S+)%s+%S+%s+%S+%s+%S+%s+(.-)%s*$")
        if name == interface then
          if rest:match("^administratively down") then return "admin-down" end
          local status, protocol = rest:match("^(%S+)%s+(%S+)$")
          return status == "up" and protocol == "up" and "up" or "down"
        end
      end
      fail(p.device .. " has no interface " .. interface)
    end

    local before = step("check", function() return state_of(p.interface) end)
    if before ~= "admin-down" then
      log.info("%s %s is %s: nothing to do", p.device, p.interface, before)
      return { device = p.device, interface = p.interface, action = "none", state = before }
    end

    local approvers = {}
    for _, name in ipairs(p.approvers) do if name ~= "" then approvers[#approvers + 1] = name end end
    local pushed = step("no shutdown", function()
      return d:push({ "interface " .. p.interface, " no shutdown" }, { approval = {
        message = p.device .. " " .. p.interface .. " is administratively down; bring it up?",
        approvers = approvers, timeout = p.approval_timeout } })
    end)

    local after = step("verify", function()
      return retry(function()
        local now = state_of(p.interface)
        if now ~= "up" then error(p.interface .. " is still " .. now) end
        return now
      end, { attempts = p.verify_attempts, delay = 0.5, backoff = 1.5 })
    end)
    log.info("%s %s is up again (approved by %s)", p.device, p.interface, pushed.approved_by or "?")
    return { device = p.device, interface = p.interface, action = "no shutdown", state = after,
             approved_by = pushed.approved_by, diff = pushed.diff }
  end,
}
