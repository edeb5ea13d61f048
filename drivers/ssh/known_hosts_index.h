#pragma once
// KnownHostsIndex: a known_hosts file read once and looked up by "[host]:port", instead of
// libssh reading and parsing the whole file for every session. With one entry per device the
// file grows with the fleet, so libssh's per-session parse cost O(fleet) each: 0.28 ms of CPU
// per session at 1,000 devices, about 3 ms at 10,000 (tests/bench/jobs_bench.cpp).
//
// The index covers OpenSSH's plain form only: `host[,host...] keytype base64 [comment]`, where
// a host is `name` (port 22) or `[name]:port`. A file with anything else (hashed names,
// wildcards or negations, @cert-authority/@revoked markers) is not indexed, and the caller
// falls back to libssh's own check, so no entry is ever misread. A file that changes (its
// size or mtime) is read again.
// Thread-safe: any thread may call lookup(); the parsed files are shared.

#include <string>

namespace nauto::drivers::ssh {

enum class KnownHostsAnswer {
  Match,      ///< an entry for the host has this key
  Changed,    ///< entries for the host have this key type, none with this key
  Other,      ///< entries for the host, only of other key types
  Unknown,    ///< no entry for the host
  NotIndexed  ///< the file could not be read or has forms the index leaves to libssh
};

/// Whether the file at `path` can be answered from the index (read and parsed now if needed).
bool known_hosts_indexable(const std::string& path);

/// Checks `key_type` + `key_base64` (the server's key, as ssh_pki_export_pubkey_base64 gives
/// it) for `host`:`port` against the known_hosts file at `path`.
KnownHostsAnswer lookup_known_host(const std::string& path, const std::string& host, int port,
                                   const std::string& key_type, const std::string& key_base64);

}  // namespace nauto::drivers::ssh
