// A scriptable fake of an OpenAI-compatible upstream for integration tests. It runs its own
// io_context thread on a loopback port, records every request it receives (method, target,
// headers, body) and answers each one as the test's script says: JSON, an SSE stream (optionally
// paced, gated or cut), a stall, or a reset. It also counts connections and peer hang-ups, so
// tests can assert keep-alive reuse and cancellation. Optionally it speaks HTTPS with a
// certificate the test made (FakeUpstreamOptions), and counts failed TLS handshakes.
#pragma once

#include <atomic>
#include <boost/json/array.hpp>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace hybridgate::testing {

struct Recorded {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

// A one-shot latch a test opens to release a gated stream.
class Gate {
 public:
  void Open();
  bool WaitOpen(std::chrono::milliseconds timeout);

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

struct Action {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::milliseconds delay{0};  // before the response head
  // Streaming: each entry is written as one HTTP chunk (already SSE-framed).
  std::vector<std::string> chunks;
  std::chrono::milliseconds chunk_delay{0};
  std::shared_ptr<Gate> gate;  // if set, wait for it after the first chunk
  int cut_after = -1;          // close the connection after this many chunks
  bool stall = false;          // never answer (until the peer goes away)
  bool reset = false;          // abort the connection (RST) instead of answering
  bool close = false;          // send Connection: close
  bool hang_up = false;        // close the connection after answering, without saying so
};

struct FakeUpstreamOptions {
  uint16_t port = 0;  // 0: any free loopback port
  // Both set: serve HTTPS with this PEM certificate chain and private key. Peer hang-up
  // detection (hangups(), stall, gate) is only reliable over plain TCP.
  std::string tls_cert_file;
  std::string tls_key_file;
};

class FakeUpstream {
 public:
  using Script = std::function<Action(const Recorded&)>;

  explicit FakeUpstream(Script script = {});
  FakeUpstream(Script script, FakeUpstreamOptions options);  // throws if it cannot listen
  ~FakeUpstream();

  uint16_t port() const { return port_; }
  bool tls() const { return tls_; }
  // `host` lets TLS tests address it by a name its certificate does (or does not) carry.
  std::string base_url(std::string_view host = "127.0.0.1") const {
    return (tls_ ? "https://" : "http://") + std::string(host) + ":" + std::to_string(port_) +
           "/v1";
  }
  void SetScript(Script script);

  // Requests received, optionally only those for `target` (readiness probes hit /v1/models).
  std::vector<Recorded> requests(std::string_view target = "/v1/chat/completions") const;
  size_t request_count(std::string_view target = "/v1/chat/completions") const;
  int connections() const { return connections_.load(); }
  int hangups() const { return hangups_.load(); }            // peers that closed mid-answer
  int tls_failures() const { return tls_failures_.load(); }  // handshakes that failed
  // Waits until `pred()` holds (polling), up to `timeout`.
  static bool WaitFor(const std::function<bool()>& pred, std::chrono::milliseconds timeout);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  uint16_t port_ = 0;
  bool tls_ = false;
  std::atomic<int> connections_{0};
  std::atomic<int> hangups_{0};
  std::atomic<int> tls_failures_{0};
  friend struct Impl;
};

// Canned OpenAI bodies.
std::string ChatCompletionJson(std::string_view content, std::string_view model = "m",
                               int prompt_tokens = 5, int completion_tokens = 7);
std::vector<std::string> ChatStreamChunks(const std::vector<std::string>& pieces,
                                          std::string_view model = "m", bool usage = true);
// A client's chat history with one tool round, as OpenAI `messages`: the user asks, the assistant
// calls `function` with `arguments` (a JSON text) as call_1, the tool answers `result`, and the
// user follows up.
boost::json::array ToolRoundMessages(std::string_view ask, std::string_view function,
                                     std::string_view arguments, std::string_view result,
                                     std::string_view follow_up);
// An assistant message that calls `function` with `arguments` (a JSON text), finish_reason
// "tool_calls".
std::string ToolCallCompletionJson(std::string_view call_id, std::string_view function,
                                   std::string_view arguments, std::string_view model = "m");
// The same as a stream: the call's id and name first, then `argument_pieces` (which concatenate
// to the arguments' JSON text) as deltas of tool_calls[0], finish_reason "tool_calls", an
// optional usage chunk and [DONE].
std::vector<std::string> ToolCallStreamChunks(std::string_view call_id, std::string_view function,
                                              const std::vector<std::string>& argument_pieces,
                                              std::string_view model = "m", bool usage = true);

}  // namespace hybridgate::testing
