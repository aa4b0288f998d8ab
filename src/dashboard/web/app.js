// The dashboard's pages: each reads its /admin/api/ document (docs/DASHBOARD.md) and renders
// tiles, tables and uPlot charts. Every number shown carries its exact value in data-value, so
// that tests and scripts read what is shown without parsing formatted text.
'use strict';

const pages = ['overview', 'protection', 'keys'];
const charts = {};
let refreshTimer = null;

const count = (n) => Number(n).toLocaleString('en-US');
const usd = (n) => '$' + Number(n).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: n < 1 ? 6 : 2 });
const pct = (r) => (r * 100).toFixed(1) + '%';
const ms = (n) => count(n) + ' ms';

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) e.append(c instanceof Node ? c : String(c));
  return e;
}

// A tile: label, formatted value, the raw value in data-value, an optional hint.
function tile(id, label, value, format, hint) {
  return el('div', { class: 'tile' },
    el('div', { class: 'label', id: `label-${id}` }, label),
    el('div', { class: 'value', 'data-metric': id, 'data-value': String(value), 'aria-labelledby': `label-${id}` }, format(value)),
    ...(hint ? [el('div', { class: 'hint' }, hint)] : []));
}

function table(node, columns, rows) {
  node.replaceChildren();
  const head = el('tr');
  for (const c of columns) head.append(el('th', { scope: 'col', class: c.num ? 'num' : '' }, c.label));
  node.append(el('thead', {}, head));
  const body = el('tbody');
  if (rows.length === 0) body.append(el('tr', {}, el('td', { colspan: String(columns.length), class: 'empty' }, 'no requests in this window')));
  for (const r of rows) {
    const tr = el('tr', { 'data-row': String(r[columns[0].key]) });
    for (const c of columns) {
      const v = r[c.key];
      const text = c.format ? c.format(v) : String(v ?? '');
      tr.append(el('td', { class: c.num ? 'num' : '', 'data-col': c.key, 'data-value': String(v ?? ''), title: text }, text));
    }
    body.append(tr);
  }
  node.append(body);
}

const groupColumns = (name) => [
  { key: 'name', label: name },
  { key: 'requests', label: 'Requests', num: true, format: count },
  { key: 'request_share', label: 'Share', num: true, format: pct },
  { key: 'total_tokens', label: 'Tokens', num: true, format: count },
  { key: 'cost_usd', label: 'Cost', num: true, format: usd },
  { key: 'usd_per_mtok', label: '$ / 1M tokens', num: true, format: usd },
  { key: 'errors', label: 'Errors', num: true, format: count },
];

function timeAxis() {
  return { stroke: '#555', grid: { stroke: '#eee' } };
}

// Axis labels that stay distinct for small values (uPlot's default rounds $0.004 to "0").
const axisValues = (u, splits) => splits.map((v) => (Math.abs(v) >= 1000 ? count(v) : Number(v.toPrecision(3)).toString()));

function drawChart(id, series, data, yLabel) {
  const node = document.getElementById(id);
  const width = Math.max(280, node.clientWidth || 600);
  const opts = {
    width, height: 220,
    series: [{}, ...series],
    axes: [timeAxis(), { label: yLabel, stroke: '#555', grid: { stroke: '#eee' }, size: 70, values: axisValues }],
    scales: { x: { time: true } },
    legend: { show: true },
  };
  if (charts[id]) charts[id].destroy();
  node.replaceChildren();
  charts[id] = new uPlot(opts, data, node);
}

