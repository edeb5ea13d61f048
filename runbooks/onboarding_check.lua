-- Checks a newly connected device before it carries traffic: it answers, it says who it is,
-- its name matches the inventory, management is SSH only, it has a loopback address, and its
-- BGP sessions (if any) are established. Every check is reported; the run fails if any fails.
return runbook {
  name = "onboarding_check",
  description = "new-device checks: reachable, identity, SSH-only management, loopback, BGP up",
  params = {
    device = { type = "device", required = true, description = "the new device" },
  },
  run = function(p)
    local d = device(p.device)
    local results = {}
    local function check(name, ok, detail)
      results[#results + 1] = { check = name, ok = ok and true or false, detail = detail }
      if ok then log.info("%s: %s ok", p.device, name) else log.warn("%s: %s FAILED: %s", p.device, name, detail or "") end
    end
    local facts = step("facts", function() return d:facts() end)
    check("answers with facts", facts.os_version ~= nil and facts.os_version ~= "", facts.os_version)
    check("hostname matches the inventory", facts.hostname == p.device,
          "device says '" .. tostring(facts.hostname) .. "'")
    local config = step("running config", function() return d:config() end)
    local telnet = false
    for _, block in ipairs(sections(config, "^line vty")) do
      local inputs = re.find_all(block, "^\\s+transport input (.+)$")
      if #inputs == 0 then telnet = true end
      for _, input in ipairs(inputs) do
        if re.test(input, "\\b(telnet|all)\\b") then telnet = true end
      end
    end
    check("management is SSH only", not telnet, telnet and "telnet allowed on vty" or "ssh")
    local loopback = section(config, "^interface Loopback0")
    check("Loopback0 has an address", loopback ~= nil and re.test(loopback, "ip address \\d"),
          loopback and re.match(loopback, "ip address (\\S+)") or "no Loopback0")
    if re.test(config, "^router bgp") then
      local summary = step("bgp", function() return d:run("show ip bgp summary") end)
      local down = {}
      for _, row in ipairs(re.find_all(summary, "^(\\d+\\.\\d+\\.\\d+\\.\\d+)\\s+\\d+\\s+\\d+(?:\\s+\\S+){6}\\s+(\\S+)\\s*$")) do
        if not re.test(row[2], "^\\d+$") then down[#down + 1] = row[1] .. " " .. row[2] end
      end
      check("BGP sessions established", #down == 0, #down == 0 and "all up" or table.concat(down, ", "))
    end
    local failed = 0
    for _, r in ipairs(results) do if not r.ok then failed = failed + 1 end end
    if failed > 0 then fail(p.device .. ": " .. failed .. " onboarding check(s) failed: " .. json.encode(results)) end
    return results
  end,
}
