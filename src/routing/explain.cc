#include "routing/explain.h"

#include <cmath>

#include "common/json_writer.h"

namespace hybridgate::routing {
namespace {

// Rounded so the output is stable to read and to diff.
double Round3(double v) { return std::round(v * 1000) / 1000; }

void WriteFeatures(JsonWriter& w, const complexity::Features& f) {
  w.Key("features").BeginObject();
  w.Field("complexity", Round3(f.complexity));
  w.Field("classifier", f.classifier);
  w.Key("top").BeginArray();
  for (const complexity::Contribution& c : f.top) {
    w.BeginObject().Field("name", c.name).Field("value", Round3(c.value)).EndObject();
  }
  w.EndArray();
  w.Field("est_input_tokens", f.est_input_tokens);
  w.Field("data_class", f.data_class);
  w.Field("has_images", f.has_images);
  w.Field("has_tools", f.has_tools);
  w.Field("wants_json", f.wants_json);
  w.Field("wants_json_schema", f.wants_json_schema);
  w.Field("turns", f.turns);
  w.Field("messages", f.messages);
  w.EndObject();
}

}  // namespace

std::string ExplainJson(const RouteDecision& d) {
  std::string out;
  JsonWriter w(out);
  w.BeginObject();
  w.Field("route", d.route);
  if (!d.route_why.empty()) w.Field("route_why", d.route_why);
  WriteFeatures(w, d.features);
  w.Key("tiers").BeginArray();
  for (const TierDecision& t : d.tiers) {
    w.BeginObject();
    w.Field("name", t.name);
    w.Field("eligible", t.eligible);
    w.Field("balance", BalanceName(t.balance));
    w.Field("why", t.why);
    w.Key("candidates").BeginArray();
    for (const RouteCandidate& c : t.candidates) w.String(c.deployment().key);
    w.EndArray();
    w.Key("skipped").BeginArray();
    for (const SkippedDeployment& s : t.skipped) {
      w.BeginObject().Field("key", s.key).Field("why", s.why).EndObject();
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  w.Key("candidates").BeginArray();
  int order = 1;
  for (const RouteCandidate& c : d.candidates) {
    w.BeginObject();
    w.Field("order", order++);
    w.Field("key", c.deployment().key);
    w.Field("provider", c.deployment().provider);
    w.Field("model", c.deployment().model);
    w.Field("tier", c.tier);
    w.Field("weight", c.weight);
    w.Field("probe", c.probe);
    w.Field("why", c.why);
    w.EndObject();
  }
  w.EndArray();
  if (d.panic) w.Field("panic", true);
  const Status st = d.ToStatus();
  if (st) {
    w.Field("status", "ok");
  } else {
    w.Key("status").BeginObject();
    w.Field("code", st.error().CodeName());
    w.Field("message", st.error().message);
    w.EndObject();
  }
  w.EndObject();
  return out;
}

}  // namespace hybridgate::routing
