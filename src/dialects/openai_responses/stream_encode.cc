// The Responses API's streaming events, from an upstream's OpenAI chat chunks. One item is open
// at a time (reasoning summary, message text, or one function call); a delta of another kind
// closes it with its .done events and opens the next, so output_index counts items in order.
#include "api/json.h"
#include "api/sse.h"
#include "common/json_writer.h"
#include "dialects/openai_responses/response_object.h"
#include "dialects/openai_responses/responses.h"

namespace hybridgate::dialects {

namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

class Stream final : public StreamEncoder {
 public:
  explicit Stream(ResponsesContext& ctx) : ctx_(ctx) {}

  Status Feed(std::string_view chunk, std::string& out) override {
    if (chunk == "[DONE]") return {};
    auto root = api::ParseOpenAiChunk(chunk);
    if (!root) return hybridgate::Fail(std::move(root.error()));
    if (!started_) {
      model_ = api::StrField(*root, "model");
      Start(out);
    }
    element usage;
    if (!(*root)["usage"].get(usage) && usage.is_object()) usage_ = responses::ReadUsage(usage);
    array choices;
    element choice;
    if ((*root)["choices"].get_array().get(choices) || choices.at(0).get(choice)) return {};
    element delta;
    if (!choice["delta"].get(delta) && delta.is_object()) {
      std::string_view reasoning = api::StrField(delta, "reasoning_content");
      if (reasoning.empty()) reasoning = api::StrField(delta, "reasoning");
      if (!reasoning.empty()) {
        OpenItem(out, Open::kReasoning);
        text_.append(reasoning);
        Event(out, "response.reasoning_summary_text.delta", [&](JsonWriter& w) {
          ItemRef(w).Field("summary_index", 0).Field("delta", reasoning);
        });
      }
      std::string_view content = api::StrField(delta, "content");
      if (content.empty()) content = api::StrField(delta, "refusal");
      if (!content.empty()) {
        OpenItem(out, Open::kText);
        text_.append(content);
        Event(out, "response.output_text.delta", [&](JsonWriter& w) {
          ItemRef(w).Field("content_index", 0).Field("delta", content);
          w.Key("logprobs").BeginArray().EndArray();
        });
      }
      array calls;
      if (!delta["tool_calls"].get_array().get(calls)) {
        for (element tc : calls) FeedCall(out, tc);
      }
    }
    std::string_view finish = api::StrField(choice, "finish_reason");
    if (!finish.empty()) finish_.assign(finish);
    return {};
  }

  // An upstream of this API answers (same-dialect passthrough): its events go out as they came,
  // but for the Response object of response.created, .in_progress, .completed, ... (its id,
  // store and previous_response_id: RewriteNativeResponse).
  void Native(std::string_view sse_event, std::string& out) override {
    native_ = ctx_.native = true;
    // A key, never text: a string's quotes are escaped. Read without parsing the event.
    constexpr std::string_view kSeq = R"("sequence_number":)";
    if (const size_t at = sse_event.find(kSeq); at != std::string_view::npos) {
      int64_t n = 0;
      for (size_t i = at + kSeq.size();
           i < sse_event.size() && sse_event[i] >= '0' && sse_event[i] <= '9'; ++i) {
        n = n * 10 + (sse_event[i] - '0');
      }
      seq_ = n + 1;  // an error of ours follows the upstream's numbering
    }
    if (sse_event.find(R"("response":)") == std::string_view::npos) {
      out.append(sse_event);
      return;
    }
    api::SseParser parser;
    std::string event, data;
    (void)parser.Feed(sse_event, [&](const api::SseEvent& e) {
      event = e.event;
      data = e.data;
    });
    auto root = api::ParseJsonView(data);
    object obj;
    element response;
    if (!root || root->get_object().get(obj) || obj["response"].get(response) ||
        !response.is_object()) {
      out.append(sse_event);
      return;
    }
    if (const std::string_view model = api::StrField(response, "model"); !model.empty()) {
      model_ = model;
    }
    scratch_.clear();
    JsonWriter w(scratch_);
    w.BeginObject();
    for (auto [key, value] : obj) {
      if (key == "response") {
        w.RawField(key, responses::RewriteNativeResponse(value, ctx_));
      } else {
        w.RawField(key, simdjson::minify(value));
      }
    }
    w.EndObject();
    if (event.empty()) {
      api::AppendSseData(out, scratch_);
    } else {
      api::AppendSseEvent(out, event, scratch_);
    }
  }

