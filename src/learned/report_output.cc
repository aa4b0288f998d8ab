#include "learned/report_output.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>

#include "common/xml.h"

namespace hybridgate::learned {
namespace {

constexpr double kPanelW = 460, kPanelH = 400, kMargin = 50;
constexpr const char* kColors[] = {"#1f77b4", "#ff7f0e", "#7f7f7f", "#2ca02c", "#d62728"};

void RenderPanel(const BenchmarkReport& rep, double x0, std::string& svg) {
  double lo = 0, hi = 1;
  for (const RouterResult& r : rep.routers) {
    for (const CurvePoint& p : r.curve) {
      if (std::isfinite(p.pgr)) lo = std::min(lo, p.pgr), hi = std::max(hi, p.pgr);
    }
  }
  lo = std::floor(lo * 10) / 10;
  hi = std::ceil(hi * 10) / 10;
  const double pw = kPanelW - 2 * kMargin, ph = kPanelH - 2 * kMargin;
  auto X = [&](double share) { return x0 + kMargin + share * pw; };
  auto Y = [&](double pgr) { return kMargin + (hi - pgr) / (hi - lo) * ph; };
  svg +=
      fmt::format("<text x='{:.1f}' y='25' font-size='15' text-anchor='middle'>{} (n={})</text>\n",
                  x0 + kPanelW / 2, EscapeXml(rep.benchmark), rep.n);
  svg += fmt::format(
      "<rect x='{:.1f}' y='{:.1f}' width='{:.1f}' height='{:.1f}' fill='none' stroke='#000'/>\n",
      X(0), Y(hi), pw, ph);
  for (int t = 0; t <= 10; t += 2) {
    const double v = t / 10.0;
    svg += fmt::format(
        "<text x='{:.1f}' y='{:.1f}' font-size='10' text-anchor='middle'>{:.0f}%</text>\n", X(v),
        Y(lo) + 14, v * 100);
  }
  for (double v = lo; v <= hi + 1e-9; v += 0.2) {
    svg +=
        fmt::format("<text x='{:.1f}' y='{:.1f}' font-size='10' text-anchor='end'>{:.1f}</text>\n",
                    X(0) - 4, Y(v) + 3, v);
  }
  svg += fmt::format(
      "<line x1='{:.1f}' y1='{:.1f}' x2='{:.1f}' y2='{:.1f}' stroke='#bbb' "
      "stroke-dasharray='4'/>\n",
      X(0), Y(0), X(1), Y(1));
  svg += fmt::format(
      "<text x='{:.1f}' y='{:.1f}' font-size='11' text-anchor='middle'>strong-call share</text>\n",
      x0 + kPanelW / 2, kPanelH - 8);
  for (size_t i = 0; i < rep.routers.size(); ++i) {
    const RouterResult& r = rep.routers[i];
    const char* color = kColors[i % std::size(kColors)];
    // Thin the full curve to about 400 points; enough for a 360-pixel-wide panel.
    const size_t step = std::max<size_t>(1, r.curve.size() / 400);
    std::string pts;
    for (size_t k = 0; k < r.curve.size(); k += step) {
      pts += fmt::format("{:.1f},{:.1f} ", X(r.curve[k].strong_share), Y(r.curve[k].pgr));
    }
    const CurvePoint& last = r.curve.back();
    pts += fmt::format("{:.1f},{:.1f}", X(last.strong_share), Y(last.pgr));
    svg += fmt::format("<polyline fill='none' stroke='{}' stroke-width='1.5' points='{}'/>\n",
                       color, pts);
    svg += fmt::format(
        "<text x='{:.1f}' y='{:.1f}' font-size='11' fill='{}'>{} — APGR {:.3f}</text>\n", X(0.03),
        Y(hi) + 14 + 14 * static_cast<double>(i), color, EscapeXml(r.name), r.metrics.apgr);
  }
}

}  // namespace

std::string RenderSvg(const std::vector<BenchmarkReport>& reports) {
  const double width = kPanelW * static_cast<double>(std::max<size_t>(1, reports.size()));
  std::string svg = fmt::format(
      "<svg xmlns='http://www.w3.org/2000/svg' width='{:.0f}' height='{:.0f}' "
      "font-family='sans-serif'>\n<rect width='100%' height='100%' fill='#fff'/>\n",
      width, kPanelH);
  for (size_t i = 0; i < reports.size(); ++i) {
    RenderPanel(reports[i], kPanelW * static_cast<double>(i), svg);
  }
  svg += "</svg>\n";
  return svg;
}

Status WriteSvg(const std::vector<BenchmarkReport>& reports, const std::string& path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  const std::string svg = RenderSvg(reports);
  out.write(svg.data(), static_cast<std::streamsize>(svg.size()));
  out.close();
  if (!out)
    return Fail(MakeError(ErrorCode::kInternal, fmt::format("{}: cannot write plot", path)));
  return {};
}

ProgressBar::ProgressBar(std::string label)
    : label_(std::move(label)), enabled_(isatty(STDERR_FILENO) == 1) {}

ProgressBar::~ProgressBar() {
  if (drawn_) std::fputc('\n', stderr);
}

void ProgressBar::Update(size_t done, size_t total) {
  if (!enabled_ || total == 0) return;
  constexpr int kWidth = 30;
  const int filled = static_cast<int>(kWidth * done / total);
  std::fprintf(stderr, "\r%s [%.*s%*s] %zu/%zu", label_.c_str(), filled,
               "##############################", kWidth - filled, "", done, total);
  std::fflush(stderr);
  drawn_ = true;
}

}  // namespace hybridgate::learned
