-- Back up the running configuration of every selected device and verify each copy:
-- it must be a whole configuration (its hostname line and its end), and it is compared with
-- the previous backup of the same device, kept in this runbook's store.
return runbook {
  name = "config_backup",
  description = "back up running configs, verify them, and report what changed since the last backup",
  params = {
    target = { type = "selector", default = "all", description = "which devices" },
    max = { type = "int", default = 20, description = "devices at once" },
  },
  run = function(p)
    local devices = inventory.select(p.target)
    local results, failures = parallel(devices, function(d)
      local config = d:config()
      local hostname = re.match(config, "^(?:hostname|\\s*host-name)\\s+([^;\\s]+)")
      if not hostname then fail(d.name .. ": the backup has no hostname line; not a whole configuration") end
      if not (re.test(config, "^end\\s*$") or d.platform == "juniper_junos") then
        fail(d.name .. ": the backup ends early (no 'end' line)")
      end
      local previous = store.get("backup/" .. d.name)
      local changed = previous ~= nil and previous.config ~= config
      store.put("backup/" .. d.name, { config = config, bytes = #config, run = context.id })
      return { device = d.name, bytes = #config, hostname = hostname, changed = changed,
               first = previous == nil }
    end, { max = p.max })
    local saved, changed = 0, {}
    for _, r in pairs(results) do
      saved = saved + 1
      if r.changed then changed[#changed + 1] = r.device end
    end
    table.sort(changed)
    for _, f in ipairs(failures) do log.warn("%s: %s", f.item.name, f.error) end
    log.info("backed up %d of %d devices; %d changed since the last backup", saved, #devices, #changed)
    local failed = {}
    for _, f in ipairs(failures) do failed[#failed + 1] = f.item.name end
    return { saved = saved, selected = #devices, changed = changed, failed = failed }
  end,
}
