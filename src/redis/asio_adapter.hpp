#pragma once
// Drives one hiredis redisAsyncContext from a boost::asio executor (hiredis 0.14 ships
// adapters for libevent, libev, ... but none for asio).
//
// hiredis asks for read/write readiness through the context's `ev` hooks; the adapter answers
// each with an async_wait on a posix::stream_descriptor wrapping the context's socket and, when
// the socket is ready, calls redisAsyncHandleRead/Write. hiredis owns the socket: the
// descriptor never closes it, it release()s it in the `cleanup` hook, which hiredis calls
// while freeing the context and before it closes the fd.
//
// Lifetime: the adapter's state is shared by hiredis (from attach until cleanup) and by every
// pending wait. Cleanup detaches it from the context (and clears the context's hooks, so
// hiredis cannot call back into it again); a wait that completes afterwards sees the state
// detached and does nothing, so no callback ever reaches a freed context. Handling a
// readiness event may free the context (an I/O error makes hiredis disconnect); the adapter
// touches nothing of the context after that call returns unless it is still attached.
//
// Runs on the executor's thread only, like the client that owns the context.

#include <boost/asio/any_io_executor.hpp>

struct redisAsyncContext;  // NOLINT(readability-identifier-naming): hiredis's name

namespace levee::redis {

// Installs the hooks on `context`. False when the context already has an event library or
// its socket cannot be registered with the executor; then nothing was installed.
[[nodiscard]] bool attach_asio(redisAsyncContext& context,
                               const boost::asio::any_io_executor& executor);

}  // namespace levee::redis
