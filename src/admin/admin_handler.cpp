#include "admin/admin_handler.hpp"

#include "admin/exposition.hpp"
#include "admin/status_page.hpp"

namespace levee::admin {

core::Dispatch AdminHandler::dispatch(const core::Request&) { return {"admin", this, nullptr}; }

boost::asio::awaitable<core::Response> AdminHandler::handle(core::Request request) {
  co_return answer(request);
}

core::Response AdminHandler::answer(const core::Request& request) const {
  if (request.method != "GET" && request.method != "HEAD") {
    auto response = core::Response::text(405, "admin endpoints accept GET and HEAD only");
    response.headers.add("Allow", "GET, HEAD");
    return response;
  }
  const auto path = request.path();
  if (path == "/") return status_page_response();
  if (path == "/metrics") {
    return core::Response::with_body(200, k_exposition_content_type, registry_.render());
  }
  if (path == "/stats") {
    return core::Response::with_body(200, "application/json", stats_json_());
  }
  if (path == "/healthz") return core::Response::text(200, "ok");
  if (path == "/readyz") {
    if (ready_.load(std::memory_order_acquire)) return core::Response::text(200, "ready");
    return core::Response::text(503, "draining");
  }
  return core::Response::text(404,
                              "admin endpoints: / (status page) /metrics /stats /healthz /readyz");
}

}  // namespace levee::admin