function renderOverview(d) {
  const t = d.totals;
  document.getElementById('overview-tiles').replaceChildren(
    tile('requests', 'Requests', t.requests, count, t.requests_per_s >= 1 ? `${t.requests_per_s.toFixed(1)} per second` : `${(t.requests_per_s * 60).toFixed(2)} per minute`),
    tile('total_tokens', 'Tokens', t.total_tokens, count, `${count(t.input_tokens)} in · ${count(t.output_tokens)} out`),
    tile('cost_usd', 'Cost in window', t.cost_usd, usd),
    tile('usd_per_mtok', 'Blended $ / 1M tokens', t.usd_per_mtok, usd),
    tile('spend_today', 'Spend today (UTC)', d.spend.today_usd, usd),
    tile('spend_7d', 'Spend, 7 days', d.spend.last_7d_usd, usd),
    tile('spend_30d', 'Spend, 30 days', d.spend.last_30d_usd, usd),
    tile('p50_latency_ms', 'Latency p50', t.p50_latency_ms, ms),
    tile('p95_latency_ms', 'Latency p95', t.p95_latency_ms, ms),
    tile('p50_ttft_ms', 'Time to first token p50', t.p50_ttft_ms, ms, `${count(t.streamed_requests)} streamed`),
    tile('p95_ttft_ms', 'Time to first token p95', t.p95_ttft_ms, ms),
    tile('errors', 'Errors', t.errors, count, pct(t.error_rate)),
    tile('fallbacks', 'Fallbacks', t.fallbacks, count, pct(t.fallback_rate)),
    tile('escalations', 'Escalations', t.escalations, count, pct(t.escalation_rate)),
  );
  table(document.getElementById('by-zone'), groupColumns('Zone'), d.by_zone);
  table(document.getElementById('by-tier'), groupColumns('Tier'), d.by_tier);
  table(document.getElementById('by-model'), groupColumns('Model'), d.by_model);
  const xs = d.series.map((p) => p.t / 1000);
  drawChart('chart-requests', [
    { label: 'self-hosted', stroke: '#2a7', width: 2 },
    { label: 'external', stroke: '#c52', width: 2 },
    { label: 'all', stroke: '#333', width: 1, dash: [4, 4] },
  ], [xs, d.series.map((p) => p.self_hosted), d.series.map((p) => p.external), d.series.map((p) => p.requests)], 'requests');
  drawChart('chart-cost', [{ label: 'cost (USD)', stroke: '#36c', width: 2 }],
    [xs, d.series.map((p) => p.cost_usd)], 'USD');
}

function renderProtection(d) {
  const v = d.verdict;
  const verdict = document.getElementById('verdict');
  verdict.textContent = v.text;
  verdict.className = 'verdict ' + (v.class3_plus_reached_external === 0 && v.violations === 0 ? 'ok' : 'bad');
  verdict.dataset.value = String(v.class3_plus_reached_external);
  document.getElementById('protection-tiles').replaceChildren(
    tile('protection_requests', 'Requests', d.requests, count),
    tile('action_none', 'Sent as they were', d.actions.none, count),
    tile('action_route', 'Routed to a self-hosted model', d.actions.route, count),
    tile('action_redact', 'Redacted before leaving', d.actions.redact, count),
    tile('action_block', 'Blocked', d.actions.block, count),
    tile('class3_external', 'Class ≥ 3 that reached an external provider', v.class3_plus_reached_external, count),
    tile('violations', 'Attempts above the provider\'s class', v.violations, count),
  );
  const rows = d.by_class.map((c) => ({
    data_class: c.data_class, requests: c.requests,
    none: c.actions.none, route: c.actions.route, redact: c.actions.redact, block: c.actions.block,
    answered_self_hosted: c.answered_self_hosted, answered_external: c.answered_external,
  }));
  table(document.getElementById('by-class'), [
    { key: 'data_class', label: 'Data class' },
    { key: 'requests', label: 'Requests', num: true, format: count },
    { key: 'none', label: 'Sent as is', num: true, format: count },
    { key: 'route', label: 'Routed', num: true, format: count },
    { key: 'redact', label: 'Redacted', num: true, format: count },
    { key: 'block', label: 'Blocked', num: true, format: count },
    { key: 'answered_self_hosted', label: 'Answered self-hosted', num: true, format: count },
    { key: 'answered_external', label: 'Answered external', num: true, format: count },
  ], rows);
  table(document.getElementById('findings'), [
    { key: 'type', label: 'Finding type' },
    { key: 'requests', label: 'Requests', num: true, format: count },
  ], d.findings);
}

