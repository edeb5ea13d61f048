#pragma once
// Principals: who is behind a bus connection, from what the kernel itself verified about it,
// never from what the peer says (issue 30).
//   - ipc: the peer's uid, gid and pid, which the Linux kernel gave ZeroMQ (SO_PEERCRED) when
//     the connection was made; ZeroMQ hands them on with every message as its "Peer-Address"
//     property. The uid is mapped through `auth.users` (a uid or user name, or a unix group) to a
//     principal name and roles.
//   - tcp: the client's CURVE public key, which the router's ZAP handler checked; mapped through
//     `auth.users` entries with a `key`.
//   - in-process (inproc): code inside nautod. A module's connection (its routing id is
//     "<name>#<random>" for a module nautod runs in-process) is `module:<name>`; any other
//     in-process peer (a passive kernel's own CLI) is nautod's own unix user.
//   - a module nautod runs as a child process (`isolation: process`) connects over ipc as
//     nautod's own uid with the routing id "<name>#<random>": it is `module:<name>` too. Any
//     process of nautod's uid could claim that, but such a process can read the store and the
//     vault key anyway.
// nautod's own unix user and root are `admin` unless an entry says otherwise: they can read the
// store and the vault key anyway. A unix user no entry names gets `auth.default_roles` (none by
// default) under its login name.
//
// Thread: the router's. Group memberships are looked up (NSS) once per uid and kept for a
// minute, so a change reaches a connected user within that time.

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nauto/base/result.h"
#include "roles.h"

namespace nauto::kernel {

/// One `auth.users` entry: what it matches (exactly one of uid, group or key) and what it gives.
struct AuthEntry {
  std::string name;                ///< the principal (for a group: the members keep their own)
  std::optional<uid_t> uid;        ///< `uid: 1001` or `user: alice`
  std::optional<gid_t> gid;        ///< `group: netops`: every member of that unix group
  std::string key;                 ///< `key: <Z85 CURVE public key>`: a tcp client
  std::vector<std::string> roles;  ///< builtin (viewer operator approver admin) or custom
};

struct AuthOptions {
  std::vector<AuthEntry> users;
  std::vector<std::string> default_roles;  ///< for a unix user no entry names
  /// The builtin roles and `auth.roles` (roles.h).
  std::map<std::string, RoleDefinition, std::less<>> roles = default_roles_map();

  static std::map<std::string, RoleDefinition, std::less<>> default_roles_map();
};

/// Reads the `auth:` section (null: none). Every problem is named by its key path.
Result<AuthOptions> read_auth_options(const nlohmann::json& section);

/// How a peer reached the router, and what the kernel knows of it.
struct PeerCredentials {
  enum class Via : std::uint8_t { InProcess, Ipc, Tcp };
  Via via = Via::InProcess;
  uid_t uid = 0;
  gid_t gid = 0;
  pid_t pid = 0;
  std::string curve_key;  ///< tcp: the Z85 public key the ZAP handler accepted
};

std::string_view via_name(PeerCredentials::Via via) noexcept;

/// ZeroMQ's Peer-Address of an ipc connection, "<address>:<uid>:<gid>:<pid>"; nullopt when it
/// does not end in three numbers (a libzmq built without SO_PEERCRED).
std::optional<PeerCredentials> parse_ipc_peer_address(std::string_view address);

/// Who a verified caller is.
struct Identity {
  std::string principal;
  std::vector<std::string> roles;
  /// A module nautod runs (module:<name>): in-process, or its own child over ipc. Trusted like
  /// nautod itself: roles do not limit it, and the scope it passes on is kept.
  bool module = false;
  /// A user a module acts for (bus::Header::acting_for): that module's principal
  /// (module:api), which shows as the request's `via`; empty for a caller the kernel verified.
  std::string delegate;
};

/// The user a module acts for: `acting_for` with the roles the module found for it
/// (comma-separated, as bus::Header::roles). Unknown role names grant nothing.
Identity delegated_identity(const Identity& module, std::string_view acting_for,
                            std::string_view roles);

class PrincipalMap {
 public:
  /// `own_uid`: the uid nautod runs as; `in_process_modules`: the modules it runs in-process;
  /// `child_modules`: those it runs as child processes (`isolation: process`), which connect
  /// over ipc as `own_uid` with routing ids "<name>#<random>".
  PrincipalMap(AuthOptions options, uid_t own_uid, std::vector<std::string> in_process_modules,
               std::vector<std::string> child_modules = {});

  /// Who is behind a connection; `routing_id` matters only in-process ("<module>#..."). The
  /// reference is valid until the next call.
  const Identity& resolve(const PeerCredentials& peer, std::string_view routing_id);

 private:
  Identity unix_identity(uid_t uid, gid_t gid) const;
  Identity key_identity(std::string_view key) const;

  AuthOptions options_;
  uid_t own_uid_;
  std::vector<std::string> in_process_modules_;
  struct Cached {
    Identity identity;
    std::int64_t until_us = 0;
  };
  std::map<std::uint64_t, Cached> by_unix_;  // uid << 32 | gid
  std::map<std::string, Identity, std::less<>> by_key_;
  std::map<std::string, Identity, std::less<>> by_module_;
  std::map<std::string, Identity, std::less<>> by_child_;  // over ipc, from own_uid_ only
  Identity own_;  // nautod's own unix user, for in-process peers that are not modules
};

}  // namespace nauto::kernel
