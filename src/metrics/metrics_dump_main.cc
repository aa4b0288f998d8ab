// Writes a representative Metrics exposition to the file named by argv[1], for the
// metrics_npm_parse test (tests/e2e/metrics_parse.mjs parses it with a third-party parser).
#include <fstream>
#include <iostream>

#include "metrics/metrics.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: metrics_dump OUTPUT_FILE\n";
    return 2;
  }
  using hybridgate::metrics::BreakerState;
  using hybridgate::metrics::RequestLabels;
  hybridgate::metrics::Metrics m;
  m.OnScrape([](hybridgate::metrics::Metrics& self) { self.SetEngine(2, 5); });
  const RequestLabels chat{.route = "default",
                           .tier = "frontier",
                           .provider = "openai",
                           .model = "gpt-4o",
                           .endpoint = "chat_completions"};
  const RequestLabels local{.route = "private \"eu\"\\zone\nb",
                            .tier = "local",
                            .provider = "llama",
                            .model = "qwen2.5-0.5b",
                            .endpoint = "messages"};
  m.RecordRequest(chat, 200, 0.42, 0.08, 1200, 300, 1024, 0.0123);
  m.RecordRequest(chat, 429, 0.003, -1, 0, 0, 0, 0);
  m.RecordRequest(local, 200, 2.5, 0.2, 50, 700, 0, 0);
  m.RecordRequest(local, 503, 30, -1, 50, 0, 0, 0);
  m.RecordFallback("default", "anthropic");
  m.RecordEscalation("default", "local", "frontier");
  m.SetBreakerState("anthropic", BreakerState::kOpen);
  m.SetBreakerState("openai", BreakerState::kClosed);
  m.RecordFinding("email", 2);
  m.RecordResidencyAction("rerouted_local");
  m.RecordRejection("budget");
  m.RecordRejection("rpm");
  m.AddRedisErrors(1);
  m.AddLedgerDroppedRows(4);
  m.AddAcceptErrors(7);
  m.AddInternalErrors(1);
  m.InflightInc();
  std::ofstream out(argv[1], std::ios::binary);
  out << m.Serialize();
  out.close();
  if (!out) {
    std::cerr << "metrics_dump: cannot write " << argv[1] << "\n";
    return 1;
  }
  return 0;
}
