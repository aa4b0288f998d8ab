// The egress gate: the one door out of the gateway. Every call to a provider — primary, retry,
// fallback, escalation, and every later kind (shadow, judge, eval) — is checked here, with the
// exact bytes about to be sent, before the connection is asked for. Plans already leave out the
// providers a request may not reach; the gate does not trust that: it refuses a destination whose
// `max_data_class` is below the request's class, and for any destination below class 5 it scans
// the encoded body again (every string, classify/body_strings.h), so that what a translation
// merged, what redaction missed and whatever a future feature adds is judged as it leaves.
//
// Plain value, built once per request by the gateway; Check() is const and does no I/O.
#pragma once

#include <string_view>

#include "common/result.h"
#include "config/config.h"
#include "routing/catalog.h"

namespace hybridgate::sensitivity {
class Scanner;
struct Classification;
}  // namespace hybridgate::sensitivity

namespace hybridgate::routing {

struct EgressGate {
  // The request's class: its strings' findings, the x-hybridgate-data-class header, the key's
  // floor. 0 (never classified) is refused everywhere but where class 5 may go.
  int data_class = 0;
  // Its findings, for the refusal's message (types only); may be null.
  const sensitivity::Classification* findings = nullptr;
  // The key's ceiling: nothing above it leaves, wherever it goes (5: none).
  int key_max_class = 5;
  // Rescans bodies bound below class 5; with `content_classes` for images, audio and files.
  const sensitivity::Scanner* scanner = nullptr;
  const config::ResidencyConfig* residency = nullptr;

  // Ok when `d` may receive `body` (the upstream request body; empty for an in-process
  // provider, which gets the decoded request and is checked by class alone). Otherwise a
  // kPolicyBlocked error naming the provider, its zone and limit, and the finding types.
  Status Check(const Deployment& d, std::string_view body) const;
};

}  // namespace hybridgate::routing
