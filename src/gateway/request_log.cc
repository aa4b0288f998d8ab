#include "gateway/request_log.h"

#include <spdlog/spdlog.h>
#include <time.h>

#include <charconv>
#include <chrono>
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

void Emit(spdlog::level::level_enum level, std::string_view msg) {
  std::string line;
  JsonWriter w(line);
  const auto name = spdlog::level::to_string_view(level);
  w.BeginObject().Field("level", std::string_view(name.data(), name.size())).Field("msg", msg);
  w.EndObject();
  spdlog::log(level, "{}", std::string_view(line).substr(1));  // the pattern opened the object
}

}  // namespace

void InitLogging(std::string_view level) {
  // A synchronous logger over the batching sink: the line is formatted on the calling thread and
  // written by the sink's own thread, a batch at a time.
  auto sink = std::make_shared<BatchingSink>();
  RequestSink() = sink;
  auto logger = std::make_shared<spdlog::logger>("hybridgate", sink);
  // The timestamp goes first, then the line's own JSON fields.
  logger->set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%fZ",%v)", spdlog::pattern_time_type::utc);
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

void LogRequest(const RequestLogEntry& e) {
  if (!spdlog::should_log(spdlog::level::info)) return;
  // Reused per thread: the sink copies the line into its buffer before we return.
  thread_local std::string line;
  line.clear();
  JsonWriter w(line);
  BatchingSink* sink = RequestSink().get();
  w.BeginObject();
  if (sink != nullptr) w.Field("ts", UtcTimestamp());
  w.Field("level", "info").Field("msg", "request").Field("id", e.id);
  w.Field("method", e.method).Field("path", e.path);
  if (!e.model.empty()) w.Field("model", e.model);
  if (!e.provider.empty()) w.Field("provider", e.provider);
  if (!e.upstream_model.empty()) w.Field("upstream_model", e.upstream_model);
  w.Field("status", e.status).Field("stream", e.stream).Field("attempts", e.attempts);
  w.Field("latency_ms", e.latency_ms);
  if (e.ttft_ms >= 0) w.Field("ttft_ms", e.ttft_ms);
  if (e.input_tokens >= 0) w.Field("input_tokens", e.input_tokens);
  if (e.output_tokens >= 0) w.Field("output_tokens", e.output_tokens);
  if (!e.error_code.empty()) w.Field("error", e.error_code);
  if (e.sensitivity && e.sensitivity->data_class > 0) {
    w.Field("data_class", e.sensitivity->data_class);
    if (!e.sensitivity->findings.empty()) {
      w.Key("findings").BeginArray();
      for (const auto& f : e.sensitivity->findings) {
        w.BeginObject().Field("type", f.type).Field("text", static_cast<int64_t>(f.text_index));
        w.Field("start", static_cast<int64_t>(f.start)).Field("end", static_cast<int64_t>(f.end));
        w.EndObject();
      }
      w.EndArray();
    }
  }
  if (!e.rerouted_to.empty()) w.Field("rerouted_to", e.rerouted_to);
  w.EndObject();
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
