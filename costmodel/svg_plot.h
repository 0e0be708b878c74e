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
  bool log_x = false;
  bool log_y = false;
  int width = 720;
  int height = 440;
  std::vector<PlotSeries> series;
};

/// Renders the plot as an <svg> element. Non-positive values on a log axis are dropped.
std::string render_svg(const PlotSpec& spec);

/// Tick positions for an axis range: multiples of 1, 2 or 5 x 10^k (linear) or powers of ten
/// with 2x and 5x subdivisions when the range spans few decades (log).
std::vector<double> nice_ticks(double lo, double hi, bool log_scale);

/// Escapes &, <, >, " for XML text and attributes.
std::string xml_escape(const std::string& text);

/// The report's colour palette (colour-blind friendly), by series index.
const char* palette_color(size_t index);

}  // namespace gqaforge::costmodel