// "$1.20 of $5.00 a day (24.0%)", or "no budget".
function budgetText(b) {
  if (!b) return 'no budget';
  return `${usd(b.spent_usd)} of ${usd(b.usd)} a ${b.window} (${pct(b.used)})`;
}

function renderKeys(d) {
  document.getElementById('keys-tiles').replaceChildren(
    tile('rejected_rate_limited', 'Refused: rate limit', d.rejections.rate_limited, count),
    tile('rejected_budget_exceeded', 'Refused: budget spent', d.rejections.budget_exceeded, count),
    tile('rejected_unauthenticated', 'Refused: no or wrong key', d.rejections.unauthenticated, count),
  );
  const flat = (r) => ({
    ...r,
    spent_usd: r.budget ? r.budget.spent_usd : '',
    budget_text: budgetText(r.budget),
  });
  const useColumns = [
    { key: 'requests', label: 'Requests', num: true, format: count },
    { key: 'cost_usd', label: 'Cost in window', num: true, format: usd },
    { key: 'rate_limited', label: '429 rate limit', num: true, format: count },
    { key: 'budget_exceeded', label: '429 budget', num: true, format: count },
  ];
  const spent = { key: 'spent_usd', label: 'Spent this budget window', num: true, format: (v) => (v === '' ? '—' : usd(v)) };
  table(document.getElementById('keys'), [
    { key: 'key', label: 'Key' },
    { key: 'team', label: 'Team' },
    { key: 'budget_text', label: 'Budget' },
    spent,
    ...useColumns,
    { key: 'revoked', label: 'Revoked', format: (v) => (v ? 'yes' : '') },
  ], d.keys.map(flat));
  table(document.getElementById('teams'), [
    { key: 'team', label: 'Team' },
    { key: 'budget_text', label: 'Budget' },
    spent,
    ...useColumns,
  ], d.teams.map(flat));
}

async function load() {
  const page = pages.includes(location.hash.slice(1)) ? location.hash.slice(1) : 'overview';
  for (const p of pages) {
    document.getElementById(`page-${p}`).hidden = p !== page;
    const link = document.querySelector(`nav a[data-page="${p}"]`);
    if (p === page) link.setAttribute('aria-current', 'page'); else link.removeAttribute('aria-current');
  }
  const windowLabel = document.getElementById('window').value;
  const status = document.getElementById('status');
  status.textContent = 'Loading…';
  document.body.dataset.loaded = '';
  const res = await fetch(`/admin/api/${page}?window=${encodeURIComponent(windowLabel)}`, { credentials: 'same-origin' });
  if (res.status === 401) { location.assign('/ui/login'); return; }
  const body = await res.json();
  if (!res.ok) {
    status.textContent = `The gateway answered ${res.status}: ${body.error?.message ?? 'no message'}`;
    return;
  }
  ({ overview: renderOverview, protection: renderProtection, keys: renderKeys })[page](body);
  status.textContent = `${body.window.label} to ${new Date(body.window.until_ms).toLocaleTimeString()} · ledger on ${body.source}`;
  document.body.dataset.loaded = page;
}

function schedule() {
  clearTimeout(refreshTimer);
  load().catch((e) => { document.getElementById('status').textContent = `Could not load: ${e.message}`; })
    .finally(() => { refreshTimer = setTimeout(schedule, 15000); });
}

window.addEventListener('hashchange', schedule);
document.getElementById('window').addEventListener('change', schedule);
let resizeTimer = null;
window.addEventListener('resize', () => { clearTimeout(resizeTimer); resizeTimer = setTimeout(schedule, 200); });
schedule();
