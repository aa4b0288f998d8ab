// Incremental Server-Sent Events parser (WHATWG HTML "event stream" rules): feed bytes as they
// arrive from an upstream, get complete events back. Handles CRLF/LF/CR line ends, comments,
// multi-line data and events split anywhere across reads. Pure; one instance per stream.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace hybridgate::api {

struct SseEvent {
  std::string event;  // "" means the default "message"
  std::string data;   // data lines joined by '\n'
  std::string id;
};

class SseParser {
 public:
  // A line longer than this is an upstream error, not a reason to grow without bound.
  static constexpr size_t kMaxLine = 16 * 1024 * 1024;

  // Calls `on_event(const SseEvent&)` for each event completed by `bytes`.
  // Fails (and should be abandoned) when a line exceeds kMaxLine.
  template <class F>
  Status Feed(std::string_view bytes, F&& on_event) {
    size_t pos = 0;
    while (pos < bytes.size()) {
      if (skip_lf_) {
        skip_lf_ = false;
        if (bytes[pos] == '\n') {
          ++pos;
          continue;
        }
      }
      const size_t end = bytes.find_first_of("\r\n", pos);
      if (end == std::string_view::npos) {
        if (line_.size() + bytes.size() - pos > kMaxLine) return Fail(TooLong());
        line_.append(bytes.substr(pos));
        break;
      }
      skip_lf_ = bytes[end] == '\r';
      bool dispatch;
      if (line_.empty()) {
        dispatch = ProcessLine(bytes.substr(pos, end - pos));
      } else {
        line_.append(bytes.substr(pos, end - pos));
        dispatch = ProcessLine(line_);
        line_.clear();
      }
      pos = end + 1;
      if (dispatch) {
        on_event(const_cast<const SseEvent&>(event_));
        event_.event.clear();
        event_.data.clear();
        has_data_ = false;
      }
    }
    return {};
  }

  // Bytes of an incomplete line held back.
  size_t Pending() const { return line_.size(); }

 private:
  // Returns true when the line is blank and an event with data is ready.
  bool ProcessLine(std::string_view line);
  static Error TooLong();

  std::string line_;
  SseEvent event_;
  bool has_data_ = false;
  bool skip_lf_ = false;
};

// Appends one "data: ...\n\n" event (no event name) to `out`; `data` must have no newlines.
void AppendSseData(std::string& out, std::string_view data);
// Appends "event: name\ndata: ...\n\n".
void AppendSseEvent(std::string& out, std::string_view event, std::string_view data);

}  // namespace hybridgate::api
