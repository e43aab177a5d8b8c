#include "layers/collapse/fleet/lease_scripts.hpp"

#include <utility>

namespace levee::layers::collapse::fleet {

namespace {

// The token of the answer at `key` (0: none); GETRANGE reads only the token in front of a
// possibly large answer.
constexpr std::string_view k_answer_token_at = R"lua(
local function answer_token_at(key)
  local head = redis.call('GETRANGE', key, 0, 24)
  if head == '' then return 0 end
  local newline = string.find(head, '\n', 1, true)
  if not newline then return 0 end
  return tonumber(string.sub(head, 1, newline - 1)) or 0
end
)lua";

// The complete script's answer is KEYS[2].
constexpr std::string_view k_answer_token = R"lua(
local function answer_token() return answer_token_at(KEYS[2]) end
)lua";

// Many asks in one call (lease_scripts.hpp). The answer's token is read only when the ask can
// use it (a waiter's min_token, or stale answers), so a first ask that wins costs a GET, an
// INCR and a SET.
constexpr std::string_view k_acquire = R"lua(
local n = tonumber(ARGV[2])
local first_key, first_arg = 2 * n + 2, 4 * n + 3
for i = first_key, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[first_arg + i - first_key] then
    redis.call('DEL', KEYS[i])
  end
end
local function ask(lease, answer, min_token, ttl, stale_ok, key)
  local there = 0
  if min_token > 0 or stale_ok then there = answer_token_at(answer) end
  if min_token > 0 and there >= min_token then
    return {2, there, redis.call('GET', answer)}
  end
  local holder = redis.call('GET', lease)
  if not holder then
    local token = redis.call('INCR', KEYS[1])
    redis.call('SET', lease, token, 'NX', 'PX', ttl)
    return {1, token}
  end
  redis.call('PUBLISH', ARGV[1], key .. ' ' .. holder .. ' w')
  local left = redis.call('PTTL', lease)
  if stale_ok and there > 0 then
    return {3, tonumber(holder), left, redis.call('GET', answer)}
  end
  return {0, tonumber(holder), left}
end
local out = {}
for i = 1, n do
  local a = 4 * i - 1
  out[i] = ask(KEYS[2 * i], KEYS[2 * i + 1], tonumber(ARGV[a]), ARGV[a + 1], ARGV[a + 2] == '1',
               ARGV[a + 3])
end
return out
)lua";

constexpr std::string_view k_complete = R"lua(
local token = tonumber(ARGV[1])
local written = 0
if ARGV[2] ~= '' then
  if answer_token() < token then
    redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
    written = 1
  end
end
local ours = 0
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  ours = 1
end
redis.call('PUBLISH', ARGV[4], ARGV[5])
return {ours, written}
)lua";

constexpr std::string_view k_renew = R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
)lua";

constexpr std::string_view k_release = R"lua(
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[i] then redis.call('DEL', KEYS[i]) end
end
return #KEYS
)lua";

bool is_integer(const redis::RedisValue& value) {
  return value.type == redis::RedisValue::Type::integer;
}

// The answer's value without its "<token>\n" prefix.
std::optional<std::string> strip_token(std::string value) {
  const auto newline = value.find('\n');
  if (newline == std::string::npos) return std::nullopt;
  value.erase(0, newline + 1);
  return value;
}

}  // namespace

const redis::RedisScript& acquire_script() {
  static const redis::RedisScript script(std::string(k_answer_token_at) + std::string(k_acquire));
  return script;
}

const redis::RedisScript& complete_script() {
  static const redis::RedisScript script(std::string(k_answer_token_at) +
                                         std::string(k_answer_token) + std::string(k_complete));
  return script;
}

const redis::RedisScript& renew_script() {
  static const redis::RedisScript script{std::string(k_renew)};
  return script;
}

const redis::RedisScript& release_script() {
  static const redis::RedisScript script{std::string(k_release)};
  return script;
}

std::optional<Acquired> parse_acquired(redis::RedisValue reply) {
  auto& e = reply.elements;
  if (reply.type != redis::RedisValue::Type::array || e.size() < 2 || !is_integer(e[0]) ||
      !is_integer(e[1]) || e[1].integer < 0) {
    return std::nullopt;
  }
  Acquired acquired;
  acquired.token = static_cast<std::uint64_t>(e[1].integer);
  switch (e[0].integer) {
    case 0:
    case 3: {
      const bool stale = e[0].integer == 3;
      if (e.size() != (stale ? 4U : 3U) || !is_integer(e[2])) return std::nullopt;
      acquired.kind = stale ? Acquired::Kind::stale : Acquired::Kind::held;
      // PTTL is -1 for a lease without expiry (never written by levee) and -2 if it just went.
      acquired.lease_left = std::chrono::milliseconds(std::max<long long>(e[2].integer, 0));
      if (stale) {
        if (e[3].type != redis::RedisValue::Type::string) return std::nullopt;
        auto answer = strip_token(std::move(e[3].text));
        if (!answer) return std::nullopt;
        // The last call's answer was not shared (a marker, no answer): nothing stale to serve.
        if (answer->empty()) acquired.kind = Acquired::Kind::held;
        acquired.answer = std::move(*answer);
      }
      return acquired;
    }
    case 1:
      if (e.size() != 2 || acquired.token == 0) return std::nullopt;
      acquired.kind = Acquired::Kind::won;
      return acquired;
    case 2: {
      if (e.size() != 3 || e[2].type != redis::RedisValue::Type::string) return std::nullopt;
      auto answer = strip_token(std::move(e[2].text));
      if (!answer) return std::nullopt;
      acquired.kind = answer->empty() ? Acquired::Kind::unshared : Acquired::Kind::answer;
      acquired.answer = std::move(*answer);
      return acquired;
    }
    default:
      return std::nullopt;
  }
}

std::optional<Completed> parse_completed(const redis::RedisValue& reply) {
  const auto& e = reply.elements;
  if (reply.type != redis::RedisValue::Type::array || e.size() != 2 || !is_integer(e[0]) ||
      !is_integer(e[1])) {
    return std::nullopt;
  }
  return Completed{e[0].integer == 1, e[1].integer == 1};
}

}  // namespace levee::layers::collapse::fleet
