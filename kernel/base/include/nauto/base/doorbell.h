#pragma once
// Doorbell: how a worker thread wakes a module's thread without a timer. An eventfd that any
// thread may ring; the owner watches fd() (Context::watch, poll, epoll) and drains it before it
// looks at whatever the ringer left behind (a queue under the ringer's own lock). Rings before
// a drain collapse into one wake-up, so a burst of results costs one pass, not one per result.
//
// Invariants: fd() is valid for the doorbell's life (construction throws std::system_error if
// the kernel has no eventfd left: a bug-class failure, like running out of threads).
// Thread-safety: ring() from any thread; drain() and fd() on the owner's thread. Move-only; a
// moved-from Doorbell owns no fd (fd() == -1) and may only be destroyed or assigned to.

namespace nauto {

class Doorbell {
 public:
  Doorbell();
  ~Doorbell();
  Doorbell(Doorbell&& other) noexcept;
  Doorbell& operator=(Doorbell&& other) noexcept;
  Doorbell(const Doorbell&) = delete;
  Doorbell& operator=(const Doorbell&) = delete;

  /// Wakes the owner. Never blocks: the counter saturates only after 2^64 - 2 unread rings.
  void ring() const noexcept;
  /// Clears pending rings; call before reading what they announce, so a ring that races the
  /// read wakes the owner again instead of being lost.
  void drain() const noexcept;
  /// Readable while a ring is pending (non-blocking, close-on-exec).
  int fd() const noexcept { return fd_; }

 private:
  int fd_ = -1;
};

}  // namespace nauto
