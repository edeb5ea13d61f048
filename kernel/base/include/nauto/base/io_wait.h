#pragma once
// Waiting for a descriptor or for time, the same call on a fiber and on a thread: on a fiber
// (nauto/base/fiber_loop.h) the fiber parks and its loop runs others; elsewhere the thread
// blocks in poll(2). Code written with these — the SSH channel, the HTTP client, retry back-off,
// device locks — serves both a thread per session and thousands of sessions on a few loops.
// Any thread or fiber may call them.

#include <poll.h>

#include <cstddef>
#include <cstdint>

namespace nauto {

/// Whether the caller runs on a fiber.
bool on_fiber() noexcept;

/// Waits until one of `count` descriptors has one of its `events` (POLLIN, POLLOUT), or
/// `timeout_ms` passes (0 = just look; negative = no limit). Fills each `revents` as poll(2)
/// does and returns how many are ready (0 = timed out). Errors and hang-ups show in `revents`.
int wait_ready(pollfd* fds, std::size_t count, std::int64_t timeout_ms) noexcept;

/// The same for one descriptor; returns its revents (0 = timed out).
short wait_ready(int fd, short events, std::int64_t timeout_ms) noexcept;

/// Sleeps `ms` milliseconds (parks the fiber, on a fiber).
void sleep_for_ms(std::int64_t ms) noexcept;

}  // namespace nauto
