#include "upstream/upstream_error.hpp"

#include <fmt/format.h>

namespace levee::upstream {

int UpstreamError::status() const noexcept {
  if (client_body) {
    switch (*client_body) {
      case core::BodyError::timed_out:
        return 408;
      case core::BodyError::too_large:
        return 413;
      case core::BodyError::fields_too_large:
        return 431;
      default:
        return 400;
    }
  }
  switch (kind) {
    case UpstreamErrorKind::connect_timeout:
    case UpstreamErrorKind::timeout:
      return 504;
    default:
      return 502;
  }
}

std::string_view to_string(UpstreamErrorKind kind) noexcept {
  switch (kind) {
    case UpstreamErrorKind::connect_refused:
      return "connect_refused";
    case UpstreamErrorKind::connect_failed:
      return "connect_failed";
    case UpstreamErrorKind::connect_timeout:
      return "connect_timeout";
    case UpstreamErrorKind::reset:
      return "reset";
    case UpstreamErrorKind::timeout:
      return "timeout";
    case UpstreamErrorKind::invalid_response:
      return "invalid_response";
    case UpstreamErrorKind::response_too_large:
      return "response_too_large";
  }
  return "unknown";
}

std::string UpstreamError::describe(std::string_view upstream_name) const {
  if (client_body) {
    switch (*client_body) {
      case core::BodyError::timed_out:
        return "request body not received in time";
      case core::BodyError::too_large:
        return "request body too large";
      case core::BodyError::fields_too_large:
        return "request trailer fields too large";
      default:
        return "request body cut short";
    }
  }
  std::string_view what;
  switch (kind) {
    case UpstreamErrorKind::connect_refused:
      what = "refused the connection";
      break;
    case UpstreamErrorKind::connect_failed:
      what = "could not be connected to";
      break;
    case UpstreamErrorKind::connect_timeout:
      what = "did not accept the connection in time";
      break;
    case UpstreamErrorKind::reset:
      what = "closed the connection before a full response";
      break;
    case UpstreamErrorKind::timeout:
      what = "did not answer in time";
      break;
    case UpstreamErrorKind::invalid_response:
      what = "sent an invalid response";
      break;
    case UpstreamErrorKind::response_too_large:
      what = "sent a response over the size limit";
      break;
  }
  if (detail.empty()) return fmt::format("upstream \"{}\" {}", upstream_name, what);
  return fmt::format("upstream \"{}\" {} ({})", upstream_name, what, detail);
}

}  // namespace levee::upstream
