// `hybridgate models pull` against a local file server: redirects, checksums (given, or the
// host's x-linked-etag), failure without leftovers, and a clear message without a network.
// Also GET /v1/models/{model} through the real binary.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <boost/json.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include "tests/support/fake_upstream.h"
#include "tests/support/gateway_process.h"

namespace hybridgate::testing {
namespace {

namespace fs = std::filesystem;

std::string Sha256Hex(const std::string& data) {
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  EVP_Digest(data.data(), data.size(), d, &n, EVP_sha256(), nullptr);
  std::string out;
  char buf[3];
  for (unsigned i = 0; i < n; ++i) {
    std::snprintf(buf, sizeof(buf), "%02x", d[i]);
    out += buf;
  }
  return out;
}

struct Ran {
  int status = -1;
  std::string out;  // stdout and stderr
};

Ran Pull(const std::string& args) {
  Ran r;
  FILE* p =
      popen(("'" + BinaryPath() + "' models pull --no-progress " + args + " 2>&1").c_str(), "r");
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) r.out.append(buf, n);
  const int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

class ModelsPull : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("hg-models-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    std::mt19937 rng(7);
    file_.resize(300 * 1024);
    for (char& c : file_) c = static_cast<char>(rng());
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Dir() const { return "--dir '" + dir_.string() + "'"; }
  fs::path dir_;
  std::string file_;
};

TEST_F(ModelsPull, FollowsRedirectsAndChecksTheGivenSha256) {
  FakeUpstream host([&](const Recorded& r) {
    if (r.target == "/org/model/resolve/main/tiny.gguf") {
      return Action{.status = 302, .headers = {{"location", "/cdn/blob/tiny.gguf?sig=1"}}};
    }
    return Action{.content_type = "application/octet-stream", .body = file_};
  });
  const std::string url =
      "http://127.0.0.1:" + std::to_string(host.port()) + "/org/model/resolve/main/tiny.gguf";
  Ran r = Pull(url + " " + Dir() + " --sha256 " + Sha256Hex(file_));
  ASSERT_EQ(r.status, 0) << r.out;
  const fs::path saved = dir_ / "tiny.gguf";
  ASSERT_TRUE(fs::exists(saved));
  std::ifstream in(saved, std::ios::binary);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), file_);
  EXPECT_NE(r.out.find("(verified)"), std::string::npos) << r.out;
  EXPECT_EQ(host.requests("/cdn/blob/tiny.gguf?sig=1").size(), 1u);
}

TEST_F(ModelsPull, UsesTheHostsLinkedEtagAndRejectsAMismatch) {
  const std::string good = Sha256Hex(file_);
  FakeUpstream host([&](const Recorded& r) {
    const bool lie = r.target.find("bad") != std::string::npos;
    return Action{
        .content_type = "application/octet-stream",
        .body = file_,
        .headers = {{"x-linked-etag", "\"" + (lie ? std::string(64, 'a') : good) + "\""}}};
  });
  const std::string base = "http://127.0.0.1:" + std::to_string(host.port());
  Ran ok = Pull(base + "/good.gguf " + Dir());
  EXPECT_EQ(ok.status, 0) << ok.out;
  EXPECT_NE(ok.out.find("(verified)"), std::string::npos) << ok.out;
  Ran bad = Pull(base + "/bad.gguf " + Dir());
  EXPECT_EQ(bad.status, 1) << bad.out;
  EXPECT_NE(bad.out.find("sha256 mismatch"), std::string::npos) << bad.out;
  EXPECT_FALSE(fs::exists(dir_ / "bad.gguf"));
  EXPECT_FALSE(fs::exists(dir_ / "bad.gguf.part"));
}

