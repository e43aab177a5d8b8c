#include "admin/status_page.hpp"

#include <openssl/evp.h>

#include <array>
#include <stdexcept>
#include <vector>

namespace levee::admin {

namespace {

// 'sha256-<base64>' of `text`, the form CSP's script-src and style-src take.
std::string csp_hash(std::string_view text) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  if (EVP_Digest(text.data(), text.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("SHA-256 of the status page failed");
  }
  std::array<unsigned char, 4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1> encoded{};
  const int written = EVP_EncodeBlock(encoded.data(), digest.data(), static_cast<int>(length));
  return "'sha256-" + std::string(reinterpret_cast<const char*>(encoded.data()), written) + "'";
}

// The hashes of every <tag>...</tag> body in `html`, outside comments. The page's own
// markup, not arbitrary HTML: its elements carry no attributes, so "<tag>" is matched
// literally.
std::vector<std::string> element_hashes(std::string_view html, std::string_view tag) {
  const std::string open = "<" + std::string(tag) + ">";
  const std::string close = "</" + std::string(tag) + ">";
  std::vector<std::string> hashes;
  for (auto at = html.find(open); at != std::string_view::npos; at = html.find(open, at)) {
    if (const auto comment = html.rfind("<!--", at); comment != std::string_view::npos) {
      const auto comment_end = html.find("-->", comment);
      if (comment_end == std::string_view::npos) break;
      if (comment_end > at) {  // inside a comment: no element
        at = comment_end;
        continue;
      }
    }
    const auto start = at + open.size();
    const auto end = html.find(close, start);
    if (end == std::string_view::npos) break;
    hashes.push_back(csp_hash(html.substr(start, end - start)));
    at = end + close.size();
  }
  return hashes;
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& part : parts) out += " " + part;
  return out;
}

}  // namespace

std::string status_page_csp(std::string_view html) {
  // default-src 'none' denies everything not listed: fonts, images from elsewhere, frames,
  // workers, manifests. The page only runs its own script, applies its own style, fetches
  // /stats from the admin listener and draws on <canvas>.
  return "default-src 'none'; script-src" + join(element_hashes(html, "script")) + "; style-src" +
         join(element_hashes(html, "style")) +
         "; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
         "frame-ancestors 'none'";
}

core::Response status_page_response() {
  static const std::string csp = status_page_csp(status_page_html());
  auto response =
      core::Response::with_body(200, "text/html; charset=utf-8", std::string(status_page_html()));
  response.headers.add("Content-Security-Policy", csp);
  response.headers.add("X-Content-Type-Options", "nosniff");
  response.headers.add("X-Frame-Options", "DENY");
  response.headers.add("Referrer-Policy", "no-referrer");
  response.headers.add("Cache-Control", "no-store");
  return response;
}

}  // namespace levee::admin
