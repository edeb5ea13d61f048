-- Audit device configurations for common weaknesses: telnet allowed on the VTY lines, SNMP
-- communities that are well known, no AAA, passwords stored in clear text. Read-only.
local checks = {
  { id = "telnet", severity = "high", what = "telnet is allowed on the VTY lines",
    test = function(config)
      for _, block in ipairs(sections(config, "^line vty")) do
        local inputs = re.find_all(block, "^\\s+transport input (.+)$")
        if #inputs == 0 then return true end  -- the default on older IOS lets telnet in
        for _, input in ipairs(inputs) do
          if re.test(input, "\\b(telnet|all)\\b") then return true end
        end
      end
      return false
    end },
  { id = "weak_snmp", severity = "high", what = "a well-known SNMP community (public/private)",
    test = function(config)
      return re.test(config, "^snmp-server community (public|private)\\b")
    end },
  { id = "no_aaa", severity = "medium", what = "AAA is not enabled (no aaa new-model)",
    test = function(config)
      return not re.test(config, "^aaa new-model\\s*$")
    end },
  { id = "clear_passwords", severity = "low", what = "passwords are kept in clear text",
    test = function(config)
      return re.test(config, "^no service password-encryption")
    end },
}

return runbook {
  name = "security_audit",
  description = "find telnet, weak SNMP communities, missing AAA and clear-text passwords",
  params = {
    target = { type = "selector", default = "platform=cisco_ios", description = "which devices" },
    fail_on = { type = "string", default = "none", description = "fail the run on findings of: high, medium, low, none" },
  },
  run = function(p)
    local rank = { high = 3, medium = 2, low = 1, none = 99 }
    if rank[p.fail_on] == nil then fail("fail_on must be high, medium, low or none") end
    local devices = inventory.select(p.target)
    local reports, failures = parallel(devices, function(d)
      local config = d:config()
      local found = {}
      for _, check in ipairs(checks) do
        if check.test(config) then
          found[#found + 1] = { id = check.id, severity = check.severity, what = check.what }
        end
      end
      return { device = d.name, findings = found }
    end, { max = 20 })
    local by_check, worst = {}, 0
    for _, r in pairs(reports) do
      for _, f in ipairs(r.findings) do
        by_check[f.id] = by_check[f.id] or {}
        table.insert(by_check[f.id], r.device)
        worst = math.max(worst, rank[f.severity])
        log.warn("%s: %s (%s)", r.device, f.what, f.severity)
      end
    end
    for _, list in pairs(by_check) do table.sort(list) end
    local unreachable = {}
    for _, f in ipairs(failures) do unreachable[#unreachable + 1] = f.item.name end
    local summary = { audited = #devices - #failures, findings = by_check, unreachable = unreachable }
    if worst >= rank[p.fail_on] then
      store.put("last_failed_audit", summary)
      fail("findings at or above '" .. p.fail_on .. "': " .. json.encode(by_check))
    end
    return summary
  end,
}
