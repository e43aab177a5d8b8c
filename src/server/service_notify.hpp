#pragma once
// Tells the service manager that started levee what state it is in, with sd_notify(3)'s
// protocol: one datagram ("READY=1", "STOPPING=1", ...) to the AF_UNIX socket named by
// $NOTIFY_SOCKET. systemd sets it for a Type=notify unit (debian/levee.service) and then counts
// the unit as started only once READY=1 arrives, i.e. once the listeners accept. No libsystemd:
// the protocol is one sendto(), and the library would be one more runtime dependency.
//
// Called from main()'s thread; blocking is not a concern (a datagram to a local socket).
// Outside systemd (NOTIFY_SOCKET unset) nothing is sent. A failure is logged, never thrown:
// levee serves whether or not the manager heard it.

#include <string_view>

namespace levee::server {

enum class NotifyOutcome {
  unsupervised,  // no socket named: not started by a service manager that listens
  sent,
  failed,  // logged with the reason
};

// To the socket $NOTIFY_SOCKET names.
NotifyOutcome notify_service_manager(std::string_view state);

// To `socket`: an absolute path, or "@name" for a Linux abstract socket (as systemd names it).
NotifyOutcome notify_service_manager(std::string_view state, std::string_view socket);

}  // namespace levee::server
