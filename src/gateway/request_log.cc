#include "gateway/request_log.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/spdlog.h>
#include <time.h>

#include <charconv>
#include <chrono>
#include <cmath>
#include <memory>

#include "common/json_writer.h"
#include "gateway/log_sink.h"

namespace hybridgate::gateway {
namespace {

// The process's sink, for request lines that skip spdlog's formatter; null until InitLogging.
std::shared_ptr<BatchingSink>& RequestSink() {
  static std::shared_ptr<BatchingSink> sink;
  return sink;
}

// "2026-11-21T19:30:00.123456Z", as the logger's pattern writes it. The part down to the second
// is formatted once per second per thread.
std::string_view UtcTimestamp() {
  thread_local char buf[32];
  thread_local int64_t cached_second = -1;
  const auto now = std::chrono::system_clock::now();
  const int64_t us =
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  const int64_t second = us / 1000000;
  if (second != cached_second) {
    const time_t t = static_cast<time_t>(second);
    tm parts{};
    gmtime_r(&t, &parts);
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S.", &parts);
    cached_second = second;
  }
  char* frac = buf + 20;  // after "YYYY-MM-DDTHH:MM:SS."
  int64_t v = us % 1000000;
  for (int i = 5; i >= 0; --i, v /= 10) frac[i] = static_cast<char>('0' + v % 10);
  frac[6] = 'Z';
  return std::string_view(buf, 27);
}

// `"level":…,"msg":…}`: a line's JSON fields after the pattern's opening `{"ts":…,`.
std::string Fields(spdlog::level::level_enum level, std::string_view msg) {
  std::string line;
  JsonWriter w(line);
  const auto name = spdlog::level::to_string_view(level);
  w.BeginObject().Field("level", std::string_view(name.data(), name.size())).Field("msg", msg);
  w.EndObject();
  return line.substr(1);
}

void Emit(spdlog::level::level_enum level, std::string_view msg) {
  spdlog::log(level, "{}", Fields(level, msg));
}

// The pattern's %*: what Emit wrote as it is, anything else as its level and escaped text.
class JsonFields final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& m, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const std::string_view payload(m.payload.data(), m.payload.size());
    if (payload.starts_with("\"level\":")) {
      dest.append(payload.data(), payload.data() + payload.size());
      return;
    }
    const std::string fields = Fields(m.level, payload);
    dest.append(fields.data(), fields.data() + fields.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonFields>();
  }
};

}  // namespace

std::unique_ptr<spdlog::formatter> JsonLineFormatter() {
  auto f = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  // The timestamp goes first, then the line's own JSON fields.
  f->add_flag<JsonFields>('*').set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%fZ",%*)");
  return f;
}

void InitLogging(std::string_view level) {
  // A synchronous logger over the batching sink: the line is formatted on the calling thread and
  // written by the sink's own thread, a batch at a time.
  auto sink = std::make_shared<BatchingSink>();
  RequestSink() = sink;
  auto logger = std::make_shared<spdlog::logger>("hybridgate", sink);
  logger->set_formatter(JsonLineFormatter());
  logger->set_level(spdlog::level::from_str(std::string(level)));
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
}

void ShutdownLogging() {
  RequestSink().reset();
  spdlog::shutdown();  // drops the logger, the sink's last owner: it writes the rest and stops
}

void LogInfo(std::string_view msg) { Emit(spdlog::level::info, msg); }
void LogWarn(std::string_view msg) { Emit(spdlog::level::warn, msg); }
void LogError(std::string_view msg) { Emit(spdlog::level::err, msg); }

namespace {

// Milliseconds with three decimals ("12.345"): what a latency needs, without the shortest
// round-trip search std::to_chars does for a double.
void AppendMillis(std::string& out, double ms) {
  if (!std::isfinite(ms) || ms < 0) ms = 0;
  const auto us = static_cast<uint64_t>(ms * 1000 + 0.5);
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, us / 1000);
  *end++ = '.';
  const auto frac = static_cast<unsigned>(us % 1000);
  *end++ = static_cast<char>('0' + frac / 100);
  *end++ = static_cast<char>('0' + frac / 10 % 10);
  *end++ = static_cast<char>('0' + frac % 10);
  out.append(buf, end);
}

