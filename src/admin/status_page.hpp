#pragma once
// The admin listener's live status page (GET /): one self-contained HTML document,
// src/admin/status_page.html, compiled in by CMake. It is served with a Content-Security-
// Policy that allows its own inline <script> and <style> by hash and nothing else but fetching
// /stats from the same origin.

#include <string>
#include <string_view>

#include "core/response.hpp"

namespace levee::admin {

// The page's bytes (defined in the generated status_page_html.cpp).
[[nodiscard]] std::string_view status_page_html() noexcept;

// The Content-Security-Policy for `html`: its inline <script> and <style> elements allowed by
// SHA-256, connections to 'self' only, no frames, forms, base URI, plugins or other origins.
[[nodiscard]] std::string status_page_csp(std::string_view html);

// The 200 answer to GET / (computed once: the page never changes while levee runs).
[[nodiscard]] core::Response status_page_response();

}  // namespace levee::admin