  void Finish(std::string& out) override {
    if (finished_) return;
    if (!started_) Start(out);
    CloseItem(out);
    finished_ = true;
    responses::ResponseState state;
    state.model = model_;
    state.incomplete_reason = responses::IncompleteReason(finish_);
    state.status = state.incomplete_reason.empty() ? "completed" : "incomplete";
    state.output_items = "[" + items_ + "]";
    state.usage = usage_.value_or(responses::Usage{});
    std::string response;
    responses::WriteResponse(response, ctx_, state);
    const std::string_view type =
        state.incomplete_reason.empty() ? "response.completed" : "response.incomplete";
    Event(out, type, [&](JsonWriter& w) { w.RawField("response", response); });
    ctx_.conv.output_items = std::move(state.output_items);
    ctx_.conv.response = std::move(response);
  }

  void Fail(const Error& error, std::string& out) override {
    if (finished_) return;
    if (!started_ && !native_) Start(out);  // the upstream's own events began a native answer
    finished_ = true;
    Event(out, "error", [&](JsonWriter& w) {
      w.Field("code", error.CodeName()).Field("message", error.message);
      if (error.param.empty()) {
        w.Key("param").Null();
      } else {
        w.Field("param", error.param);
      }
    });
    responses::ResponseState state;
    state.model = model_;
    state.status = "failed";
    state.output_items = "[" + items_ + "]";
    JsonWriter e(state.error_json);
    e.BeginObject().Field("code", error.CodeName()).Field("message", error.message).EndObject();
    std::string response;
    responses::WriteResponse(response, ctx_, state);
    Event(out, "response.failed", [&](JsonWriter& w) { w.RawField("response", response); });
  }

 private:
  enum class Open : uint8_t { kNone, kReasoning, kText, kCall };

  template <typename Fields>
  void Event(std::string& out, std::string_view type, Fields&& fields) {
    scratch_.clear();
    JsonWriter w(scratch_);
    w.BeginObject().Field("type", type).Field("sequence_number", seq_++);
    fields(w);
    w.EndObject();
    api::AppendSseEvent(out, type, scratch_);
  }
  JsonWriter& ItemRef(JsonWriter& w) {
    return w.Field("item_id", item_id_).Field("output_index", output_index_);
  }

  void Start(std::string& out) {
    started_ = true;
    responses::ResponseState state;
    state.status = "in_progress";
    state.model = model_;
    state.usage.reset();
    std::string response;
    responses::WriteResponse(response, ctx_, state);
    Event(out, "response.created", [&](JsonWriter& w) { w.RawField("response", response); });
    Event(out, "response.in_progress", [&](JsonWriter& w) { w.RawField("response", response); });
  }

  void OpenItem(std::string& out, Open kind) {
    if (open_ == kind && kind != Open::kCall) return;
    CloseItem(out);
    open_ = kind;
    ++output_index_;
    text_.clear();
    if (kind == Open::kReasoning) {
      item_id_ = responses::NewId("rs_");
      Event(out, "response.output_item.added", [&](JsonWriter& w) {
        w.Field("output_index", output_index_).Key("item");
        responses::WriteReasoningItem(w, item_id_, "");
      });
      Event(out, "response.reasoning_summary_part.added", [&](JsonWriter& w) {
        ItemRef(w).Field("summary_index", 0).Key("part").BeginObject();
        w.Field("type", "summary_text").Field("text", "").EndObject();
      });
    } else if (kind == Open::kText) {
      item_id_ = responses::NewId("msg_");
      Event(out, "response.output_item.added", [&](JsonWriter& w) {
        w.Field("output_index", output_index_).Key("item").BeginObject();
        w.Field("id", item_id_).Field("type", "message").Field("status", "in_progress");
        w.Field("role", "assistant").Key("content").BeginArray().EndArray().EndObject();
      });
      Event(out, "response.content_part.added", [&](JsonWriter& w) {
        ItemRef(w).Field("content_index", 0).Key("part");
        OutputTextPart(w, "");
      });
    } else if (kind == Open::kCall) {
      item_id_ = responses::NewId("fc_");
      Event(out, "response.output_item.added", [&](JsonWriter& w) {
        w.Field("output_index", output_index_).Key("item");
        responses::WriteCallItem(w, item_id_, "in_progress", call_id_, call_name_, "");
      });
    }
  }

