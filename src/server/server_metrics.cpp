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

}  // namespace levee::server
