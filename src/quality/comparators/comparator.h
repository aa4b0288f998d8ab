// Comparators score a candidate answer against a reference answer to the same request: a
// shadow's against the client's (gateway/shadow.cc). One folder each below this one, registered by
// one line in registry.cc; a route names the ones it wants (`routes.<r>.shadow[].compare`). Scores
// land in [0, 1]: 1 when the candidate is as good as the reference.
//
// A comparator that needs a model (a judge's chat, an embedding model's vectors) asks the
// caller's ModelCalls, which sends through the egress gate, meters and caps the spend: the
// comparator itself never reaches a provider.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "api/chat_request.h"
#include "common/result.h"
#include "quality/comparison.h"

namespace hybridgate::quality {

// The model calls a comparator may make. Each is refused (an error) when the destination may
// not receive what is asked (the egress gate, with the class of the request and of both
// answers), when the caller's budget cannot take its worst case, or when the model fails.
class ModelCalls {
 public:
  virtual ~ModelCalls() = default;
  // An OpenAI chat.completion body from `model` (a public name, alias or provider/model).
  virtual boost::asio::awaitable<Result<std::string>> Chat(std::string_view model,
                                                           const api::ChatRequest& request) = 0;
  // One vector per text, from embeddings `model`.
  virtual boost::asio::awaitable<Result<std::vector<std::vector<double>>>> Embed(
      std::string_view model, std::span<const std::string> texts) = 0;
  // What the calls made so far cost, in USD.
  virtual double spent_usd() const = 0;
};

class Comparator {
 public:
  virtual ~Comparator() = default;
  virtual std::string_view name() const = 0;
  // c.shadow scored against c.primary (for an eval: the model's answer against the reference).
  // nullopt when it has nothing to say: an answer failed, no JSON was asked for, a model call
  // was refused or failed.
  virtual boost::asio::awaitable<std::optional<Score>> Compare(const Comparison& c,
                                                               ModelCalls& calls) const = 0;
};

// What a route (or an eval) asks for: a registered name, and the model it calls ("" for the
// comparators that call none: exact, json, json_schema).
struct ComparatorSpec {
  std::string name;
  std::string model;
};

// The registered comparators' names, in registration order.
std::span<const std::string_view> ComparatorNames();
// Whether `name` is registered and needs a model.
bool ComparatorNeedsModel(std::string_view name);
// The comparator `spec` names; an error naming the registered ones for an unknown name, or one
// that needs a model and has none.
Result<std::unique_ptr<Comparator>> MakeComparator(const ComparatorSpec& spec);

}  // namespace hybridgate::quality