  static void OutputTextPart(JsonWriter& w, std::string_view text) {
    w.BeginObject().Field("type", "output_text").Field("text", text);
    w.Key("annotations").BeginArray().EndArray().Key("logprobs").BeginArray().EndArray();
    w.EndObject();
  }

  void CloseItem(std::string& out) {
    const Open was = open_;
    open_ = Open::kNone;
    if (was == Open::kNone) return;
    std::string item;
    JsonWriter iw(item);
    if (was == Open::kReasoning) {
      Event(out, "response.reasoning_summary_text.done",
            [&](JsonWriter& w) { ItemRef(w).Field("summary_index", 0).Field("text", text_); });
      Event(out, "response.reasoning_summary_part.done", [&](JsonWriter& w) {
        ItemRef(w).Field("summary_index", 0).Key("part").BeginObject();
        w.Field("type", "summary_text").Field("text", text_).EndObject();
      });
      responses::WriteReasoningItem(iw, item_id_, text_);
    } else if (was == Open::kText) {
      Event(out, "response.output_text.done", [&](JsonWriter& w) {
        ItemRef(w).Field("content_index", 0).Field("text", text_);
        w.Key("logprobs").BeginArray().EndArray();
      });
      Event(out, "response.content_part.done", [&](JsonWriter& w) {
        ItemRef(w).Field("content_index", 0).Key("part");
        OutputTextPart(w, text_);
      });
      responses::WriteMessageItem(iw, item_id_, "completed", text_, "");
    } else {
      Event(out, "response.function_call_arguments.done",
            [&](JsonWriter& w) { ItemRef(w).Field("name", call_name_).Field("arguments", text_); });
      responses::WriteCallItem(iw, item_id_, "completed", call_id_, call_name_, text_);
    }
    Event(out, "response.output_item.done",
          [&](JsonWriter& w) { w.Field("output_index", output_index_).RawField("item", item); });
    if (!items_.empty()) items_ += ',';
    items_ += item;
  }

  void FeedCall(std::string& out, element tc) {
    const int64_t index = api::IntField(tc, "index");
    element fn;
    const bool has_fn = !tc["function"].get(fn);
    if (open_ != Open::kCall || index != call_index_) {
      call_index_ = index;
      call_id_ = api::StrField(tc, "id");
      if (call_id_.empty()) call_id_ = responses::NewId("call_");
      call_name_ = has_fn ? api::StrField(fn, "name") : "";
      OpenItem(out, Open::kCall);
    }
    const std::string_view args = has_fn ? api::StrField(fn, "arguments") : "";
    if (args.empty()) return;
    text_.append(args);
    Event(out, "response.function_call_arguments.delta",
          [&](JsonWriter& w) { ItemRef(w).Field("delta", args); });
  }

  ResponsesContext& ctx_;
  int64_t seq_ = 0;
  bool started_ = false;
  bool native_ = false;  // the events are the upstream's own (Native)
  bool finished_ = false;
  std::string model_;
  Open open_ = Open::kNone;
  int output_index_ = -1;
  std::string item_id_;
  std::string text_;  // the open item's text or arguments so far
  int64_t call_index_ = -1;
  std::string call_id_;
  std::string call_name_;
  std::string items_;  // the closed items, comma-separated
  std::optional<responses::Usage> usage_;
  std::string finish_;
  std::string scratch_;
};

}  // namespace

std::unique_ptr<StreamEncoder> OpenAiResponses::NewStream(const api::ChatRequest&,
                                                          RequestContext* context) const {
  return std::make_unique<Stream>(static_cast<ResponsesContext&>(*context));
}

}  // namespace hybridgate::dialects
