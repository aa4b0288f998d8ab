#include "gateway/feedback_api.h"

#include <fmt/format.h>

#include "common/json_writer.h"
#include "gateway/client_dialect.h"
#include "quality/store_config.h"

namespace hybridgate::gateway {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

Result<std::unique_ptr<FeedbackApi>> FeedbackApi::Create(const config::Config& config,
                                                         const Admission& admission,
                                                         metrics::Metrics& metrics) {
  std::unique_ptr<FeedbackApi> api(new FeedbackApi(admission, metrics));
  if (!config.quality.feedback) return api;
  auto store = quality::FeedbackStore::Open(quality::ResolveStoreConfig(config));
  if (!store) {
    return Fail(
        MakeError(ErrorCode::kInvalidRequest,
                  fmt::format("{}: quality: {} (quality.feedback: false turns feedback off)",
                              config.source, store.error().message)));
  }
  api->store_ = std::move(*store);
  return api;
}

asio::awaitable<void> FeedbackApi::Serve(http::Exchange& ex, const Runtime& rt,
                                         const std::string& id, RequestLogEntry& log,
                                         const dialects::ClientDialect& dialect) {
  const http::Request& req = ex.request();
  Error error;
  do {
    if (req.method() != bhttp::verb::post) {
      error = MakeError(ErrorCode::kMethodNotAllowed,
                        fmt::format("method {} is not allowed on /v1/feedback (POST)",
                                    std::string_view(req.method_string())));
      break;
    }
    if (!store_) {
      error = MakeError(ErrorCode::kNotFound,
                        "feedback is off on this gateway: set quality: {feedback: true}");
      break;
    }
    auto who = admission_.Authenticate(req);
    if (!who) {
      metrics_.RecordRejection("auth");
      error = std::move(who.error());
      break;
    }
    auto input = quality::ParseFeedback(req.body());
    if (!input) {
      error = std::move(input.error());
      break;
    }
    // A comment is text a person wrote: it is kept only up to the store's text class.
    int comment_class = 1;
    if (input->comment) {
      const std::string_view text[] = {*input->comment};
      comment_class = rt.scanner->Classify(text).data_class;
    }
    const std::string key_id = *who ? (*who)->id : std::string();
    auto rated = co_await store_->Rate(*input, comment_class, key_id, !admission_.auth_required());
    if (!rated) {
      error = std::move(rated.error());
      break;
    }
    if (!rated->found) {
      std::string_view shown = input->request_id;
      error = MakeError(ErrorCode::kNotFound,
                        fmt::format("no answered request '{}' to rate: request_id must be the "
                                    "x-hybridgate-request-id of an answer made with this key",
                                    shown),
                        "request_id");
      break;
    }
    std::string body;
    JsonWriter w(body);
    w.BeginObject()
        .Field("object", "feedback")
        .Field("request_id", input->request_id)
        .Field("kind", input->kind)
        .Field("score", input->score);
    if (input->comment) w.Field("comment_stored", rated->comment_kept);
    w.EndObject();
    http::HeaderList headers;
    headers.emplace_back("x-hybridgate-request-id", id);
    co_await ex.Respond(200, "application/json", std::move(body), headers);
    co_return;
  } while (false);
  log.error_code = error.CodeName();
  co_await RespondError(ex, {id, 0, &dialect}, error);
}

}  // namespace hybridgate::gateway
