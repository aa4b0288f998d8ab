#include "learned/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace hybridgate::learned {
namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

std::vector<size_t> OrderByScoreDesc(std::span<const Outcome> o) {
  std::vector<size_t> idx(o.size());
  std::iota(idx.begin(), idx.end(), size_t{0});
  std::stable_sort(idx.begin(), idx.end(),
                   [&](size_t a, size_t b) { return o[a].score > o[b].score; });
  return idx;
}

struct Totals {
  double weak = 0, strong = 0;
};

Totals SumQuality(std::span<const Outcome> o) {
  Totals t;
  for (const Outcome& x : o) {
    t.weak += x.weak;
    t.strong += x.strong;
  }
  return t;
}

CurvePoint MakePoint(size_t routed, double quality_sum, size_t n, const Totals& t, double thr) {
  const double nd = static_cast<double>(n);
  CurvePoint p;
  p.strong_share = static_cast<double>(routed) / nd;
  p.quality = quality_sum / nd;
  const double gap = t.strong - t.weak;
  p.pgr = gap == 0 ? std::numeric_limits<double>::quiet_NaN() : (quality_sum - t.weak) / gap;
  p.threshold = thr;
  return p;
}

Error Invalid(std::string msg) { return MakeError(ErrorCode::kInvalidRequest, std::move(msg)); }

}  // namespace

std::vector<CurvePoint> FullCurve(std::span<const Outcome> o) {
  std::vector<CurvePoint> curve;
  if (o.empty()) return curve;
  const Totals t = SumQuality(o);
  const std::vector<size_t> idx = OrderByScoreDesc(o);
  double q = t.weak;
  curve.push_back(MakePoint(0, q, o.size(), t, o[idx[0]].score));
  size_t k = 0;
  while (k < idx.size()) {
    const double s = o[idx[k]].score;
    while (k < idx.size() && o[idx[k]].score == s) {
      q += o[idx[k]].strong - o[idx[k]].weak;
      ++k;
    }
    // Midway to the next lower score, so the boundary is not decided by rounding.
    const double thr = k < idx.size() ? (s + o[idx[k]].score) / 2 : kNegInf;
    curve.push_back(MakePoint(k, q, o.size(), t, thr == s ? o[idx[k]].score : thr));
  }
  return curve;
}

std::vector<CurvePoint> DecileCurve(std::span<const Outcome> o) {
  std::vector<CurvePoint> curve;
  if (o.empty()) return curve;
  const Totals t = SumQuality(o);
  const std::vector<size_t> idx = OrderByScoreDesc(o);
  const size_t n = o.size();
  for (int k = 0; k <= 10; ++k) {
    const size_t m = static_cast<size_t>(std::llround(static_cast<double>(k * n) / 10.0));
    const double thr = m < n ? o[idx[m]].score : kNegInf;
    double q = 0;
    size_t routed = 0;
    for (const Outcome& x : o) {
      const bool strong = x.score > thr;
      q += strong ? x.strong : x.weak;
      routed += strong ? 1 : 0;
    }
    curve.push_back(MakePoint(routed, q, n, t, thr));
  }
  return curve;
}

double AreaUnder(std::span<const CurvePoint> c) {
  double area = 0;
  for (size_t k = 1; k < c.size(); ++k) {
    area += (c[k].strong_share - c[k - 1].strong_share) * (c[k].pgr + c[k - 1].pgr) / 2;
  }
  return area;
}

double CostToReach(std::span<const CurvePoint> c, double target) {
  for (const CurvePoint& p : c) {
    if (p.pgr >= target - 1e-12) return p.strong_share;
  }
  return 1.0;
}

Result<Metrics> Evaluate(std::span<const Outcome> o) {
  if (o.empty()) return Fail(Invalid("no outcomes to evaluate"));
  const Totals t = SumQuality(o);
  if (t.strong == t.weak) {
    return Fail(Invalid("weak and strong models have equal quality; PGR is undefined"));
  }
  Metrics m;
  m.n = o.size();
  m.weak_quality = t.weak / static_cast<double>(o.size());
  m.strong_quality = t.strong / static_cast<double>(o.size());
  m.deciles = DecileCurve(o);
  m.apgr = AreaUnder(m.deciles);
  const std::vector<CurvePoint> full = FullCurve(o);
  m.cpt50 = CostToReach(full, 0.5);
  m.cpt80 = CostToReach(full, 0.8);
  return m;
}

Result<Calibration> ThresholdForShare(std::span<const double> scores, double share) {
  if (scores.empty()) return Fail(Invalid("no scores to calibrate on"));
  if (!(share >= 0 && share <= 1)) return Fail(Invalid("strong share must be in [0, 1]"));
  std::vector<double> s(scores.begin(), scores.end());
  std::sort(s.begin(), s.end(), std::greater<>());
  const size_t n = s.size();
  const size_t m = static_cast<size_t>(std::llround(share * static_cast<double>(n)));
  Calibration c;
  if (m == 0) {
    c.threshold = s.front();
  } else if (m >= n) {
    c.threshold = std::nextafter(s.back(), kNegInf);
  } else {
    c.threshold = s[m - 1] == s[m] ? s[m] : (s[m - 1] + s[m]) / 2;
  }
  size_t routed = 0;
  for (double v : s) routed += v > c.threshold ? 1 : 0;
  c.strong_share = static_cast<double>(routed) / static_cast<double>(n);
  return c;
}

Result<Calibration> ThresholdForPgr(std::span<const Outcome> o, double target_pgr) {
  if (o.empty()) return Fail(Invalid("no outcomes to calibrate on"));
  if (!(target_pgr >= 0 && target_pgr <= 1)) return Fail(Invalid("target PGR must be in [0, 1]"));
  const Totals t = SumQuality(o);
  if (t.strong == t.weak) {
    return Fail(Invalid("weak and strong models have equal quality; PGR is undefined"));
  }
  for (const CurvePoint& p : FullCurve(o)) {
    if (p.pgr >= target_pgr - 1e-12) {
      Calibration c;
      c.threshold = std::isinf(p.threshold) ? -1.0 : p.threshold;
      c.strong_share = p.strong_share;
      c.pgr = p.pgr;
      return c;
    }
  }
  return Fail(Invalid(fmt::format("PGR {} is not reachable on this data", target_pgr)));
}

}  // namespace hybridgate::learned
