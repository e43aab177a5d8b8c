#include "layers/grpc/grpc_status.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "core/headers.hpp"

namespace levee::layers::grpc {

namespace {

constexpr std::size_t k_max_timeout_digits = 8;

std::optional<std::chrono::milliseconds> retry_after(const core::Response& response) {
  const std::string* value = response.headers.find("retry-after");
  if (value == nullptr) return std::nullopt;
  std::uint64_t seconds = 0;
  const auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), seconds);
  if (ec != std::errc{} || end != value->data() + value->size()) return std::nullopt;
  return std::chrono::seconds(seconds);
}

StatusCode from_http_status(int status) noexcept {
  switch (status) {
    case 400:
      return StatusCode::internal;
    case 401:
      return StatusCode::unauthenticated;
    case 403:
      return StatusCode::permission_denied;
    case 404:
      return StatusCode::unimplemented;
    case 413:
    case 431:
      return StatusCode::resource_exhausted;
    case 429:
    case 502:
    case 503:
    case 504:
      return StatusCode::unavailable;
    case core::k_client_closed_status:
      return StatusCode::cancelled;
    default:
      return StatusCode::unknown;
  }
}

}  // namespace

bool is_grpc_request(const core::Request& request) noexcept {
  const std::string* type = request.headers.find("content-type");
  if (type == nullptr) return false;
  constexpr std::string_view k_grpc = "application/grpc";
  if (type->size() < k_grpc.size()) return false;
  const bool prefix = std::equal(k_grpc.begin(), k_grpc.end(), type->begin(),
                                 [](char a, char b) { return a == core::ascii_lower(b); });
  if (!prefix) return false;
  if (type->size() == k_grpc.size()) return true;
  const char next = (*type)[k_grpc.size()];
  return next == '+' || next == ';';
}

std::optional<std::chrono::nanoseconds> parse_grpc_timeout(std::string_view value) noexcept {
  if (value.size() < 2 || value.size() > k_max_timeout_digits + 1) return std::nullopt;
  const std::string_view digits = value.substr(0, value.size() - 1);
  std::uint64_t amount = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), amount);
  if (ec != std::errc{} || end != digits.data() + digits.size()) return std::nullopt;
  using namespace std::chrono;
  switch (value.back()) {
    case 'H':
      return duration_cast<nanoseconds>(hours(amount));
    case 'M':
      return duration_cast<nanoseconds>(minutes(amount));
    case 'S':
      return duration_cast<nanoseconds>(seconds(amount));
    case 'm':
      return duration_cast<nanoseconds>(milliseconds(amount));
    case 'u':
      return duration_cast<nanoseconds>(microseconds(amount));
    case 'n':
      return nanoseconds(amount);
    default:
      return std::nullopt;
  }
}

std::string percent_encode_message(std::string_view message) {
  std::string out;
  out.reserve(message.size());
  for (const char c : message) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte <= 0x7e && byte != '%') {
      out += c;
    } else {
      out += fmt::format("%{:02X}", byte);
    }
  }
  return out;
}

core::Response trailers_only(StatusCode code, std::string_view message,
                             std::optional<std::chrono::milliseconds> pushback) {
  core::Response response;
  response.status = 200;
  response.headers.add("content-type", "application/grpc");
  response.headers.add("grpc-status", std::to_string(static_cast<int>(code)));
  if (!message.empty()) response.headers.add("grpc-message", percent_encode_message(message));
  if (pushback) response.headers.add("grpc-retry-pushback-ms", std::to_string(pushback->count()));
  return response;
}

bool has_grpc_status(const core::Response& response) noexcept {
  return response.headers.contains("grpc-status") || response.trailers.contains("grpc-status");
}

bool needs_no_mapping(const core::Response& response) noexcept {
  return has_grpc_status(response) || response.status == 200;
}

core::Response to_grpc_answer(core::Response response) {
  if (needs_no_mapping(response)) return response;
  // levee's own short text reason (the body of Response::text), or the upstream's status.
  std::string message(response.stream ? std::string_view{} : response.body_view());
  while (!message.empty() && (message.back() == '\n' || message.back() == '\r')) {
    message.pop_back();
  }
  if (message.empty()) message = fmt::format("HTTP status {}", response.status);
  StatusCode code = from_http_status(response.status);
  std::optional<std::chrono::milliseconds> pushback;
  if (response.shed) {
    code = StatusCode::resource_exhausted;
    pushback = retry_after(response);
  } else if (response.breaker_open) {
    code = StatusCode::unavailable;
    pushback = retry_after(response);
  } else if (response.upstream_failed) {
    code = response.status == 504 ? StatusCode::deadline_exceeded : StatusCode::unavailable;
  }
  core::Response answer = trailers_only(code, message, pushback);
  // The flags stay: the breaker and the metrics still tell levee's refusals from answers.
  answer.shed = response.shed;
  answer.breaker_open = response.breaker_open;
  answer.upstream_failed = response.upstream_failed;
  answer.held_until_written = std::move(response.held_until_written);
  return answer;
}

}  // namespace levee::layers::grpc
