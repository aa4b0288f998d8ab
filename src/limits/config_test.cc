#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "limits/limiter.h"
#include "limits/limits_config.h"

namespace hybridgate::limits {
namespace {

Result<LimitsConfig> Parse(const std::string& yaml) {
  return ParseLimitsConfig(YAML::Load(yaml), "gw.yaml");
}

TEST(LimitsConfig, Defaults) {
  ASSERT_TRUE(Parse(""));
  auto c = Parse("limits: {}");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_FALSE(c->auth_required);
  EXPECT_EQ(c->backend, "memory");
  EXPECT_EQ(c->keys_db, "hybridgate-keys.db");
  EXPECT_EQ(c->timeout_ms, 50);
  EXPECT_TRUE(c->fail_open);
}

TEST(LimitsConfig, AllKeys) {
  auto c = Parse(R"(
limits:
  auth_required: true
  admin_key_env: HG_ADMIN_KEY
  keys_db: /var/lib/hg/keys.db
  backend: redis
  redis_url: redis://:pw@redis.internal:6380/2
  timeout_ms: 20
  on_redis_error: closed
)");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_TRUE(c->auth_required);
  EXPECT_EQ(c->admin_key_env, "HG_ADMIN_KEY");
  EXPECT_EQ(c->keys_db, "/var/lib/hg/keys.db");
  EXPECT_EQ(c->backend, "redis");
  EXPECT_EQ(c->timeout_ms, 20);
  EXPECT_FALSE(c->fail_open);
  EXPECT_TRUE(MakeLimiter(*c));
}

TEST(LimitsConfig, ErrorsNameFileLineAndKey) {
  struct Case {
    const char* yaml;
    const char* expected;
  } cases[] = {
      {"limits:\n  backend: memory\n  bakend: redis\n", "gw.yaml:3: 'limits.bakend': unknown key"},
      {"limits:\n  backend: etcd\n", "gw.yaml:2: 'limits.backend': unknown backend 'etcd'"},
      {"limits:\n  timeout_ms: 0\n", "gw.yaml:2: 'limits.timeout_ms': must be 1..60000"},
      {"limits:\n  timeout_ms: fast\n", "gw.yaml:2: 'limits.timeout_ms': expected an integer"},
      {"limits:\n  auth_required: maybe\n", "'limits.auth_required': expected true or false"},
      {"limits:\n  on_redis_error: retry\n", "'limits.on_redis_error': unknown value 'retry'"},
      {"limits:\n  redis_url: http://x\n", "'limits.redis_url': bad redis URL"},
      {"limits: [1]\n", "expected a mapping"},
  };
  for (const Case& c : cases) {
    auto r = Parse(c.yaml);
    ASSERT_FALSE(r) << c.yaml;
    EXPECT_NE(r.error().message.find(c.expected), std::string::npos)
        << r.error().message << " vs " << c.expected;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidRequest);
  }
}

TEST(RedisUrl, Parses) {
  auto a = ParseRedisUrl("redis://127.0.0.1:6379");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 6379);
  a = ParseRedisUrl("redis://user:secret@cache:7000/3");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "cache");
  EXPECT_EQ(a->port, 7000);
  EXPECT_EQ(a->user, "user");
  EXPECT_EQ(a->password, "secret");
  EXPECT_EQ(a->db, 3);
  a = ParseRedisUrl("redis://[::1]:6390");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "::1");
  EXPECT_EQ(a->port, 6390);
  a = ParseRedisUrl("redis://localhost");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->port, 6379);
  for (const char* bad : {"rediss://x", "redis://", "redis://h:0", "redis://h:99999",
                          "redis://h:12x", "redis://h/abc", "redis://[::1"}) {
    EXPECT_FALSE(ParseRedisUrl(bad)) << bad;
  }
  // A password with '@', ':' or '/' is written percent-encoded, as in any URL.
  a = ParseRedisUrl("redis://hg%20user:p%40ss%3Aw%2Frd@cache/2");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->user, "hg user");
  EXPECT_EQ(a->password, "p@ss:w/rd");
  EXPECT_EQ(a->host, "cache");
  a = ParseRedisUrl("redis://:100%@cache");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->password, "100%") << "a % not followed by two hex digits is itself";
  // Errors never show the password.
  auto bad = ParseRedisUrl("redis://me:hunter2@cache:6379/-1");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message.find("hunter2"), std::string::npos) << bad.error().message;
  EXPECT_NE(bad.error().message.find("redis://me:****@cache:6379/-1"), std::string::npos)
      << bad.error().message;
  bad = ParseRedisUrl("redis://:hunter2");  // the host forgotten
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message.find("hunter2"), std::string::npos) << bad.error().message;
}

TEST(LimitsConfig, KeysDbIsRelativeToTheConfigFile) {
  LimitsConfig c;
  c.keys_db = "keys.db";
  EXPECT_EQ(ResolveKeysDb(c, "/etc/hg/gateway.yaml"), "/etc/hg/keys.db");
  EXPECT_EQ(ResolveKeysDb(c, "gateway.yaml"), "keys.db");
  c.keys_db = "/data/keys.db";
  EXPECT_EQ(ResolveKeysDb(c, "/etc/hg/gateway.yaml"), "/data/keys.db");
}

}  // namespace
}  // namespace hybridgate::limits
