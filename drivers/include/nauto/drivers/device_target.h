#pragma once
// DeviceTarget: everything a driver needs to reach one device — address, platform, transport,
// credentials, trust settings and timeouts. Plain data; built from inventory by the caller.

#include <cstdint>
#include <optional>
#include <string>

namespace nauto::drivers {

/// Login material. Never logged: describe() of any error built from a target omits all of it.
struct Credentials {
  std::string username;
  std::string password;          ///< password auth, and the answer to keyboard-interactive
  std::string enable_secret;     ///< CLI `enable`; empty when the login lands privileged
  std::string private_key_file;  ///< ed25519 or RSA, OpenSSH or PEM format
  std::string key_passphrase;
  std::string api_key;  ///< REST APIs that take a key header (Meraki)
};

/// How an SSH server's host key is checked against `known_hosts`.
enum class HostKeyPolicy {
  Strict,     ///< the key must already be in known_hosts
  AcceptNew,  ///< unknown hosts are recorded; a changed key is still refused
  Off,        ///< no check at all; logged as a warning on every connect
};

/// A host to hop through (OpenSSH's ProxyJump); it is checked with the same policy.
struct JumpHost {
  std::string host;
  int port = 22;
  Credentials credentials;
};

/// How HTTPS peers are trusted. Verification is on unless switched off explicitly.
struct TlsOptions {
  bool verify = true;
  std::string ca_file;     ///< a PEM bundle to trust instead of the system store
  std::string pin_sha256;  ///< base64 SHA-256 of the server's public key, as curl's --pinnedpubkey
};

/// Layered timeouts, in milliseconds. Idle resets whenever bytes arrive, so a long but live
/// output never times out while a silent device does; total bounds the whole operation.
struct Timeouts {
  std::int64_t connect_ms = 10'000;
  std::int64_t idle_ms = 30'000;
  std::int64_t total_ms = 120'000;
};

/// One device as drivers see it.
struct DeviceTarget {
  std::string name;  ///< inventory name; every error names it
  std::string host = "127.0.0.1";
  int port = 22;
  std::string platform;   ///< cisco_ios, arista_eos, juniper_junos, frr, linux, meraki, ...
  std::string transport;  ///< empty = the platform's default (ssh, eapi, nxapi, netconf, rest)
  int api_port = 0;       ///< HTTPS port for eAPI / NX-API; 0 = 443
  std::string url;        ///< REST base URL (Meraki), e.g. https://api.meraki.com/api/v1
  std::string serial;     ///< REST device id (Meraki serial)
  Credentials credentials;
  HostKeyPolicy host_key_policy = HostKeyPolicy::Strict;
  std::string known_hosts;  ///< empty = ~/.ssh/known_hosts
  std::optional<JumpHost> jump;
  TlsOptions tls;
  std::optional<Timeouts> timeouts;  ///< unset = the platform's defaults
  int keepalive_seconds = 30;        ///< idle pooled sessions are probed this often
};

}  // namespace nauto::drivers