TEST_F(ModelsPull, NoNetworkAndBadInputAreClearErrors) {
  Ran down = Pull("http://127.0.0.1:" + std::to_string(FreePort()) + "/m.gguf " + Dir());
  EXPECT_EQ(down.status, 1) << down.out;
  EXPECT_NE(down.out.find("Without network access"), std::string::npos) << down.out;
  Ran unknown = Pull("no-such-model " + Dir());
  EXPECT_EQ(unknown.status, 2) << unknown.out;
  EXPECT_NE(unknown.out.find("known:"), std::string::npos) << unknown.out;
  Ran sha = Pull("http://127.0.0.1:1/m.gguf --sha256 xyz " + Dir());
  EXPECT_EQ(sha.status, 2) << sha.out;
}

// OpenAI's "retrieve model": what GET /v1/models lists, one model or alias at a time.
TEST(ModelsEndpoint, RetrieveOneModelOrAliasElse404InOpenAiShape) {
  namespace json = boost::json;
  FakeUpstream up(
      [](const Recorded&) { return Action{.body = ChatCompletionJson("hi", "gpt-4o")}; });
  GatewayProcess gw("providers:\n  - {name: fake, type: openai, base_url: '" + up.base_url() +
                    "', models: [{name: gpt-4o}, {name: small}]}\naliases: {auto: small}\n");
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());
  struct Case {
    const char* path;
    const char* body;
  };
  for (const Case& c : {
           Case{"/v1/models/gpt-4o",
                R"({"id":"gpt-4o","object":"model","created":0,"owned_by":"fake"})"},
           Case{"/v1/models/auto",
                R"({"id":"auto","object":"model","created":0,"owned_by":"hybridgate"})"},
           // A path segment the SDK escaped is decoded.
           Case{"/v1/models/gpt%2D4o",
                R"({"id":"gpt-4o","object":"model","created":0,"owned_by":"fake"})"},
       }) {
    auto r = client.Get(c.path);
    ASSERT_EQ(r.status, 200) << c.path << ": " << r.body;
    EXPECT_EQ(r.headers["content-type"], "application/json");
    EXPECT_EQ(r.body, json::serialize(json::parse(c.body))) << c.path;
    EXPECT_FALSE(r.headers["x-hybridgate-request-id"].empty()) << c.path;
  }
  // Each entry of the list is what the single lookup answers.
  auto list = json::parse(client.Get("/v1/models").body);
  for (const auto& m : list.at("data").as_array()) {
    auto one = client.Get("/v1/models/" + std::string(m.at("id").as_string()));
    EXPECT_EQ(json::parse(one.body), m) << one.body;
  }
  auto r = client.Get("/v1/models/gpt-9");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(json::parse(r.body), json::parse(R"js({"error":{
      "message":"The model 'gpt-9' does not exist on this gateway (GET /v1/models lists them)",
      "type":"invalid_request_error","param":"model","code":"model_not_found"}})js"))
      << r.body;
  EXPECT_FALSE(r.headers["x-hybridgate-request-id"].empty());
  // Escapes that do not decode to UTF-8 are named as they were sent: the error stays JSON.
  for (const std::string path : {"/v1/models/%E0%A4", "/v1beta/models/%FF%FE"}) {
    r = client.Get(path);
    EXPECT_EQ(r.status, 404) << path;
    boost::system::error_code ec;
    const json::value v = json::parse(r.body, ec);
    ASSERT_FALSE(ec) << path << ": " << r.body;
    const std::string message(v.at("error").at("message").as_string());
    EXPECT_NE(message.find(path.substr(path.rfind('/') + 1)), std::string::npos) << r.body;
  }
  // POST under /v1/models/ stays Gemini's generateContent (@google/genai with a /v1 base).
  r = client.Post("/v1/models/gpt-4o:generateContent",
                  R"({"contents":[{"role":"user","parts":[{"text":"hi"}]}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body).at("candidates").at(0).at("content").at("parts").at(0).at("text"),
            "hi");
  EXPECT_EQ(up.request_count(), 1u);
}

}  // namespace
}  // namespace hybridgate::testing
