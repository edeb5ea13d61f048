-- Saved from `nauto shell` by root on 2026-12-02 22:37 UTC.
return runbook {
  name = "shell_saved",
  description = "saved from nauto shell",
  run = function(params)
    r1 = device("ios1")
    print(r1:run("sh ip bgp summary "))
    print(inventory.select("role=leaf"))
    function name_of(d)
      return d:facts().hostname
    end
    print(name_of(r1))
    print(20 + 22)
    print(name_of(device("ios2")))
    print(r1:run("show running-config"))
  end,
}
