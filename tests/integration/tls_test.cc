// HTTPS upstreams through the real binary: a CA and server certificates made at test time with
// the openssl CLI, a fake upstream that serves them, and the provider's `tls:` settings. The
// gateway must verify the chain and the host name by default, trust a configured CA bundle, skip
// checks only when told to, and never send a request over a connection it did not verify.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/support/fake_upstream.h"
#include "tests/support/gateway_process.h"

namespace hybridgate::testing {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr char kChat[] = R"({"model":"m","messages":[{"role":"user","content":"over tls"}]})";

// A throwaway PKI: ca.pem signs good.pem (SAN IP:127.0.0.1, DNS:localhost) and wrong.pem (SAN
// DNS:not-this-host.test only).
class Pki {
 public:
  Pki() {
    char tmpl[] = "/tmp/hybridgate-tls-XXXXXX";
    dir_ = mkdtemp(tmpl);
    Run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
        " -keyout ca.key -out ca.pem -days 2 -subj '/CN=HybridGate Test CA'"
        " -addext 'basicConstraints=critical,CA:TRUE'"
        " -addext 'keyUsage=critical,keyCertSign,cRLSign'");
    Leaf("good", "IP:127.0.0.1,DNS:localhost");
    Leaf("wrong", "DNS:not-this-host.test");
  }
  ~Pki() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  bool ok() const { return ok_; }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  FakeUpstreamOptions Server(const std::string& leaf) const {
    return {.tls_cert_file = Path(leaf + ".pem"), .tls_key_file = Path(leaf + ".key")};
  }

 private:
  void Leaf(const std::string& name, const std::string& san) {
    std::ofstream(Path(name + ".ext"))
        << "subjectAltName=" << san << "\nbasicConstraints=CA:FALSE\n"
        << "keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n";
    Run("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout " + name +
        ".key -out " + name + ".csr -subj '/CN=" + name + "'");
    Run("openssl x509 -req -in " + name + ".csr -CA ca.pem -CAkey ca.key -CAcreateserial -out " +
        name + ".pem -days 2 -extfile " + name + ".ext");
  }
  void Run(const std::string& cmd) {
    if (!ok_) return;
    const std::string full = "cd '" + dir_ + "' && " + cmd + " >>openssl.log 2>&1";
    if (std::system(full.c_str()) != 0) {
      ok_ = false;
      ADD_FAILURE() << "failed: " << cmd << " (see " << dir_ << "/openssl.log)";
    }
  }

  std::string dir_;
  bool ok_ = true;
};

std::string Provider(const std::string& name, const std::string& base_url, const std::string& tls,
                     const std::string& model) {
  return "  - name: " + name + "\n    type: openai\n    base_url: '" + base_url + "'\n" +
         (tls.empty() ? "" : "    tls: " + tls + "\n") + "    models: [{name: " + model + "}]\n";
}

std::string Chat(const std::string& model) {
  return R"({"model":")" + model + R"(","messages":[{"role":"user","content":"over tls"}]})";
}

std::string ErrorMessage(const HttpResult& r) {
  try {
    return std::string(json::parse(r.body).at("error").at("message").as_string());
  } catch (...) {
    return "<not an OpenAI error body: " + r.body + ">";
  }
}

class Tls : public ::testing::Test {
 protected:
  Pki pki_;
};

TEST_F(Tls, ConfiguredCaBundleIsTrusted) {
  ASSERT_TRUE(pki_.ok());
  FakeUpstream up(
      [](const Recorded& r) {
        if (r.body.find(R"("stream":true)") == std::string::npos) {
          return Action{.body = ChatCompletionJson("hello")};
        }
        return Action{.content_type = "text/event-stream", .chunks = ChatStreamChunks({"a", "b"})};
      },
      pki_.Server("good"));
  GatewayProcess gw("providers:\n" + Provider("secure", up.base_url(),
                                              "{ca_file: '" + pki_.Path("ca.pem") + "'}", "m"));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());
  auto r = client.Post("/v1/chat/completions", kChat);
  EXPECT_EQ(r.status, 200) << r.body << r.error;
  EXPECT_NE(r.body.find(R"("content":"hello")"), std::string::npos) << r.body;
  EXPECT_EQ(r.headers["x-hybridgate-provider"], "secure");
  auto recorded = up.requests();
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_NE(recorded[0].body.find("over tls"), std::string::npos) << recorded[0].body;
  EXPECT_EQ(recorded[0].headers["host"], "127.0.0.1:" + std::to_string(up.port()));

  // Streaming goes over the same verified path.
  auto stream =
      client.Post("/v1/chat/completions",
                  R"({"model":"m","stream":true,"messages":[{"role":"user","content":"s"}]})");
  EXPECT_EQ(stream.status, 200) << stream.body << stream.error;
  EXPECT_NE(stream.body.find(R"("content":"b")"), std::string::npos) << stream.body;
  EXPECT_NE(stream.body.find("[DONE]"), std::string::npos) << stream.body;
  EXPECT_EQ(up.request_count(), 2u);
  EXPECT_EQ(up.tls_failures(), 0);
  EXPECT_EQ(gw.Stop(), 0) << gw.Log();
}

