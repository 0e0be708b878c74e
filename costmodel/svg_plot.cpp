// SVG plot rendering.
#include "costmodel/svg_plot.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "costmodel/units.h"

namespace gqaforge::costmodel {

const char* palette_color(size_t index) {
  static const char* kColors[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00",
                                  "#56B4E9", "#000000", "#F0E442", "#7f7f7f", "#8c564b"};
  return kColors[index % (sizeof(kColors) / sizeof(kColors[0]))];
}

std::string xml_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::vector<double> nice_ticks(double lo, double hi, bool log_scale) {
  std::vector<double> ticks;
  if (!(hi > lo)) return {lo};
  if (log_scale) {
    int e0 = static_cast<int>(std::floor(std::log10(lo) + 1e-9));
    int e1 = static_cast<int>(std::ceil(std::log10(hi) - 1e-9));
    int decades = e1 - e0;
    int stride = std::max(1, decades / 8);
    for (int e = e0; e <= e1; e += stride) {
      double base = std::pow(10.0, e);
      for (double m : {1.0, 2.0, 3.0, 5.0}) {
        if (m != 1.0 && decades > 2) continue;
        if (m == 3.0 && decades > 2) continue;
        double t = m * base;
        if (t >= lo * (1 - 1e-9) && t <= hi * (1 + 1e-9)) ticks.push_back(t);
      }
    }
    if (ticks.size() < 2) {  // a narrow range inside one decade: fall back to linear ticks
      return nice_ticks(lo, hi, false);
    }
    return ticks;
  }
  double raw = (hi - lo) / 6.0;
  double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  }
  for (double t = std::ceil(lo / step - 1e-9) * step; t <= hi + 1e-9 * step; t += step) {
    ticks.push_back(std::fabs(t) < 1e-12 * step ? 0.0 : t);
  }
  return ticks;
}

namespace {

std::string tick_label(double v) {
  static const char* kPrefixes[] = {"", "k", "M", "G", "T", "P", "E"};
  double a = std::fabs(v);
  if (a == 0) return "0";
  if (a >= 1000) {
    int p = 0;
    while (std::fabs(v) >= 999.5 && p < 6) {
      v /= 1000.0;
      ++p;
    }
    return fmt::format("{:g}{}", std::round(v * 100) / 100, kPrefixes[p]);
  }
  if (a >= 1 && std::fabs(v - std::round(v)) < 1e-9) return fmt::format("{:.0f}", v);
  return fmt::format("{:.3g}", v);
}

}  // namespace

