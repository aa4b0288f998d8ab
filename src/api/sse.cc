#include "api/sse.h"

namespace hybridgate::api {

bool SseParser::ProcessLine(std::string_view line) {
  if (line.empty()) {
    // A blank line with no data dispatches nothing but still resets the event type (WHATWG).
    if (!has_data_) event_.event.clear();
    return has_data_;
  }
  if (line.front() == ':') return false;  // comment / keep-alive
  std::string_view field = line;
  std::string_view value;
  if (const size_t colon = line.find(':'); colon != std::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    if (has_data_) event_.data.push_back('\n');
    event_.data.append(value);
    has_data_ = true;
  } else if (field == "event") {
    event_.event.assign(value);
  } else if (field == "id") {
    event_.id.assign(value);
  }
  return false;
}

Error SseParser::TooLong() {
  return MakeError(ErrorCode::kUpstreamUnavailable, "upstream sent an SSE line over 16 MiB");
}

void AppendSseData(std::string& out, std::string_view data) {
  out.append("data: ");
  out.append(data);
  out.append("\n\n");
}

void AppendSseEvent(std::string& out, std::string_view event, std::string_view data) {
  out.append("event: ");
  out.append(event);
  out.push_back('\n');
  AppendSseData(out, data);
}

}  // namespace hybridgate::api
