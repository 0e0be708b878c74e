// SVG plot rendering.
#include "costmodel/svg_plot.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>

#include <fmt/format.h>

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
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::vector<double> nice_ticks(double lo, double hi, bool log_scale) {
  std::vector<double> ticks;
  if (!(hi > lo)) return {lo};
  if (log_scale && lo > 0) {
    const int e0 = static_cast<int>(std::ceil(std::log10(lo) - 1e-9));
    const int e1 = static_cast<int>(std::floor(std::log10(hi) + 1e-9));
    const int decades = e1 - e0;
    const int stride = std::max(1, (decades + 7) / 8);
    for (int e = e0; e <= e1; e += stride) ticks.push_back(std::pow(10.0, e));
    if (ticks.size() < 2) return nice_ticks(lo, hi, false);  // inside about one decade
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

std::string tick_label(double v, const std::string& unit) {
  static const char* kPrefixes[] = {"", "k", "M", "G", "T", "P", "E", "Z"};
  const double a = std::fabs(v);
  if (a == 0) return unit.empty() ? "0" : fmt::format("0 {}", unit);
  std::string number;
  int p = 0;
  if (a >= 1000) {
    while (std::fabs(v) >= 999.5 && p < 7) {
      v /= 1000.0;
      ++p;
    }
    number = fmt::format("{:g}", std::round(v * 100) / 100);
  } else if (a >= 1 && std::fabs(v - std::round(v)) < 1e-9) {
    number = fmt::format("{:.0f}", v);
  } else {
    number = fmt::format("{:.3g}", v);
  }
  if (unit.empty()) return fmt::format("{}{}", number, kPrefixes[p]);
  return fmt::format("{} {}{}", number, kPrefixes[p], unit);
}

namespace {

// Minor (unlabelled) grid positions of a log axis: 2..9 x 10^k inside the range.
std::vector<double> minor_log_ticks(double lo, double hi) {
  std::vector<double> out;
  const int e0 = static_cast<int>(std::floor(std::log10(lo)));
  const int e1 = static_cast<int>(std::ceil(std::log10(hi)));
  if (e1 - e0 > 6) return out;
  for (int e = e0; e <= e1; ++e) {
    for (int m = 2; m <= 9; ++m) {
      const double t = m * std::pow(10.0, e);
      if (t > lo * (1 + 1e-9) && t < hi * (1 - 1e-9)) out.push_back(t);
    }
  }
  return out;
}

}  // namespace

std::string render_svg(const PlotSpec& spec) {
  const double w = spec.width, h = spec.height;
  const double right = 200, top = 40, bottom = 58;
  double left = 78;  // widened below for long y tick labels
  double pw = w - left - right;
  const double ph = h - top - bottom;
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
      "style=\"width: 100%; max-width: {0}px; height: auto\" "
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
      const double m = std::max(0.02, (u - l) * 0.03);
      if (u - l >= 0.3) {
        // Labels go at powers of ten only: widen the range just enough to hold two of them,
        // on the side nearer to one, so that every decade carries one label.
        l -= m;
        u += m;
        const int inside = static_cast<int>(std::floor(u) - std::ceil(l)) + 1;
        if (inside == 1) {
          if (l - std::floor(l) < std::ceil(u) - u)
            l = std::floor(l) - 0.02;
          else
            u = std::ceil(u) + 0.02;
        } else if (inside <= 0) {
          l = std::floor(l) - 0.02;
          u = std::ceil(u) + 0.02;
        }
        lo = std::pow(10.0, l);
        hi = std::pow(10.0, u);
        return;
      }
      double mm = (u - l) * 0.05 + (u == l ? 0.3 : 0.0);
      lo = std::pow(10.0, l - mm);
      hi = std::pow(10.0, u + mm);
    } else {
      double mm = (hi - lo) * 0.05 + (hi == lo ? std::max(1e-9, std::fabs(hi) * 0.1) : 0.0);
      lo -= mm;
      hi += mm;
    }
  };
  pad(x0, x1, spec.log_x);
  pad(y0, y1, spec.log_y);
  // Room for the y tick labels (about 7 px per character at 12 px) beside the axis title.
  size_t longest = 0;
  for (double t : nice_ticks(y0, y1, spec.log_y)) longest = std::max(longest, tick_label(t, spec.y_unit).size());
  left = std::max(78.0, 40.0 + 7.0 * static_cast<double>(longest));
  pw = w - left - right;
  auto sx = [&](double x) {
    double t = spec.log_x ? (std::log10(x) - std::log10(x0)) / (std::log10(x1) - std::log10(x0)) : (x - x0) / (x1 - x0);
    return left + t * pw;
  };
  auto sy = [&](double y) {
    double t = spec.log_y ? (std::log10(y) - std::log10(y0)) / (std::log10(y1) - std::log10(y0)) : (y - y0) / (y1 - y0);
    return top + ph - t * ph;
  };
  // Grid and ticks: labelled major ticks, and on log axes light unlabelled 2x..9x lines.
  const std::vector<double> x_ticks = nice_ticks(x0, x1, spec.log_x);
  const std::vector<double> y_ticks = nice_ticks(y0, y1, spec.log_y);
  auto decade_ticks = [](bool log_scale, const std::vector<double>& t) {
    return log_scale && t.size() >= 2 &&
           std::fabs(std::log10(t[1] / t[0]) - std::round(std::log10(t[1] / t[0]))) < 1e-9;
  };
  if (decade_ticks(spec.log_x, x_ticks)) {
    for (double t : minor_log_ticks(x0, x1)) {
      svg += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" stroke=\"#f2f2f2\"/>\n",
                         sx(t), top, top + ph);
    }
  }
  if (decade_ticks(spec.log_y, y_ticks)) {
    for (double t : minor_log_ticks(y0, y1)) {
      svg += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{2:.1f}\" y2=\"{1:.1f}\" stroke=\"#f2f2f2\"/>\n",
                         left, sy(t), left + pw);
    }
  }
  for (double t : x_ticks) {
    double px = sx(t);
    svg += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" stroke=\"#e0e0e0\"/>\n", px,
                       top, top + ph);
    svg += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" stroke=\"#333\"/>\n", px,
                       top + ph, top + ph + 5);
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n", px, top + ph + 18,
                       xml_escape(tick_label(t, spec.x_unit)));
  }
  for (double t : y_ticks) {
    double py = sy(t);
    svg += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{2:.1f}\" y2=\"{1:.1f}\" stroke=\"#e0e0e0\"/>\n", left,
                       py, left + pw);
    svg += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{2:.1f}\" y2=\"{1:.1f}\" stroke=\"#333\"/>\n",
                       left - 5, py, left);
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n", left - 8, py + 4,
                       xml_escape(tick_label(t, spec.y_unit)));
  }
  svg += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#333\"/>\n", left, top,
                     pw, ph);
  svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\" font-size=\"13\">{}{}</text>\n",
                     left + pw / 2, h - 14, xml_escape(spec.x_label), spec.log_x ? " (log scale)" : "");
  svg += fmt::format(
      "<text transform=\"translate(18 {:.1f}) rotate(-90)\" text-anchor=\"middle\" font-size=\"13\">{}{}</text>\n",
      top + ph / 2, xml_escape(spec.y_label), spec.log_y ? " (log scale)" : "");
  // Series, clipped to the plot area.
  // Clip ids must be unique within an HTML page: derive one from the title (deterministic).
  std::string clip_id = "clip";
  for (char c : spec.title) clip_id += std::isalnum(static_cast<unsigned char>(c)) ? c : '-';
  svg += fmt::format(
      "<clipPath id=\"{0}\"><rect x=\"{1}\" y=\"{2}\" width=\"{3}\" height=\"{4}\"/></clipPath>\n"
      "<g clip-path=\"url(#{0})\">\n",
      clip_id, left, top, pw, ph);
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
      svg += fmt::format(
          "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"{}\" stroke-width=\"2\"{}/>\n", lx,
          ly, lx + 22, ly, color, s.dashed ? " stroke-dasharray=\"6 4\"" : "");
    }
    if (s.markers)
      svg += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3.5\" fill=\"{}\"/>\n", lx + 11, ly, color);
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\">{}</text>\n", lx + 28, ly + 4, xml_escape(s.name));
    ly += 18;
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace gqaforge::costmodel