std::string render_svg(const PlotSpec& spec) {
  const double w = spec.width, h = spec.height;
  const double left = 78, right = 190, top = 40, bottom = 58;
  const double pw = w - left - right, ph = h - top - bottom;
  double x0 = std::numeric_limits<double>::infinity(), x1 = -x0, y0 = x0, y1 = -x0;
  for (const PlotSeries& s : spec.series) {
    for (const auto& [x, y] : s.points) {
      if (!std::isfinite(x) || !std::isfinite(y)) continue;
      if ((spec.log_x && x <= 0) || (spec.log_y && y <= 0)) continue;
      x0 = std::min(x0, x);
      x1 = std::max(x1, x);
      y0 = std::min(y0, y);
      y1 = std::max(y1, y);
    }
  }
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {0} {1}\" width=\"{0}\" height=\"{1}\" "
      "font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">\n"
      "<rect x=\"0\" y=\"0\" width=\"{0}\" height=\"{1}\" fill=\"#ffffff\"/>\n",
      spec.width, spec.height);
  svg += fmt::format("<text x=\"{}\" y=\"24\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">{}</text>\n",
                     left + pw / 2, xml_escape(spec.title));
  if (!std::isfinite(x0)) {
    svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#666\">no data</text>\n</svg>\n",
                       left + pw / 2, top + ph / 2);
    return svg;
  }
  // Pad the ranges a little so that markers do not sit on the frame.
  auto pad = [](double& lo, double& hi, bool log_scale) {
    if (log_scale) {
      double l = std::log10(lo), u = std::log10(hi);
      double m = (u - l) * 0.05 + (u == l ? 0.3 : 0.0);
      lo = std::pow(10.0, l - m);
      hi = std::pow(10.0, u + m);
    } else {
      double m = (hi - lo) * 0.05 + (hi == lo ? std::max(1e-9, std::fabs(hi) * 0.1) : 0.0);
      lo -= m;
      hi += m;
    }
  };
  pad(x0, x1, spec.log_x);
  pad(y0, y1, spec.log_y);
  auto sx = [&](double x) {
    double t = spec.log_x ? (std::log10(x) - std::log10(x0)) / (std::log10(x1) - std::log10(x0)) : (x - x0) / (x1 - x0);
    return left + t * pw;
  };
  auto sy = [&](double y) {
    double t = spec.log_y ? (std::log10(y) - std::log10(y0)) / (std::log10(y1) - std::log10(y0)) : (y - y0) / (y1 - y0);
    return top + ph - t * ph;
  };
  // Grid and ticks.
  for (double t : nice_ticks(x0, x1, spec.log_x)) {
    double px = sx(t);
    svg += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" stroke=\"#e5e5e5\"/>\n", px, top, top + ph);
    svg += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" stroke=\"#333\"/>\n", px, top + ph, top + ph + 5);
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n", px, top + ph + 18, xml_escape(tick_label(t)));
  }
  for (double t : nice_ticks(y0, y1, spec.log_y)) {
    double py = sy(t);
    svg += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{2:.1f}\" y2=\"{1:.1f}\" stroke=\"#e5e5e5\"/>\n", left, py, left + pw);
    svg += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{2:.1f}\" y2=\"{1:.1f}\" stroke=\"#333\"/>\n", left - 5, py, left);
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n", left - 8, py + 4, xml_escape(tick_label(t)));
  }
  svg += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#333\"/>\n", left, top, pw, ph);
  svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\" font-size=\"13\">{}{}</text>\n", left + pw / 2,
                     h - 14, xml_escape(spec.x_label), spec.log_x ? " (log scale)" : "");
  svg += fmt::format("<text transform=\"translate(18 {:.1f}) rotate(-90)\" text-anchor=\"middle\" font-size=\"13\">{}{}</text>\n",
                     top + ph / 2, xml_escape(spec.y_label), spec.log_y ? " (log scale)" : "");
  // Series, clipped to the plot area.
  // Clip ids must be unique within an HTML page: derive one from the title (deterministic).
  std::string clip_id = "clip";
  for (char c : spec.title) clip_id += std::isalnum(static_cast<unsigned char>(c)) ? c : '-';
  svg += fmt::format("<clipPath id=\"{0}\"><rect x=\"{1}\" y=\"{2}\" width=\"{3}\" height=\"{4}\"/></clipPath>\n"
                     "<g clip-path=\"url(#{0})\">\n", clip_id, left, top, pw, ph);
  for (size_t i = 0; i < spec.series.size(); ++i) {
    const PlotSeries& s = spec.series[i];
    std::string color = s.color.empty() ? palette_color(i) : s.color;
    std::string path;
    for (const auto& [x, y] : s.points) {
      if ((spec.log_x && x <= 0) || (spec.log_y && y <= 0) || !std::isfinite(x) || !std::isfinite(y)) continue;
      path += fmt::format("{}{:.1f},{:.1f}", path.empty() ? "M" : " L", sx(x), sy(y));
    }
    if (s.line && !path.empty()) {
      svg += fmt::format("<path d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"{}/>\n", path, color,
                         s.dashed ? " stroke-dasharray=\"6 4\"" : "");
    }
    for (size_t k = 0; k < s.points.size(); ++k) {
      auto [x, y] = s.points[k];
      if ((spec.log_x && x <= 0) || (spec.log_y && y <= 0) || !std::isfinite(x) || !std::isfinite(y)) continue;
      if (s.markers) {
        svg += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3.5\" fill=\"{}\"/>\n", sx(x), sy(y), color);
      }
    }
  }
  svg += "</g>\n";
  // Point labels are not clipped: a label may run past the frame, never be cut.
  for (const PlotSeries& s : spec.series) {
    for (size_t k = 0; k < s.points.size() && k < s.labels.size(); ++k) {
      auto [x, y] = s.points[k];
      if ((spec.log_x && x <= 0) || (spec.log_y && y <= 0) || !std::isfinite(x) || !std::isfinite(y)) continue;
      if (s.labels[k].empty()) continue;
      svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"10\" fill=\"#333\">{}</text>\n", sx(x) + 5,
                         sy(y) - 5, xml_escape(s.labels[k]));
    }
  }
  // Legend to the right of the plot.
  double ly = top + 6;
  for (size_t i = 0; i < spec.series.size(); ++i) {
    const PlotSeries& s = spec.series[i];
    if (s.name.empty()) continue;
    std::string color = s.color.empty() ? palette_color(i) : s.color;
    double lx = left + pw + 14;
    if (s.line) {
      svg += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"{}\" stroke-width=\"2\"{}/>\n",
                         lx, ly, lx + 22, ly, color, s.dashed ? " stroke-dasharray=\"6 4\"" : "");
    }
    if (s.markers) svg += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3.5\" fill=\"{}\"/>\n", lx + 11, ly, color);
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\">{}</text>\n", lx + 28, ly + 4, xml_escape(s.name));
    ly += 18;
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace gqaforge::costmodel
