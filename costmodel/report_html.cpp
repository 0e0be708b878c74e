// HTML report rendering.
#include "costmodel/report_html.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/build_info.h"
#include "core/strings.h"
#include "costmodel/svg_plot.h"
#include "costmodel/units.h"

namespace gqaforge::costmodel {
namespace {

const char* kStyle = R"css(
body { font-family: Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1100px; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
table { border-collapse: collapse; font-size: 0.85em; }
th, td { padding: 3px 6px; border-bottom: 1px solid #eee; text-align: right; white-space: nowrap; }
.scroll { overflow-x: auto; }
th { background: #f5f5f5; }
td.l, th.l { text-align: left; }
tr.best td { background: #eaf4ea; font-weight: bold; }
tr.base td { background: #fff4e0; }
.note { color: #555; font-size: 0.9em; }
.warn { color: #a04000; }
.kv td { text-align: left; border: none; padding: 2px 10px; white-space: normal; }
.kv td:first-child { white-space: nowrap; }
figure { margin: 1em 0; }
figure svg { display: block; width: 100%; height: auto; }
figcaption { color: #555; font-size: 0.85em; }
)css";

// Plots take the page's width (the svg scales down on narrower windows).
constexpr int kPlotWidth = 1060;
constexpr int kPlotHeight = 480;

std::string heads_label(const HeadConfig& h) {
  return fmt::format("H=({},{})", h.n_heads, h.n_kv_heads);
}

std::string row_html(const CandidateResult& c, size_t rank, const char* cls) {
  std::string measured;
  if (c.latency) {
    measured += fmt::format("<td>{}{}</td>", format_time_us(c.latency->total_us()), c.latency->extrapolated ? "*" : "");
  } else {
    measured += "<td>–</td>";
  }
  if (c.throughput) {
    measured += fmt::format("<td>{}{} (B={})</td>", format_scale(c.throughput->tokens_per_s),
                            c.throughput->step.extrapolated ? "*" : "", c.throughput->batch);
  } else {
    measured += "<td>–</td>";
  }
  return fmt::format(
      "<tr class=\"{}\"><td>{}</td><td class=\"l\">{}</td><td>{}</td><td>{:.1f}</td><td>{:.0f}</td><td "
      "class=\"l\">{}</td>"
      "<td>{:.4f}</td><td>{}</td><td>{}</td><td>{}</td>{}<td>{}</td></tr>\n",
      cls, rank == 0 ? std::string("–") : std::to_string(rank), c.heads.to_string(), format_scale(c.shape.params),
      c.shape.layers, c.shape.hidden,
      xml_escape(fmt::format("L={} d={} ({})", c.rounded.layers, c.rounded.hidden, format_scale(c.rounded_params))),
      c.rounded_loss, format_bytes(c.memory_bytes), format_flops(c.flops), format_decimal(c.z, 4), measured,
      c.pareto ? "yes" : "");
}

}  // namespace

std::string render_report_html(const SearchResult& result, const LossModel& loss, const std::vector<AspectPoint>& table,
                               size_t top) {
  const SearchSettings& s = result.settings;
  std::string html = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  html += fmt::format("<title>gqaforge search: L* = {} at T = {}</title>\n<style>{}</style>\n</head>\n<body>\n",
                      format_decimal(s.target_loss), format_context(s.context), kStyle);
  html += fmt::format(
      "<h1>Cost-optimal GQA configurations</h1>\n<p class=\"note\">Target loss L* = {} at expected context "
      "T = {} ({:.0f} tokens); objective <b>{}</b>. Recipe of Chen et al., \"Cost-Optimal Grouped-Query "
      "Attention for Long-Context Modeling\" (EMNLP 2025), Sec. 4.1.</p>\n",
      format_decimal(s.target_loss), format_context(s.context), s.context, objective_name(s.objective));

  html += "<h2>Settings</h2>\n<table class=\"kv\">\n";
  auto kv = [&html](const std::string& k, const std::string& v) {
    html += fmt::format("<tr><td><b>{}</b></td><td>{}</td></tr>\n", xml_escape(k), xml_escape(v));
  };
  kv("Z", fmt::format("{} M^{} + {} C^{}, a plain number with {} (units {})", format_decimal(s.z.lambda),
                      format_decimal(s.z.alpha), format_decimal(1 - s.z.lambda), format_decimal(s.z.beta),
                      z_units_description(s.z.units), z_units_name(s.z.units)));
  kv("cost", fmt::format("{} bytes/value, embeddings {} in N for cost", format_decimal(s.cost.bytes_per_value),
                         s.cost.count_embedding ? "counted" : "not counted"));
  kv("shapes", fmt::format("aspect ratio interpolated in {}, FFN {} matrices of {} d, d_h = {}, V = {}",
                           ratio_interpolation_name(s.shape.interpolation), s.shape.ffn_matrices,
                           format_decimal(s.shape.ffn_ratio), s.head_dim, s.shape.vocab));
  kv("loss model", loss.description().empty() ? "(no description)" : loss.description());
  kv("candidates", fmt::format("n_h, n_kv in powers of two up to {}, n_kv <= n_h; {} evaluated, {} skipped",
                               s.max_heads, result.ranked.size(), result.skipped.size()));
  if (objective_is_measured(s.objective) || !result.ranked.empty()) {
    kv("batch (latency, prompt)", std::to_string(s.batch));
  }
  html += "</table>\n";
  for (const std::string& w : result.warnings)
    html += fmt::format("<p class=\"warn\">warning: {}</p>\n", xml_escape(w));

  const CandidateResult& best = result.ranked.front();
  html += "<h2>Result</h2>\n";
  html += fmt::format(
      "<p>Best: <b>{}</b> with N = {} non-embedding parameters (L = {:.1f}, d = {:.0f}; rounded to L = {}, "
      "d = {}), memory {} and {} per token at T.</p>\n",
      best.heads.to_string(), format_scale(best.shape.params), best.shape.layers, best.shape.hidden,
      best.rounded.layers, best.rounded.hidden, format_bytes(best.memory_bytes), format_flops(best.flops));
  if (result.baseline) {
    const CandidateResult& b = *result.baseline;
    auto change = [](double r) { return r >= 0 ? format_percent(r) + " lower" : format_percent(-r) + " higher"; };
    html += fmt::format(
        "<p>Against the {} configuration {} at the same loss (N = {}): memory <b>{}</b>, "
        "FLOPs <b>{}</b>, Z {}.</p>\n",
        s.baseline ? "baseline" : "Llama-3 GQA", b.heads.to_string(), format_scale(b.shape.params),
        change(reduction(best.memory_bytes, b.memory_bytes)), change(reduction(best.flops, b.flops)),
        change(reduction(best.z, b.z)));
  }
  html +=
      "<div class=\"scroll\"><table>\n<tr><th>rank</th><th class=\"l\">H</th><th>N</th><th>L</th><th>d</th><th "
      "class=\"l\">rounded model</th>"
      "<th>loss</th><th>memory</th><th>FLOPs/token</th><th>Z</th><th>latency</th><th>tokens/s</th><th>Pareto</th></"
      "tr>\n";
  for (size_t i = 0; i < result.ranked.size(); ++i) {
    html += row_html(result.ranked[i], i + 1, i == 0 ? "best" : "");
  }
  if (result.baseline) html += row_html(*result.baseline, 0, "base");
  html +=
      "</table></div>\n<p class=\"note\">Memory and FLOPs per decoded token at context T for the real-valued shape "
      "(eqs. 3-4); N in parameters; loss predicted for the rounded model; latency of one decoded token, tokens/s per "
      "GPU at the largest batch B that fits "
      "(measured); * marks measured costs extrapolated beyond the tuned points. The shaded last row is the Llama-3 "
      "baseline.</p>\n";
  for (const std::string& line : summarize_skipped(result, loss)) {
    html += fmt::format("<p class=\"note\">Skipped: {}.</p>\n", xml_escape(line));
  }

  // The configurations drawn: the top ones and the baseline.
  std::vector<const CandidateResult*> drawn;
  for (size_t i = 0; i < result.ranked.size() && i < top; ++i) drawn.push_back(&result.ranked[i]);
  if (result.baseline) drawn.push_back(&*result.baseline);

  // 1. Cost vs context length: each configuration keeps its solved shape.
  {
    PlotSpec mem, flops;
    mem.title = "Memory per sequence vs context length";
    mem.x_label = "context length T (tokens)";
    mem.y_label = "M_infer(T)";
    mem.y_unit = "B";
    mem.log_x = mem.log_y = true;
    mem.width = kPlotWidth;
    mem.height = kPlotHeight;
    flops = mem;
    flops.title = "FLOPs per decoded token vs context length";
    flops.y_label = "C_infer(T)";
    flops.y_unit = "FLOP";
    for (size_t i = 0; i < drawn.size(); ++i) {
      const CandidateResult& c = *drawn[i];
      bool is_base = result.baseline && &c == &*result.baseline;
      PlotSeries ms, fs;
      ms.name = fs.name = fmt::format("{}{}", heads_label(c.heads), is_base ? " Llama-3" : "");
      ms.color = fs.color = is_base ? "#7f7f7f" : palette_color(i);
      ms.dashed = fs.dashed = is_base;
      ms.markers = fs.markers = false;
      for (double t = 1024; t <= 1048576 * 1.001; t *= std::sqrt(2.0)) {
        InferenceCost ic = inference_cost(c.shape.cost_shape(), t, s.cost);
        ms.points.emplace_back(t, ic.memory_values() * s.cost.bytes_per_value);
        fs.points.emplace_back(t, ic.flops());
      }
      mem.series.push_back(ms);
      flops.series.push_back(fs);
    }
    // A vertical line at the expected context.
    for (PlotSpec* spec : {&mem, &flops}) {
      double lo = INFINITY, hi = 0;
      for (const PlotSeries& ser : spec->series) {
        for (const auto& pt : ser.points) {
          lo = std::min(lo, pt.second);
          hi = std::max(hi, pt.second);
        }
      }
      PlotSeries marker;
      marker.name = fmt::format("expected T = {}", format_context(s.context));
      marker.color = "#000000";
      marker.dashed = true;
      marker.markers = false;
      marker.points = {{s.context, lo}, {s.context, hi}};
      spec->series.push_back(marker);
    }
    html += "<h2>Cost vs context length</h2>\n<figure>" + render_svg(mem) +
            "<figcaption>Memory (weights + KV cache) of one "
            "sequence at context T for the top configurations, each with the model size that reaches L*. The "
            "time-variant KV term dominates at long contexts.</figcaption></figure>\n";
    html +=
        "<figure>" + render_svg(flops) + "<figcaption>FLOPs of one decoded token at context T.</figcaption></figure>\n";
  }
  // 2. Loss vs cost per head configuration: vary N along each configuration's law.
  {
    PlotSpec lc;
    lc.title = "Predicted loss vs memory at the expected context";
    lc.x_label = "M_infer(T) at the expected context";
    lc.x_unit = "B";
    lc.y_label = "predicted loss";
    lc.log_x = true;
    lc.width = kPlotWidth;
    lc.height = kPlotHeight;
    for (size_t i = 0; i < drawn.size(); ++i) {
      const CandidateResult& c = *drawn[i];
      bool is_base = result.baseline && &c == &*result.baseline;
      PlotSeries ser;
      ser.name = fmt::format("{}{}", heads_label(c.heads), is_base ? " Llama-3" : "");
      ser.color = is_base ? "#7f7f7f" : palette_color(i);
      ser.dashed = is_base;
      ser.markers = false;
      for (double f = 0.125; f <= 8.001; f *= std::pow(2.0, 0.25)) {
        double n = c.shape.params * f;
        auto shape = solve_shape(table, n, c.shape.n_heads, c.shape.n_kv_heads, c.shape.head_dim, s.shape);
        if (!shape.ok()) continue;
        InferenceCost ic = inference_cost(shape->cost_shape(), s.context, s.cost);
        ser.points.emplace_back(ic.memory_values() * s.cost.bytes_per_value, c.law.predict(n));
      }
      lc.series.push_back(ser);
    }
    PlotSeries target;
    target.name = fmt::format("L* = {}", format_decimal(s.target_loss));
    target.color = "#000000";
    target.dashed = true;
    target.markers = false;
    double lo = INFINITY, hi = 0;
    for (const PlotSeries& ser : lc.series) {
      for (const auto& pt : ser.points) {
        lo = std::min(lo, pt.first);
        hi = std::max(hi, pt.first);
      }
    }
    if (hi > 0) target.points = {{lo, s.target_loss}, {hi, s.target_loss}};
    lc.series.push_back(target);
    html += "<h2>Loss vs cost per head configuration</h2>\n<figure>" + render_svg(lc) +
            "<figcaption>Each curve scales one configuration's model size from 1/8 to 8 times the size that reaches "
            "L*; where a curve crosses the dashed line is that configuration's cost at the target loss. The curves are "
            "not smooth where the number of layers is: a shape's layer count follows the paper's aspect-ratio table "
            "(d/L interpolated between its model sizes, which is not monotone in N), and the KV cache grows with L. "
            "The Llama-3 baseline shows it most, its memory being mostly KV cache (8 KV heads); the other curves have "
            "the same kinks under their larger weight term.</figcaption></figure>\n";
  }
  // 3. Pareto front of memory vs FLOPs.
  {
    PlotSpec pf;
    pf.title = "Memory vs FLOPs at the target loss";
    pf.x_label = "M_infer(T)";
    pf.x_unit = "B";
    pf.y_label = "C_infer(T) per token";
    pf.y_unit = "FLOP";
    pf.log_x = pf.log_y = true;
    pf.width = kPlotWidth;
    pf.height = kPlotHeight;
    PlotSeries all, front;
    all.name = "candidates";
    all.color = "#9ecae1";
    all.line = false;
    front.name = "Pareto front";
    front.color = "#D55E00";
    std::vector<std::pair<double, double>> fp;
    for (const CandidateResult& c : result.ranked) {
      all.points.emplace_back(c.memory_bytes, c.flops);
      all.labels.push_back(c.heads.to_string());
      if (c.pareto) fp.emplace_back(c.memory_bytes, c.flops);
    }
    std::sort(fp.begin(), fp.end());
    front.points = fp;
    pf.series.push_back(all);
    pf.series.push_back(front);
    PlotSeries b;
    b.name = "best";
    b.color = "#009E73";
    b.line = false;
    b.points = {{best.memory_bytes, best.flops}};
    pf.series.push_back(b);
    if (result.baseline) {
      PlotSeries base;
      base.name = "Llama-3 baseline";
      base.color = "#7f7f7f";
      base.line = false;
      base.points = {{result.baseline->memory_bytes, result.baseline->flops}};
      base.labels = {result.baseline->heads.to_string()};
      pf.series.push_back(base);
    }
    html += "<h2>Pareto front</h2>\n<figure>" + render_svg(pf) +
            "<figcaption>Every candidate at the model size that reaches L*; no configuration on the front can lower "
            "memory without raising FLOPs.</figcaption></figure>\n";
  }
  html += fmt::format("<p class=\"note\">Generated by gqaforge {} ({}).</p>\n</body>\n</html>\n", gqaforge_version(),
                      gqaforge_git_commit());
  return html;
}

}  // namespace gqaforge::costmodel