void AppendInt(std::string& out, int64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

// The client's model string (or path) as far as a log line carries it: kMaxLoggedModelBytes at
// most, cut before a UTF-8 continuation byte so a character is never split (AppendJsonString
// escapes it).
constexpr size_t kMaxLoggedModelBytes = 128;
std::string_view Capped(std::string_view s) {
  if (s.size() <= kMaxLoggedModelBytes) return s;
  size_t n = kMaxLoggedModelBytes;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

}  // namespace

// One request line. The keys are literals, written with their quotes and separators in one
// append each; only values are escaped. JsonWriter's general path cost twice the instructions.
void LogRequest(const RequestLogEntry& e) {
  if (!spdlog::should_log(spdlog::level::info)) return;
  // Reused per thread: the sink copies the line into its buffer before we return.
  thread_local std::string line;
  line.clear();
  BatchingSink* sink = RequestSink().get();
  if (sink != nullptr) {
    line.append(R"({"ts":")");
    line.append(UtcTimestamp());
    line.append(R"(","level":"info","msg":"request","id":)");
  } else {
    line.append(R"({"level":"info","msg":"request","id":)");
  }
  AppendJsonString(line, e.id);
  const auto text = [](std::string_view key_and_colon, std::string_view v) {
    line.append(key_and_colon);
    AppendJsonString(line, v);
  };
  const auto number = [](std::string_view key_and_colon, int64_t v) {
    line.append(key_and_colon);
    AppendInt(line, v);
  };
  text(R"(,"method":)", e.method);
  text(R"(,"path":)", Capped(e.path));  // the client's too, on an unknown route
  if (!e.model.empty()) text(R"(,"model":)", Capped(e.model));
  if (!e.provider.empty()) text(R"(,"provider":)", e.provider);
  if (!e.upstream_model.empty()) text(R"(,"upstream_model":)", e.upstream_model);
  number(R"(,"status":)", e.status);
  line.append(e.stream ? R"(,"stream":true)" : R"(,"stream":false)");
  number(R"(,"attempts":)", e.attempts);
  line.append(R"(,"latency_ms":)");
  AppendMillis(line, e.latency_ms);
  if (e.ttft_ms >= 0) {
    line.append(R"(,"ttft_ms":)");
    AppendMillis(line, e.ttft_ms);
  }
  if (e.input_tokens >= 0) number(R"(,"input_tokens":)", e.input_tokens);
  if (e.output_tokens >= 0) number(R"(,"output_tokens":)", e.output_tokens);
  if (!e.error_code.empty()) text(R"(,"error":)", e.error_code);
  if (e.sensitivity && e.sensitivity->data_class > 0) {
    number(R"(,"data_class":)", e.sensitivity->data_class);
    if (!e.sensitivity->findings.empty()) {
      line.append(R"(,"findings":[)");
      bool first = true;
      for (const auto& f : e.sensitivity->findings) {
        if (!first) line.push_back(',');
        first = false;
        text(R"({"type":)", f.type);
        number(R"(,"text":)", static_cast<int64_t>(f.text_index));
        number(R"(,"start":)", static_cast<int64_t>(f.start));
        number(R"(,"end":)", static_cast<int64_t>(f.end));
        line.push_back('}');
      }
      line.push_back(']');
    }
  }
  if (!e.rerouted_to.empty()) text(R"(,"rerouted_to":)", e.rerouted_to);
  line.push_back('}');
  if (sink != nullptr) {  // the usual case: straight into the sink's buffer
    line.push_back('\n');
    sink->Append(line, false);
    return;
  }
  // Passed as the message, not as a "{}" argument: nothing to format.
  const std::string_view msg = std::string_view(line).substr(1);  // the pattern opened the object
  spdlog::default_logger_raw()->log(spdlog::level::info,
                                    spdlog::string_view_t(msg.data(), msg.size()));
}

}  // namespace hybridgate::gateway
