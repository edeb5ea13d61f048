#pragma once
// The client's private keys, parsed once per file and shared by every session that logs in with
// them. Reading and decoding a key file (an OpenSSH or PEM file, base64, maybe a passphrase's
// KDF) cost every session as much as a fifth of its client CPU on a fleet job; a fleet usually
// logs in with one or two keys. A file that changes (inode, size, mtime or ctime) is read again, so
// a rotated key, or one whose permissions were taken away, is seen by the next session.
//
// Thread-safe: any thread may call private_key(). A key is immutable once loaded, and libssh
// only reads it to sign (ssh_userauth_publickey takes a const key), so sessions on several
// threads share one.

#include <libssh/libssh.h>

#include <memory>
#include <string>
#include <type_traits>

namespace nauto::drivers::ssh {

using SharedKey = std::shared_ptr<std::remove_pointer_t<ssh_key>>;

/// The key in `path` (decrypted with `passphrase`, empty for none); null when the file is
/// missing, unreadable or the passphrase is wrong. The answer for a file that failed is not
/// kept: a file fixed later loads on the next call.
SharedKey private_key(const std::string& path, const std::string& passphrase);

}  // namespace nauto::drivers::ssh
