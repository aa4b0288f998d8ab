// Parses a Prometheus text exposition (the body of GET /metrics) with the third-party
// parse-prometheus-text-format package and checks that HybridGate's families are there with the
// right types. Exits non-zero with a message on any failure.
//
// usage: node metrics_parse.mjs METRICS_FILE [NAME[:TYPE] ...]
//   With no NAME, every HybridGate family must be present (src/metrics' metrics_dump records one
//   event of each kind). With NAMEs, exactly those are required: a fresh gateway renders a labelled
//   family only once it has a series.
//
// The package throws on malformed sample and metadata lines; it is lenient about names and values
// (it keeps values as strings) and merges the buckets of all label sets of a histogram into one
// object, so names, values and the +Inf bucket are checked here, and per-series histogram
// invariants are left to the C++ strict parser in src/metrics/metrics_test.cc.
import { readFileSync } from 'node:fs';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';

const EXPECTED = {
  hybridgate_requests_total: 'COUNTER',
  hybridgate_request_duration_seconds: 'HISTOGRAM',
  hybridgate_time_to_first_token_seconds: 'HISTOGRAM',
  hybridgate_tokens_total: 'COUNTER',
  hybridgate_cost_usd_total: 'COUNTER',
  gen_ai_client_operation_duration_seconds: 'HISTOGRAM',
  gen_ai_server_time_to_first_token_seconds: 'HISTOGRAM',
  gen_ai_client_token_usage: 'HISTOGRAM',
  hybridgate_fallbacks_total: 'COUNTER',
  hybridgate_escalations_total: 'COUNTER',
  hybridgate_circuit_breaker_state: 'GAUGE',
  hybridgate_sensitive_findings_total: 'COUNTER',
  hybridgate_residency_actions_total: 'COUNTER',
  hybridgate_limit_rejections_total: 'COUNTER',
  hybridgate_redis_errors_total: 'COUNTER',
  hybridgate_ledger_dropped_rows_total: 'COUNTER',
  hybridgate_engine_active_slots: 'GAUGE',
  hybridgate_engine_queued_requests: 'GAUGE',
  hybridgate_inflight_requests: 'GAUGE',
  hybridgate_metrics_series_folded_total: 'COUNTER',
  hybridgate_accept_errors_total: 'COUNTER',
  hybridgate_internal_errors_total: 'COUNTER',
};
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const FLOAT = /^([+-]?(([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?|Inf)|NaN)$/;

function fail(message) {
  console.error(`metrics_parse: ${message}`);
  process.exit(1);
}

const [file, ...extra] = process.argv.slice(2);
if (!file) fail('usage: node metrics_parse.mjs METRICS_FILE [NAME[:TYPE] ...]');
const expected = extra.length ? {} : { ...EXPECTED };
for (const arg of extra) {
  const [name, type] = arg.split(':');
  expected[name] = (type ?? '').toUpperCase();
}

let families;
try {
  families = parsePrometheusTextFormat(readFileSync(file, 'utf8'));
} catch (e) {
  fail(`${file} does not parse: ${e.message}`);
}

const byName = new Map();
const checkValue = (family, what, value) => {
  if (value !== undefined && !FLOAT.test(value)) fail(`${family}: ${what} '${value}' is not a float`);
};
for (const f of families) {
  if (!METRIC_NAME.test(f.name)) fail(`bad metric name '${f.name}'`);
  if (byName.has(f.name)) fail(`family ${f.name} appears twice (samples not grouped)`);
  byName.set(f.name, f);
  if (!['COUNTER', 'GAUGE', 'HISTOGRAM', 'SUMMARY', 'UNTYPED'].includes(f.type)) {
    fail(`${f.name}: unknown type ${f.type}`);
  }
  for (const m of f.metrics) {
    for (const label of Object.keys(m.labels ?? {})) {
      if (!LABEL_NAME.test(label)) fail(`${f.name}: bad label name '${label}'`);
    }
    checkValue(f.name, 'value', m.value);
    checkValue(f.name, 'count', m.count);
    checkValue(f.name, 'sum', m.sum);
    if (f.type === 'HISTOGRAM' && m.buckets) {
      for (const [le, v] of Object.entries(m.buckets)) {
        checkValue(f.name, 'le', le === '+Inf' ? 'Inf' : le);
        checkValue(f.name, 'bucket', v);
      }
      if (!('+Inf' in m.buckets)) fail(`${f.name}: no le="+Inf" bucket`);
    }
  }
}
for (const [name, type] of Object.entries(expected)) {
  const f = byName.get(name);
  if (!f) fail(`family ${name} is missing`);
  if (type && f.type !== type) fail(`family ${name} is ${f.type}, expected ${type}`);
}
console.log(`metrics_parse: ${file}: ${families.length} families parsed, all expected present`);
