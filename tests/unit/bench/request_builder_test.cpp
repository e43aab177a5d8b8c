#include "bench/request_builder.hpp"

#include <gtest/gtest.h>

namespace levee::bench {
namespace {

TEST(RequestBuilder, GetWithKeyInPathAndQuery) {
  RequestTemplate request;
  request.path = "/api/item/{key}";
  request.query = "k={key}&n={seq}";
  RequestBuilder builder(request, "127.0.0.1:8080");
  PreparedRequest out;
  builder.build(17, 3, out);
  EXPECT_EQ(out.wire, "GET /api/item/3?k=3&n=17 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n");
  EXPECT_EQ(out.expect.path, "/api/item/3");
  EXPECT_EQ(out.expect.query, "k=3&n=17");
  EXPECT_FALSE(out.expect.authorization.has_value());
  EXPECT_EQ(out.expect.id, "17");
}

TEST(RequestBuilder, UsersRotateThroughTheirCredentials) {
  RequestTemplate request;
  request.path = "/api/x";
  request.users = 3;
  request.headers = {{"Accept", "application/json"}, {"X-User", "u{user}"}};
  RequestBuilder builder(request, "h");
  PreparedRequest out;
  for (std::uint64_t seq = 0; seq < 6; ++seq) {
    builder.build(seq, 0, out);
    const std::string user = std::to_string(seq % 3);
    ASSERT_TRUE(out.expect.authorization.has_value());
    EXPECT_EQ(*out.expect.authorization, "Bearer user-" + user);
    EXPECT_EQ(out.wire, "GET /api/x HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer user-" + user +
                            "\r\nAccept: application/json\r\nX-User: u" + user + "\r\n\r\n");
  }
}

TEST(RequestBuilder, PostCarriesAUniqueJsonItem) {
  RequestTemplate request;
  request.method = "POST";
  request.path = "/process";
  RequestBuilder builder(request, "h");
  PreparedRequest out;
  builder.build(12345, 0, out);
  EXPECT_EQ(out.wire,
            "POST /process HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\n"
            "Content-Length: 12\r\n\r\n{\"id\":12345}");
  EXPECT_EQ(out.expect.id, "12345");
}

TEST(RequestBuilder, BodyTemplateAndLiteralBraces) {
  RequestTemplate request;
  request.method = "PUT";
  request.path = "/api/{nope}/{key}";
  request.body = "{\"id\":{seq},\"k\":\"{key}\",\"pad\":\"{}\"}";
  RequestBuilder builder(request, "h");
  PreparedRequest out;
  builder.build(1, 2, out);
  EXPECT_EQ(out.expect.path, "/api/{nope}/2");
  EXPECT_NE(out.wire.find("\r\n\r\n{\"id\":1,\"k\":\"2\",\"pad\":\"{}\"}"), std::string::npos)
      << out.wire;
}

TEST(RequestBuilder, UnknownPlaceholdersAreFound) {
  EXPECT_EQ(unknown_placeholder("/api/{key}/{seq}/{user}"), std::nullopt);
  EXPECT_EQ(unknown_placeholder("{\"id\":{seq}}"), std::nullopt);
  EXPECT_EQ(unknown_placeholder("/api/{kye}"), std::optional<std::string>("kye"));
}

}  // namespace
}  // namespace levee::bench
