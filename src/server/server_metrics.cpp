#include "server/server_metrics.hpp"

namespace levee::server {

std::string_view to_string(RejectReason reason) noexcept {
  switch (reason) {
    case RejectReason::header_too_large:
      return "header_too_large";
    case RejectReason::body_too_large:
      return "body_too_large";
    case RejectReason::bad_request:
      return "bad_request";
    case RejectReason::unsupported:
      return "unsupported";
    case RejectReason::timeout:
      return "timeout";
    case RejectReason::no_route:
      return "no_route";
    case RejectReason::count_:
      break;
  }
  return "unknown";
}

std::string_view to_string(GoawayReason reason) noexcept {
  switch (reason) {
    case GoawayReason::drain:
      return "drain";
    case GoawayReason::idle:
      return "idle";
    case GoawayReason::flood:
      return "flood";
    case GoawayReason::rapid_reset:
      return "rapid_reset";
    case GoawayReason::protocol_error:
      return "protocol_error";
    case GoawayReason::count_:
      break;
  }
  return "unknown";
}

std::string_view to_string(StreamResetReason reason) noexcept {
  switch (reason) {
    case StreamResetReason::stalled:
      return "stalled";
    case StreamResetReason::refused:
      return "refused";
    case StreamResetReason::count_:
      break;
  }
  return "unknown";
}

std::string_view to_string(TlsFailure failure) noexcept {
  switch (failure) {
    case TlsFailure::timeout:
      return "timeout";
    case TlsFailure::closed:
      return "closed";
    case TlsFailure::version:
      return "version";
    case TlsFailure::no_shared_cipher:
      return "no_shared_cipher";
    case TlsFailure::bad_handshake:
      return "bad_handshake";
    case TlsFailure::count_:
      break;
  }
  return "unknown";
}

std::string_view to_string(TlsProtocol protocol) noexcept {
  switch (protocol) {
    case TlsProtocol::h2:
      return "h2";
    case TlsProtocol::http1:
      return "http/1.1";
    case TlsProtocol::count_:
      break;
  }
  return "unknown";
}

}  // namespace levee::server