TEST_F(Tls, HostNameFromTheUrlIsCheckedAgainstTheCertificate) {
  ASSERT_TRUE(pki_.ok());
  FakeUpstream good({}, pki_.Server("good"));
  FakeUpstream wrong({}, pki_.Server("wrong"));
  const std::string ca = "{ca_file: '" + pki_.Path("ca.pem") + "'}";
  GatewayProcess gw("providers:\n" + Provider("by-name", good.base_url("localhost"), ca, "named") +
                    Provider("mismatch", wrong.base_url(), ca, "mismatch"));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());

  auto r = client.Post("/v1/chat/completions", Chat("named"));
  EXPECT_EQ(r.status, 200) << r.body << r.error;
  EXPECT_EQ(good.request_count(), 1u);

  // Signed by the trusted CA, but for another name: refused before any byte of the request.
  r = client.Post("/v1/chat/completions", Chat("mismatch"));
  EXPECT_EQ(r.status, 502) << r.body;
  const std::string msg = ErrorMessage(r);
  EXPECT_NE(msg.find("TLS handshake"), std::string::npos) << msg;
  EXPECT_NE(msg.find("certificate verify failed"), std::string::npos) << msg;
  EXPECT_EQ(wrong.request_count(), 0u);
  // The server sees the client's alert asynchronously, maybe after the 502 reached us.
  EXPECT_TRUE(FakeUpstream::WaitFor([&] { return wrong.tls_failures() >= 1; }, 5s));
  EXPECT_EQ(gw.Stop(), 0) << gw.Log();
}

TEST_F(Tls, UnknownIssuerFailsWith502AndNothingReachesTheUpstream) {
  ASSERT_TRUE(pki_.ok());
  FakeUpstream up({}, pki_.Server("good"));
  // No ca_file: the system's roots, which do not include the test CA.
  GatewayProcess gw("providers:\n" + Provider("system-roots", up.base_url(), "", "m"));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());
  for (const char* body :
       {kChat, R"({"model":"m","stream":true,"messages":[{"role":"user","content":"s"}]})"}) {
    auto r = client.Post("/v1/chat/completions", body);
    EXPECT_EQ(r.status, 502) << r.body << r.error;
    const std::string msg = ErrorMessage(r);
    EXPECT_NE(msg.find("TLS handshake with upstream 127.0.0.1:" + std::to_string(up.port())),
              std::string::npos)
        << msg;
    EXPECT_NE(msg.find("certificate verify failed"), std::string::npos) << msg;
    EXPECT_NE(r.body.find(R"("code":"upstream_unavailable")"), std::string::npos) << r.body;
  }
  EXPECT_EQ(up.request_count(""), 0u) << "a request went over an unverified connection";
  EXPECT_TRUE(FakeUpstream::WaitFor([&] { return up.tls_failures() >= 2; }, 5s));
  EXPECT_EQ(gw.Stop(), 0) << gw.Log();
}

TEST_F(Tls, VerifyFalseAcceptsAnyCertificate) {
  ASSERT_TRUE(pki_.ok());
  FakeUpstream up({}, pki_.Server("wrong"));  // unknown issuer AND wrong name
  GatewayProcess gw("providers:\n" + Provider("insecure", up.base_url(), "{verify: false}", "m"));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());
  auto r = client.Post("/v1/chat/completions", kChat);
  EXPECT_EQ(r.status, 200) << r.body << r.error;
  EXPECT_EQ(up.request_count(), 1u);
  EXPECT_EQ(gw.Stop(), 0) << gw.Log();
}

TEST_F(Tls, UnreadableCaBundleStopsStartupWithTheReason) {
  ASSERT_TRUE(pki_.ok());
  const std::string missing = pki_.Path("no-such-ca.pem");
  GatewayProcess gw("providers:\n" + Provider("secure", "https://127.0.0.1:1/v1",
                                              "{ca_file: '" + missing + "'}", "m"));
  EXPECT_FALSE(gw.started());
  EXPECT_NE(gw.Log().find("cannot load CA bundle '" + missing + "'"), std::string::npos)
      << gw.Log();
}

// Two providers on the same host:port with different trust settings must not share pooled
// connections: one opened without verification must never carry a request for a provider that
// requires it.
TEST_F(Tls, UnverifiedConnectionIsNotReusedForAVerifyingProvider) {
  ASSERT_TRUE(pki_.ok());
  FakeUpstream up({}, pki_.Server("good"));
  GatewayProcess gw("providers:\n" + Provider("insecure", up.base_url(), "{verify: false}", "lax") +
                    Provider("strict", up.base_url(), "", "strict"));
  ASSERT_TRUE(gw.started()) << gw.Log();
  // One client connection is served by one worker, so both requests share its upstream pool.
  TestClient client(gw.port());
  auto r = client.Post("/v1/chat/completions", Chat("lax"));
  ASSERT_EQ(r.status, 200) << r.body << r.error;
  r = client.Post("/v1/chat/completions", Chat("strict"));
  EXPECT_EQ(r.status, 502) << "reused the unverified connection: " << r.body;
  EXPECT_EQ(up.request_count(), 1u);
  EXPECT_EQ(gw.Stop(), 0) << gw.Log();
}

}  // namespace
}  // namespace hybridgate::testing
