-- A health check that always finds a fault: the integration tests' failing check.
return runbook {
  name = "check_fail",
  params = { target = { type = "selector", default = "all" } },
  run = function(p) fail("BGP did not come back on " .. p.target) end,
}
