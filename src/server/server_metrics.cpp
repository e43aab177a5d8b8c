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

}  // namespace levee::server
