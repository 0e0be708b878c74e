// A small SVG line/scatter plot writer for the HTML report: linear or log axes with "nice"
// ticks, grid, axis labels, title, legend and optional point labels. Self-contained SVG text,
// no scripts, no external fonts.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace gqaforge::costmodel {

struct PlotSeries {
  std::string name;                               // legend entry ("" = no entry)
  std::vector<std::pair<double, double>> points;  // (x, y)
  std::vector<std::string> labels;                // optional, one per point
  std::string color;                              // CSS color; "" = palette
  bool line = true;                               // connect the points
  bool markers = true;                            // draw a dot per point
  bool dashed = false;
};

struct PlotSpec {
  std::string title;
  std::string x_label;
  std::string y_label;
  std::string x_unit;  // appended to tick labels with its SI prefix ("10 GB"); "" = a bare number
  std::string y_unit;
  bool log_x = false;
  bool log_y = false;
  int width = 720;
  int height = 440;
  std::vector<PlotSeries> series;
};

/// Renders the plot as an <svg> element. Non-positive values on a log axis are dropped. A log
/// axis spanning half a decade or more is widened to whole decades and labelled once per decade
/// (2x..9x get unlabelled grid lines); a narrower one gets linear ticks. The svg scales to the
/// width of its container (width 100%, the viewBox keeps the proportions).
std::string render_svg(const PlotSpec& spec);

/// Labelled tick positions for an axis range: multiples of 1, 2 or 5 x 10^k (linear), or the
/// powers of ten inside the range (log; every k-th when there are more than 8); a log range
/// holding fewer than two powers of ten falls back to the linear ticks.
std::vector<double> nice_ticks(double lo, double hi, bool log_scale);

/// A tick label: 1e10 with unit "B" -> "10 GB", 2.45 -> "2.45", 1e6 -> "1M".
std::string tick_label(double value, const std::string& unit = "");

/// Escapes &, <, >, " for XML text and attributes.
std::string xml_escape(const std::string& text);

/// The report's colour palette (colour-blind friendly), by series index.
const char* palette_color(size_t index);

}  // namespace gqaforge::costmodel
