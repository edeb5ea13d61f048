-- A health check for the integration tests' pushes and rollouts: reads every device of its
-- target, so it passes only when they all still answer.
return runbook {
  name = "check_pass",
  params = { target = { type = "selector", default = "all" } },
  run = function(p)
    for _, d in ipairs(inventory.select(p.target)) do d:run("show version") end
    return { checked = true }
  end,
}
