#include "layers/cache/cached_response.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <utility>

namespace levee::layers::cache {
namespace {

Duration saturating_add(Duration a, Duration b) noexcept {
  Duration::rep sum = 0;
  if (__builtin_add_overflow(a.count(), b.count(), &sum)) {
    return b.count() > 0 ? Duration::max() : Duration::min();
  }
  return Duration{sum};
}

// RFC 9110 5.6.2 tchar.
bool is_token(std::string_view text) noexcept {
  if (text.empty()) return false;
  for (const char c : text) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
    if (!ok || c == '\0') return false;
  }
  return true;
}

bool is_field_value(std::string_view text) noexcept {
  return text.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

class Writer {
 public:
  explicit Writer(std::size_t reserve) { out_.reserve(reserve); }
  void u8(std::uint8_t v) { out_ += static_cast<char>(v); }
  void u16(std::uint16_t v) { little_endian(v, 2); }
  void u32(std::uint32_t v) { little_endian(v, 4); }
  void u64(std::uint64_t v) { little_endian(v, 8); }
  void bytes(std::string_view v) { out_ += v; }
  // Lengths above u32 cannot come from a parsed HTTP message; report them instead of wrapping.
  [[nodiscard]] bool sized32(std::string_view v) {
    if (v.size() > std::numeric_limits<std::uint32_t>::max()) return false;
    u32(static_cast<std::uint32_t>(v.size()));
    bytes(v);
    return true;
  }
  [[nodiscard]] std::string take() && { return std::move(out_); }

 private:
  void little_endian(std::uint64_t v, int width) {
    for (int i = 0; i < width; ++i) out_ += static_cast<char>((v >> (8 * i)) & 0xff);
  }
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  [[nodiscard]] std::size_t left() const noexcept { return in_.size() - pos_; }
  [[nodiscard]] bool u8(std::uint8_t& v) noexcept { return little_endian(v, 1); }
  [[nodiscard]] bool u16(std::uint16_t& v) noexcept { return little_endian(v, 2); }
  [[nodiscard]] bool u32(std::uint32_t& v) noexcept { return little_endian(v, 4); }
  [[nodiscard]] bool u64(std::uint64_t& v) noexcept { return little_endian(v, 8); }
  [[nodiscard]] bool bytes(std::uint64_t n, std::string_view& v) noexcept {
    if (n > left()) return false;
    v = in_.substr(pos_, static_cast<std::size_t>(n));
    pos_ += static_cast<std::size_t>(n);
    return true;
  }
  [[nodiscard]] bool sized32(std::string_view& v) noexcept {
    std::uint32_t n = 0;
    return u32(n) && bytes(n, v);
  }

 private:
  template <class T>
  [[nodiscard]] bool little_endian(T& v, std::size_t width) noexcept {
    if (width > left()) return false;
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < width; ++i) {
      value |= std::uint64_t{static_cast<unsigned char>(in_[pos_ + i])} << (8 * i);
    }
    pos_ += width;
    v = static_cast<T>(value);
    return true;
  }
  std::string_view in_;
  std::size_t pos_ = 0;
};

// Ages are kept up to three lifetimes, so an entry that old is expired whatever its lifetimes,
// and encode and decode clamp alike: an entry decodes to the age it was encoded with.
constexpr Duration k_max_stored_age = 3 * k_max_stored_duration;

std::uint64_t clamped_ns(Duration d) noexcept {
  return static_cast<std::uint64_t>(std::clamp(d, Duration::zero(), k_max_stored_duration).count());
}

// A counted field list (the headers or the trailers), frozen; nullopt when it reads cleanly.
std::optional<DecodeError> read_fields(Reader& in, core::Headers& fields) {
  std::uint32_t count = 0;
  if (!in.u32(count)) return DecodeError::truncated;
  if (count > in.left() / 8) return DecodeError::truncated;
  fields.reserve(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    std::string_view name;
    std::string_view value;
    if (!in.sized32(name) || !in.sized32(value)) return DecodeError::truncated;
    if (!is_token(name) || !is_field_value(value)) return DecodeError::bad_field;
    fields.add(name, value);
  }
  fields.freeze();
  return std::nullopt;
}

}  // namespace

Duration CachedResponse::age(TimePoint now) const noexcept {
  return std::max(Duration::zero(), std::chrono::duration_cast<Duration>(now - stored_at));
}

Freshness CachedResponse::freshness(TimePoint now) const noexcept {
  const Duration a = age(now);
  if (a < fresh_for) return Freshness::fresh;
  if (a < retain_for()) return Freshness::stale;
  return Freshness::expired;
}

std::int64_t CachedResponse::age_seconds(TimePoint now) const noexcept {
  return std::chrono::duration_cast<std::chrono::seconds>(age(now)).count();
}

Duration CachedResponse::retain_for() const noexcept {
  return saturating_add(fresh_for, std::max(Duration::zero(), stale_for));
}

std::size_t CachedResponse::byte_size() const noexcept {
  std::size_t size = sizeof(CachedResponse) + (body ? body->size() + sizeof(std::string) : 0);
  for (const core::Headers* fields : {&headers, &trailers}) {
    for (const core::Header& header : *fields) {
      size += sizeof(core::Header) + header.name.size() + header.value.size();
    }
  }
  for (const std::string& name : vary) size += sizeof(std::string) + name.size();
  return size;
}

core::Response make_hit_response(const CachedResponse& cached, TimePoint now, bool head) {
  core::Response response;
  response.status = cached.status;
  response.headers = cached.headers;
  response.headers.set("Age", std::to_string(cached.age_seconds(now)));
  if (!head) {
    response.body = cached.body;
    response.trailers = cached.trailers;
  }
  return response;
}

