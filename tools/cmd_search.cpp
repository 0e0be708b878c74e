// `gqaforge search`: the cost-optimal GQA recipe. For a target loss and an expected context
// length it ranks the head configurations (n_h, n_kv) by the chosen objective (the paper's Z,
// memory, FLOPs, or measured latency / throughput from a tuning database), prints the table
// and the reduction against Llama-3's GQA at the same loss, and can write an HTML report.
#include <cstdio>
#include <memory>

#include "core/fs.h"
#include "core/log.h"
#include "core/strings.h"
#include "costmodel/load_measurements.h"
#include "costmodel/report_html.h"
#include "costmodel/search.h"
#include "costmodel/table4.h"
#include "costmodel/units.h"
#include "tools/args.h"
#include "tools/commands.h"

namespace gqaforge::cli {
namespace {

using namespace costmodel;

Result<double> number_flag(const ArgParser& p, const std::string& name, double lo, double hi) {
  auto v = parse_double(p.get(name));
  if (!v.ok() || !(*v >= lo && *v <= hi)) {
    return invalid_argument("--{} '{}' must be a number in [{}, {}]", name, p.get(name), lo, hi);
  }
  return *v;
}

Result<int64_t> count_flag(const ArgParser& p, const std::string& name) {
  auto v = parse_count(p.get(name));
  if (!v.ok() || *v <= 0) return invalid_argument("--{} '{}' must be a positive count", name, p.get(name));
  return *v;
}

Result<double> parse_fraction(const std::string& text) {
  // "1/3" or "0.333".
  auto parts = split(text, '/');
  if (parts.size() == 2) {
    auto a = parse_double(parts[0]);
    auto b = parse_double(parts[1]);
    if (a.ok() && b.ok() && *b != 0) return *a / *b;
  } else if (parts.size() == 1) {
    auto v = parse_double(text);
    if (v.ok()) return *v;
  }
  return invalid_argument("'{}' is not a number or a fraction like 1/3", text);
}

Status settings_from_flags(const ArgParser& p, SearchSettings& s, bool need_target) {
  if (need_target && !p.has("target-loss")) return invalid_argument("--target-loss is required (e.g. --target-loss 2.615)");
  if (p.has("target-loss")) { GQF_ASSIGN_OR_RETURN(s.target_loss, number_flag(p, "target-loss", 1e-9, 1e9)); }
  if (p.has("context")) { GQF_ASSIGN_OR_RETURN(int64_t t, count_flag(p, "context")); s.context = static_cast<double>(t); }
  if (p.has("objective")) {
    auto o = parse_objective(p.get("objective"));
    if (!o.ok()) return o.status();
    s.objective = *o;
  }
  if (p.has("batch")) { GQF_ASSIGN_OR_RETURN(s.batch, count_flag(p, "batch")); }
  if (p.has("head-dim")) { GQF_ASSIGN_OR_RETURN(s.head_dim, count_flag(p, "head-dim")); }
  if (p.has("max-heads")) { GQF_ASSIGN_OR_RETURN(s.max_heads, count_flag(p, "max-heads")); }
  if (p.has("lambda")) { GQF_ASSIGN_OR_RETURN(s.z.lambda, number_flag(p, "lambda", 0, 1)); }
  for (const char* name : {"alpha", "beta"}) {
    if (!p.has(name)) continue;
    auto v = parse_fraction(p.get(name));
    if (!v.ok() || !(*v > 0)) return invalid_argument("--{} '{}' must be a positive number or fraction", name, p.get(name));
    (std::string(name) == "alpha" ? s.z.alpha : s.z.beta) = *v;
  }
  if (p.has("z-units")) {
    auto u = parse_z_units(p.get("z-units"));
    if (!u.ok()) return u.status();
    s.z.units = *u;
  }
  if (p.has("interpolation")) {
    std::string i = to_lower(p.get("interpolation"));
    if (i == "log-params") s.shape.interpolation = RatioInterpolation::kLogParams;
    else if (i == "params") s.shape.interpolation = RatioInterpolation::kParams;
    else return invalid_argument("--interpolation '{}' must be log-params or params", p.get("interpolation"));
  }
  if (p.has("ffn-matrices")) {
    GQF_ASSIGN_OR_RETURN(int64_t m, count_flag(p, "ffn-matrices"));
    if (m != 2 && m != 3) return invalid_argument("--ffn-matrices '{}' must be 2 or 3", p.get("ffn-matrices"));
    s.shape.ffn_matrices = static_cast<int>(m);
  }
  if (p.has("embedding")) {
    std::string e = to_lower(p.get("embedding"));
    if (e == "count") s.cost.count_embedding = true;
    else if (e == "exclude") s.cost.count_embedding = false;
    else return invalid_argument("--embedding '{}' must be count or exclude", p.get("embedding"));
  }
  if (p.has("bytes-per-value")) { GQF_ASSIGN_OR_RETURN(s.cost.bytes_per_value, number_flag(p, "bytes-per-value", 0.125, 16)); }
  if (p.has("vocab")) { GQF_ASSIGN_OR_RETURN(s.shape.vocab, count_flag(p, "vocab")); }
  if (p.has("baseline")) {
    HeadConfig b;
    GQF_RETURN_IF_ERROR(parse_head_pair(p.get("baseline"), b.n_heads, b.n_kv_heads));
    s.baseline = b;
  }
  return ok_status();
}

// "30.5% lower" or "33.8% higher" for a relative reduction.
std::string change_text(double reduction_fraction) {
  return reduction_fraction >= 0 ? format_percent(reduction_fraction) + " lower"
                                 : format_percent(-reduction_fraction) + " higher";
}

void print_table(const SearchResult& r, size_t top, bool measured) {
  std::printf("%4s  %-8s %8s %6s %6s  %-22s %7s %10s %10s %10s", "rank", "H", "N", "L", "d", "rounded model", "loss",
              "memory", "FLOPs/tok", "Z");
  if (measured) std::printf(" %12s %16s", "latency us", "tokens/s (B)");
  std::printf("\n");
  auto row = [&](const CandidateResult& c, const std::string& rank) {
    std::string model = fmt::format("L={} d={} {}", c.rounded.layers, c.rounded.hidden, format_si(c.rounded_params));
    std::printf("%4s  %-8s %8s %6.1f %6.0f  %-22s %7.4f %10s %10s %10.4g", rank.c_str(), c.heads.to_string().c_str(),
                format_si(c.shape.params).c_str(), c.shape.layers, c.shape.hidden, model.c_str(), c.rounded_loss,
                format_bytes(c.memory_bytes).c_str(), format_si(c.flops).c_str(), c.z);
    if (measured) {
      std::string lat = c.latency ? fmt::format("{:.1f}{}", c.latency->total_us(), c.latency->extrapolated ? "*" : "") : "-";
      std::string thr = c.throughput ? fmt::format("{}{} ({})", format_si(c.throughput->tokens_per_s),
                                                   c.throughput->step.extrapolated ? "*" : "", c.throughput->batch)
                                     : "-";
      std::printf(" %12s %16s", lat.c_str(), thr.c_str());
    }
    std::printf("%s\n", c.pareto ? "  pareto" : "");
  };
  for (size_t i = 0; i < r.ranked.size() && i < top; ++i) row(r.ranked[i], std::to_string(i + 1));
  if (r.baseline) row(*r.baseline, "base");
}

int print_table4(const LossModel& loss, const Presets& presets, const SearchSettings& s) {
  auto check = check_table4(loss, presets.aspect_table(), s);
  if (!check.ok()) return report_failure(check.status());
  std::printf("Table 4 of the paper under this loss model and settings (objective %s, units %s):\n",
              objective_name(s.objective), z_units_name(s.z.units));
  std::printf("%6s", "L*");
  for (const char* t : {"8K", "16K", "32K", "64K", "128K"}) std::printf(" %18s", t);
  std::printf("\n");
  for (size_t i = 0; i < check->cells.size(); ++i) {
    const Table4Outcome& o = check->cells[i];
    if (i % 5 == 0) std::printf("%6.2f", o.cell.target_loss);
    std::string cell = o.match ? o.got.to_string() : fmt::format("{}≠{}", o.got.to_string(), o.cell.expected.to_string());
    std::printf(" %18s", cell.c_str());
    if (i % 5 == 4) std::printf("\n");
  }
  std::printf("%d of 40 cells reproduced (a≠b: this model picks a, the paper b)\n", check->matches);
  return 0;
}

int run_search_cmd(const Args& args) {
  ArgParser p("gqaforge search",
              "Finds the cost-optimal GQA configuration (n_h, n_kv, model size) that reaches a target loss at an\n"
              "expected context length (Chen et al., EMNLP 2025, Sec. 4.1). Runs on the bundled default loss model\n"
              "and presets; measured objectives use a tuning database.");
  p.add_flag("target-loss", "L", "target loss L* (required unless --table4)");
  p.add_flag("context", "T", "expected context length, e.g. 128k", "128k");
  p.add_flag("objective", "OBJ", "z, memory, flops, latency or throughput", "z");
  p.add_flag("loss-model", "FILE", "loss model JSON from `gqaforge fit`", "bundled default");
  p.add_flag("db", "FILE", "tuning database (SQLite) or its text export, for measured costs", "bundled H200 data if built in");
  p.add_flag("env", "KEY", "environment key to use from the database", "every environment of the GPU with most rows");
  p.add_flag("batch", "B", "batch for the latency objective", "1");
  p.add_flag("head-dim", "DH", "head size d_h", "64");
  p.add_flag("max-heads", "N", "largest n_h / n_kv candidate (powers of two)", "32");
  p.add_flag("top", "K", "rows to print", "10");
  p.add_flag("report", "FILE", "write a self-contained HTML report");
  p.add_flag("lambda", "X", "Z weight of memory", "0.9");
  p.add_flag("alpha", "X", "Z exponent of memory", "1/2");
  p.add_flag("beta", "X", "Z exponent of compute", "1/3");
  p.add_flag("z-units", "U", "sequence-bytes, sequence-half-values, token-values, sequence-mean-bytes", "sequence-bytes");
  p.add_flag("embedding", "MODE", "count or exclude embedding parameters in the costs", "count");
  p.add_flag("interpolation", "I", "aspect ratio interpolation: log-params or params", "log-params");
  p.add_flag("ffn-matrices", "M", "FFN matrices: 3 (SwiGLU) or 2", "3");
  p.add_flag("bytes-per-value", "B", "bytes per weight / KV value", "2");
  p.add_flag("vocab", "V", "vocabulary size of the searched models", "50304");
  p.add_flag("baseline", "Q:KV", "compare against this head configuration", "Llama-3: d/d_h heads, 8 kv heads");
  p.add_flag("gpu-memory", "GB", "GPU memory for the throughput objective, decimal GB",
             "the measured GPU's, else 141");
  p.add_switch("table4", "print how many cells of the paper's Table 4 the loss model reproduces, and exit");
  if (int rc = p.parse(args); rc >= 0) return rc;

  SearchSettings settings;
  std::string top_text = p.get("top", "10");
  auto top = parse_int(top_text);
  if (!top.ok() || *top <= 0) return usage_error(fmt::format("--top '{}' must be a positive integer", top_text));
  // Table 4 sets the target loss and context of each cell itself.
  if (Status st = settings_from_flags(p, settings, !p.get_switch("table4")); !st.ok()) return report_failure(st);

  auto presets = Presets::bundled();
  if (!presets.ok()) return report_failure(presets.status());
  Result<LossModel> loss = p.has("loss-model") ? LossModel::load(p.get("loss-model")) : LossModel::bundled_default();
  if (!loss.ok()) return report_failure(loss.status());
  if (p.get_switch("table4")) return print_table4(*loss, *presets, settings);

  MeasuredSettings msettings;
  msettings.bytes_per_value = settings.cost.bytes_per_value;
  if (p.has("gpu-memory")) {
    auto gb = number_flag(p, "gpu-memory", 0.001, 1e6);
    if (!gb.ok()) return report_failure(gb.status());
    msettings.gpu_memory_bytes = *gb * 1e9;
  }
  std::unique_ptr<MeasuredCosts> measured;
  {
    Result<LoadedMeasurements> rows = p.has("db") ? load_measurements(p.get("db"), p.get("env"))
                                                  : bundled_measurements();
    const bool needs = settings.objective == Objective::kLatency || settings.objective == Objective::kThroughput;
    if (rows.ok()) {
      for (const std::string& note : rows->notes) log_warn("{}", note);
      // The measured GPU's memory, unless --gpu-memory overrides it.
      if (!p.has("gpu-memory") && rows->gpu_memory_bytes > 0) msettings.gpu_memory_bytes = rows->gpu_memory_bytes;
      auto mc = MeasuredCosts::build(rows->rows, msettings);
      if (mc.ok()) {
        measured = std::make_unique<MeasuredCosts>(std::move(*mc));
      } else if (needs || p.has("db")) {
        return report_failure(mc.status());
      }
    } else if (needs || p.has("db")) {
      return report_failure(rows.status());
    }
  }

  auto result = run_search(*loss, presets->aspect_table(), settings, measured.get());
  if (!result.ok()) return report_failure(result.status());
  const SearchResult& r = *result;
  std::printf("target loss L* = %g at context T = %s; objective %s", settings.target_loss,
              format_count(static_cast<int64_t>(settings.context)).c_str(), objective_name(settings.objective));
  if (settings.objective == Objective::kZ) {
    std::printf(" (lambda %g, alpha %.4g, beta %.4g, units %s)", settings.z.lambda, settings.z.alpha, settings.z.beta,
                z_units_name(settings.z.units));
  }
  std::printf("\nmemory and FLOPs per decoded token at T; N non-embedding; loss of the rounded model\n\n");
  print_table(r, static_cast<size_t>(*top), measured != nullptr);
  const CandidateResult& best = r.ranked.front();
  std::printf("\nbest: %s with %s non-embedding parameters (L=%ld, d=%ld after rounding)\n", best.heads.to_string().c_str(),
              format_si(best.shape.params).c_str(), static_cast<long>(best.rounded.layers), static_cast<long>(best.rounded.hidden));
  if (r.baseline) {
    const CandidateResult& b = *r.baseline;
    std::printf("vs %s %s at the same loss (%s parameters): memory %s, FLOPs %s, Z %s",
                settings.baseline ? "baseline" : "Llama-3 GQA", b.heads.to_string().c_str(),
                format_si(b.shape.params).c_str(), change_text(reduction(best.memory_bytes, b.memory_bytes)).c_str(),
                change_text(reduction(best.flops, b.flops)).c_str(), change_text(reduction(best.z, b.z)).c_str());
    if (best.latency && b.latency) {
      std::printf(", latency %s", change_text(reduction(best.latency->total_us(), b.latency->total_us())).c_str());
    }
    if (best.throughput && b.throughput && b.throughput->tokens_per_s > 0) {
      std::printf(", throughput x%.2f", best.throughput->tokens_per_s / b.throughput->tokens_per_s);
    }
    std::printf("\n");
  }
  for (const std::string& s : r.skipped) std::printf("skipped: %s\n", s.c_str());
  for (const std::string& w : r.warnings) log_warn("{}", w);
  if (measured && best.latency && best.latency->extrapolated) {
    for (const std::string& n : best.latency->notes) log_warn("extrapolated: {}", n);
  }
  if (auto path = p.get_optional("report")) {
    Status s = write_file_atomic(*path, render_report_html(r, *loss, presets->aspect_table()));
    if (!s.ok()) return report_failure(s);
    std::printf("wrote %s\n", path->c_str());
  }
  return 0;
}

}  // namespace
GQF_REGISTER_COMMAND("search", "cost-optimal GQA configuration for a target loss and context", 62, run_search_cmd);
}  // namespace gqaforge::cli
