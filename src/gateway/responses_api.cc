// The Responses API's conversation state around the request pipeline: loading the conversation
// a request continues, storing answers, and the stored-response endpoints.
#include <fmt/format.h>

#include <boost/json.hpp>
#include <charconv>

#include "api/openai_chat.h"
#include "gateway/chat_state.h"
#include "gateway/gateway.h"
#include "http/query.h"

namespace hybridgate::gateway {

namespace {

constexpr std::string_view kJson = "application/json";

Error NotFound(std::string_view id) {
  if (id.size() > 128) id = id.substr(0, 128);  // the client's string, bounded
  return MakeError(ErrorCode::kNotFound, fmt::format("Response with id '{}' not found.", id));
}

}  // namespace

asio::awaitable<bool> Gateway::LoadConversation(http::Exchange& ex, ChatState& st) {
  dialects::Conversation& conv = *st.context->conversation();
  // The key decides which stored answers the request may see (auth off: the keyless ones).
  auto who = admission_->Authenticate(ex.request());
  if (!who) {
    metrics_.RecordRejection("auth");
    st.out.error = std::move(who.error());
    co_return false;
  }
  std::string key_id = *who ? (*who)->id : std::string();
  if (!conv.previous_id.empty()) {
    auto row = co_await responses_->Get(conv.previous_id, key_id);
    if (!row) {
      st.out.error = std::move(row.error());
      co_return false;
    }
    if (!*row) {
      st.out.error = NotFound(conv.previous_id);
      st.out.error.param = "previous_response_id";
      co_return false;
    }
    st.history = ResponseStore::Conversation(**row);
    // The replayed conversation and the new input together are bounded like one body: a chain of
    // small continuations must not grow what is sent upstream (and stored again) without end.
    const auto limit = static_cast<size_t>(config_.server.max_body_bytes);
    if (st.history.size() + ex.request().body().size() > limit) {
      st.out.error = MakeError(
          ErrorCode::kInvalidRequest,
          fmt::format("the conversation continued by previous_response_id is {} bytes, over the "
                      "gateway's limit of {} bytes for one request; start a new conversation",
                      st.history.size() + ex.request().body().size(), limit),
          "previous_response_id");
      co_return false;
    }
    st.history_class = (*row)->data_class;
    if (auto s = st.meta.dialect->Replay(st.history, *st.req); !s) {
      st.out.error = std::move(s.error());
      co_return false;
    }
  }
  if (conv.store) {
    st.store_slot = responses_->Reserve();
    if (!st.store_slot.held()) {
      st.out.error = MakeError(ErrorCode::kUnavailable,
                               "the response store is busy; retry, or send store: false");
      st.out.error.retry_after_ms = 1000;
      co_return false;
    }
    // Saved before the answer's last byte leaves (ResponseMeta::answered).
    st.meta.answered = [this, &st, &conv, key_id = std::move(key_id)] {
      if (conv.response.empty()) return;
      ResponseStore::Row row;
      row.id = conv.id;
      row.key_id = key_id;
      row.data_class = std::max(st.cls.data_class, 1);
      row.model = st.req ? st.req->model : std::string();
      row.history = st.history.empty() ? "[]" : st.history;
      row.input_items = conv.input_items;
      row.output_items = conv.output_items.empty() ? "[]" : conv.output_items;
      row.response = conv.response;
      responses_->Save(std::move(row), st.store_slot);
    };
    st.meta.saved_by = responses_.get();
  }
  co_return true;
}

asio::awaitable<void> Gateway::StoredResponses(http::Exchange& ex, std::string_view path,
                                               const std::string& id, RequestLogEntry& log) {
  const dialects::ClientDialect& dialect = dialects_.Owning(path);
  std::string_view rest = path.substr(std::string_view("/v1/responses/").size());
  const bool items = rest.ends_with("/input_items");
  if (items) rest.remove_suffix(std::string_view("/input_items").size());
  const bool del = ex.request().method() == boost::beast::http::verb::delete_;
  Error error;
  do {
    if (rest.empty() || rest.find('/') != std::string_view::npos) {
      error = MakeError(ErrorCode::kNotFound, fmt::format("no route for {}", path));
      break;
    }
    if (items && del) {
      error = MakeError(ErrorCode::kMethodNotAllowed,
                        fmt::format("method DELETE is not allowed on {} (GET)", path));
      break;
    }
    auto who = admission_->Authenticate(ex.request());
    if (!who) {
      metrics_.RecordRejection("auth");
      error = std::move(who.error());
      break;
    }
    const std::string key_id = *who ? (*who)->id : std::string();
    if (del) {
      auto deleted = co_await responses_->Delete(rest, key_id);
      if (!deleted) {
        error = std::move(deleted.error());
        break;
      }
      if (!*deleted) {
        error = NotFound(rest);
        break;
      }
      std::string body;
      JsonWriter w(body);
      w.BeginObject().Field("id", rest).Field("object", "response").Field("deleted", true);
      w.EndObject();
      co_await ex.Respond(200, kJson, std::move(body));
      co_return;
    }
    auto row = co_await responses_->Get(rest, key_id);
    if (!row) {
      error = std::move(row.error());
      break;
    }
    if (!*row) {
      error = NotFound(rest);
      break;
    }
    if (!items) {
      co_await ex.Respond(200, kJson, std::move((*row)->response));
      co_return;
    }
    // input_items: the conversation before the answer (history and input), newest first
    // unless order=asc; `limit` (1-100, default 20) after the item `after`.
    ResponseStore::Row inputs = std::move(**row);
    inputs.output_items = "[]";
    boost::system::error_code ec;
    boost::json::value all = boost::json::parse(ResponseStore::Conversation(inputs), ec);
    if (ec || !all.is_array()) {
      error = MakeError(ErrorCode::kInternal, "stored response is unreadable");
      break;
    }
    auto& arr = all.as_array();
    const std::string_view target = ex.request().target();
    const std::string_view order = http::QueryParam(target, "order");
    if (!order.empty() && order != "asc" && order != "desc") {
      error = MakeError(ErrorCode::kInvalidRequest, "order must be asc or desc", "order");
      break;
    }
    if (order != "asc") std::reverse(arr.begin(), arr.end());
    int64_t limit = 20;
    if (auto l = http::QueryParam(target, "limit"); !l.empty()) {
      const auto [end, ec] = std::from_chars(l.data(), l.data() + l.size(), limit);
      if (ec != std::errc() || end != l.data() + l.size() || limit < 1 || limit > 100) {
        error = MakeError(ErrorCode::kInvalidRequest, "limit must be an integer from 1 to 100",
                          "limit");
        break;
      }
    }
    size_t start = 0;
    if (auto after = http::QueryParam(target, "after"); !after.empty()) {
      start = arr.size() + 1;
      for (size_t i = 0; i < arr.size(); ++i) {
        const auto* obj = arr[i].if_object();
        const auto* item_id = obj ? obj->if_contains("id") : nullptr;
        if (item_id && item_id->is_string() && item_id->as_string() == after) start = i + 1;
      }
      if (start > arr.size()) {
        error =
            MakeError(ErrorCode::kInvalidRequest, "after names no item of this response", "after");
        break;
      }
    }
    boost::json::array page;
    for (size_t i = start; i < arr.size() && static_cast<int64_t>(page.size()) < limit; ++i) {
      page.push_back(arr[i]);
    }
    boost::json::object list;
    const bool more = start + page.size() < arr.size();
    auto first_id = [&](const boost::json::value& v) -> boost::json::value {
      const auto* o = v.if_object();
      const auto* i = o ? o->if_contains("id") : nullptr;
      return i ? *i : boost::json::value(nullptr);
    };
    list["object"] = "list";
    list["first_id"] = page.empty() ? boost::json::value(nullptr) : first_id(page.front());
    list["last_id"] = page.empty() ? boost::json::value(nullptr) : first_id(page.back());
    list["has_more"] = more;
    list["data"] = std::move(page);
    co_await ex.Respond(200, kJson, boost::json::serialize(list));
    co_return;
  } while (false);
  log.error_code = error.CodeName();
  co_await RespondError(ex, {id, 0, &dialect}, error);
}

}  // namespace hybridgate::gateway