std::string encode(const CachedResponse& cached, TimePoint now, WallTimePoint wall_now) {
  std::size_t reserve = 64 + (cached.body ? cached.body->size() : 0);
  for (const core::Headers* fields : {&cached.headers, &cached.trailers}) {
    for (const core::Header& header : *fields) {
      reserve += 8 + header.name.size() + header.value.size();
    }
  }
  Writer out(reserve);
  out.bytes(k_encoding_magic);
  out.u8(k_encoding_version);
  out.u16(static_cast<std::uint16_t>(std::clamp(cached.status, 0, 0xffff)));
  const std::int64_t wall_ns =
      std::chrono::duration_cast<Duration>(wall_now.time_since_epoch()).count();
  const std::int64_t age_ns = std::min(cached.age(now), k_max_stored_age).count();
  out.u64(static_cast<std::uint64_t>(wall_ns - age_ns));
  out.u64(clamped_ns(cached.fresh_for));
  out.u64(clamped_ns(cached.stale_for));
  bool sizes_ok = true;
  out.u32(static_cast<std::uint32_t>(cached.vary.size()));
  for (const std::string& name : cached.vary) sizes_ok = sizes_ok && out.sized32(name);
  out.u32(static_cast<std::uint32_t>(cached.headers.size()));
  for (const core::Header& header : cached.headers) {
    sizes_ok = sizes_ok && out.sized32(header.name) && out.sized32(header.value);
  }
  const std::string_view body = cached.body ? std::string_view(*cached.body) : std::string_view{};
  out.u64(body.size());
  out.bytes(body);
  out.u32(static_cast<std::uint32_t>(cached.trailers.size()));
  for (const core::Header& header : cached.trailers) {
    sizes_ok = sizes_ok && out.sized32(header.name) && out.sized32(header.value);
  }
  // An empty string decodes as `truncated`: a value no reader accepts.
  return sizes_ok ? std::move(out).take() : std::string{};
}

std::string_view to_string(DecodeError error) noexcept {
  switch (error) {
    case DecodeError::truncated:
      return "truncated";
    case DecodeError::bad_magic:
      return "bad_magic";
    case DecodeError::bad_version:
      return "bad_version";
    case DecodeError::bad_field:
      return "bad_field";
    case DecodeError::trailing_bytes:
      return "trailing_bytes";
  }
  return "unknown";
}

core::Result<CachedResponse, DecodeError> decode(std::string_view bytes, TimePoint now,
                                                 WallTimePoint wall_now) {
  using core::unexpected;
  Reader in(bytes);
  std::string_view magic;
  if (!in.bytes(k_encoding_magic.size(), magic)) {
    return unexpected(k_encoding_magic.starts_with(bytes) ? DecodeError::truncated
                                                          : DecodeError::bad_magic);
  }
  if (magic != k_encoding_magic) return unexpected(DecodeError::bad_magic);
  std::uint8_t version = 0;
  if (!in.u8(version)) return unexpected(DecodeError::truncated);
  if (version != k_encoding_version) return unexpected(DecodeError::bad_version);

  CachedResponse cached;
  std::uint16_t status = 0;
  std::uint64_t stored_ns = 0;
  std::uint64_t fresh_ns = 0;
  std::uint64_t stale_ns = 0;
  if (!in.u16(status) || !in.u64(stored_ns) || !in.u64(fresh_ns) || !in.u64(stale_ns)) {
    return unexpected(DecodeError::truncated);
  }
  const auto max_ns = static_cast<std::uint64_t>(k_max_stored_duration.count());
  if (status < 100 || status > 999 || fresh_ns > max_ns || stale_ns > max_ns) {
    return unexpected(DecodeError::bad_field);
  }
  cached.status = status;
  cached.fresh_for = Duration{static_cast<Duration::rep>(fresh_ns)};
  cached.stale_for = Duration{static_cast<Duration::rep>(stale_ns)};

  // Every count is checked against the smallest encoding of that many items before anything
  // is reserved, so a hostile count cannot make us allocate more than the input justifies.
  std::uint32_t vary_count = 0;
  if (!in.u32(vary_count)) return unexpected(DecodeError::truncated);
  if (vary_count > in.left() / 4) return unexpected(DecodeError::truncated);
  cached.vary.reserve(vary_count);
  for (std::uint32_t i = 0; i < vary_count; ++i) {
    std::string_view name;
    if (!in.sized32(name)) return unexpected(DecodeError::truncated);
    if (!is_token(name)) return unexpected(DecodeError::bad_field);
    cached.vary.emplace_back(name);
  }

  if (auto error = read_fields(in, cached.headers)) return unexpected(*error);

  std::uint64_t body_size = 0;
  std::string_view body;
  if (!in.u64(body_size) || !in.bytes(body_size, body)) return unexpected(DecodeError::truncated);
  if (auto error = read_fields(in, cached.trailers)) return unexpected(*error);
  if (in.left() != 0) return unexpected(DecodeError::trailing_bytes);
  if (!body.empty()) cached.body = std::make_shared<const std::string>(body);

  // The age as the wall clock sees it, brought back onto this process's steady clock. Clamped
  // so that neither a hostile instant nor clock skew can overflow the arithmetic below.
  const std::int64_t wall_ns =
      std::chrono::duration_cast<Duration>(wall_now.time_since_epoch()).count();
  std::int64_t age_ns = 0;
  if (__builtin_sub_overflow(wall_ns, static_cast<std::int64_t>(stored_ns), &age_ns)) {
    age_ns =
        static_cast<std::int64_t>(stored_ns) < 0 ? std::numeric_limits<std::int64_t>::max() : 0;
  }
  const Duration age = std::clamp(Duration{age_ns}, Duration::zero(), k_max_stored_age);
  cached.stored_at = now - age;
  return cached;
}

}  // namespace levee::layers::cache
