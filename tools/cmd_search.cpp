// `gqaforge search`: the cost-optimal GQA recipe. For a target loss and an expected context
// length it ranks the head configurations (n_h, n_kv) by the chosen objective (the paper's Z,
// memory, FLOPs, or measured latency / throughput from a tuning database), prints the table
// and the reduction against Llama-3's GQA at the same loss, and can write an HTML report.
#include <cstdio>
#include <memory>

#include "core/fs.h"
#include "core/log.h"
#include "core/strings.h"
#include "core/table.h"
#include "core/units.h"
#include "costmodel/load_measurements.h"
#include "costmodel/report_html.h"
#include "costmodel/search.h"
#include "costmodel/table4.h"
#include "costmodel/units.h"
#include "tools/args.h"
#include "tools/commands.h"
#include "tools/json_output.h"

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
  if (!v.ok() || *v <= 0) {
    return invalid_argument("--{} '{}' must be a positive count such as 8192, 128k or 1e6", name, p.get(name));
  }
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

std::string latency_text(const CandidateResult& c) {
  if (!c.latency) return "-";
  return fmt::format("{}{}", format_time_us(c.latency->total_us()), c.latency->extrapolated ? "*" : "");
}

std::string throughput_text(const CandidateResult& c) {
  if (!c.throughput) return "-";
  return fmt::format("{}{} (B={})", format_scale(c.throughput->tokens_per_s), c.throughput->step.extrapolated ? "*" : "",
                     c.throughput->batch);
}

void print_table(const SearchResult& r, size_t top, bool measured, bool wide) {
  TextTable t;
  t.add_column("rank");
  t.add_column("H", TextTable::kLeft);
  t.add_column("N (params)");
  t.add_column("L", TextTable::kRight, 3);
  t.add_column("d", TextTable::kRight, 3);
  t.add_column("rounded model", TextTable::kLeft, 2);
  t.add_column("loss");
  t.add_column("memory");
  t.add_column("FLOPs/token");
  t.add_column("Z");
  if (measured) {
    t.add_column("latency");
    t.add_column("tokens/s", TextTable::kRight, 1);
  }
  t.add_column("pareto", TextTable::kLeft);
  auto row = [&](const CandidateResult& c, const std::string& rank) {
    std::vector<std::string> cells = {
        rank,
        c.heads.to_string(),
        format_scale(c.shape.params),
        fmt::format("{:.1f}", c.shape.layers),
        fmt::format("{:.0f}", c.shape.hidden),
        fmt::format("L={} d={} {}", c.rounded.layers, c.rounded.hidden, format_scale(c.rounded_params)),
        fmt::format("{:.4f}", c.rounded_loss),
        format_bytes(c.memory_bytes),
        format_flops(c.flops),
        format_decimal(c.z, 4)};
    if (measured) {
      cells.push_back(latency_text(c));
      cells.push_back(throughput_text(c));
    }
    cells.push_back(c.pareto ? "yes" : "");
    t.add_row(std::move(cells));
  };
  for (size_t i = 0; i < r.ranked.size() && i < top; ++i) row(r.ranked[i], std::to_string(i + 1));
  if (r.baseline) row(*r.baseline, "base");
  std::fputs(t.render(wide ? 0 : kDefaultTableWidth).c_str(), stdout);
}

Json heads_json(const HeadConfig& h) {
  Json j = Json::object();
  j["n_heads"] = h.n_heads;
  j["n_kv_heads"] = h.n_kv_heads;
  return j;
}

Json latency_json(const LatencyBreakdown& l) {
  Json j = Json::object();
  j["total_us"] = l.total_us();
  j["attention_us"] = l.attention_us;
  j["linear_us"] = l.linear_us;
  j["elementwise_us"] = l.elementwise_us;
  j["extrapolated"] = l.extrapolated;
  return j;
}

Json candidate_json(const CandidateResult& c, std::optional<size_t> rank) {
  Json j = Json::object();
  j["rank"] = rank ? Json(static_cast<int64_t>(*rank)) : Json();
  j["n_heads"] = c.heads.n_heads;
  j["n_kv_heads"] = c.heads.n_kv_heads;
  j["params"] = c.shape.params;
  j["layers"] = c.shape.layers;
  j["hidden"] = c.shape.hidden;
  Json rounded = Json::object();
  rounded["layers"] = c.rounded.layers;
  rounded["hidden"] = c.rounded.hidden;
  rounded["params"] = c.rounded_params;
  rounded["loss"] = c.rounded_loss;
  j["rounded"] = rounded;
  j["memory_bytes"] = c.memory_bytes;
  j["flops_per_token"] = c.flops;
  j["z"] = c.z;
  j["latency"] = c.latency ? latency_json(*c.latency) : Json();
  if (c.throughput) {
    Json t = Json::object();
    t["tokens_per_s"] = c.throughput->tokens_per_s;
    t["batch"] = c.throughput->batch;
    t["extrapolated"] = c.throughput->step.extrapolated;
    j["throughput"] = t;
  } else {
    j["throughput"] = Json();
  }
  j["pareto"] = c.pareto;
  return j;
}

Json settings_json(const SearchSettings& s) {
  Json j = Json::object();
  j["target_loss"] = s.target_loss;
  j["context"] = s.context;
  j["objective"] = objective_name(s.objective);
  j["batch"] = s.batch;
  j["head_dim"] = s.head_dim;
  j["max_heads"] = s.max_heads;
  Json z = Json::object();
  z["lambda"] = s.z.lambda;
  z["alpha"] = s.z.alpha;
  z["beta"] = s.z.beta;
  z["units"] = z_units_name(s.z.units);
  z["terms"] = z_units_description(s.z.units);
  j["z"] = z;
  j["bytes_per_value"] = s.cost.bytes_per_value;
  j["count_embedding"] = s.cost.count_embedding;
  j["vocab"] = s.shape.vocab;
  return j;
}

int print_search_json(const SearchResult& r, size_t top, bool measured) {
  Json doc = json_document("search");
  doc["settings"] = settings_json(r.settings);
  doc["measured"] = measured;
  Json cands = Json::array();
  for (size_t i = 0; i < r.ranked.size() && i < top; ++i) cands.push_back(candidate_json(r.ranked[i], i + 1));
  doc["candidates"] = cands;
  doc["evaluated"] = static_cast<int64_t>(r.ranked.size());
  doc["best"] = heads_json(r.ranked.front().heads);
  doc["baseline"] = r.baseline ? candidate_json(*r.baseline, std::nullopt) : Json();
  if (r.baseline) {
    const CandidateResult& best = r.ranked.front();
    const CandidateResult& b = *r.baseline;
    Json red = Json::object();
    red["memory"] = reduction(best.memory_bytes, b.memory_bytes);
    red["flops"] = reduction(best.flops, b.flops);
    red["z"] = reduction(best.z, b.z);
    red["latency"] = best.latency && b.latency ? Json(reduction(best.latency->total_us(), b.latency->total_us())) : Json();
    doc["reduction_vs_baseline"] = red;
  } else {
    doc["reduction_vs_baseline"] = Json();
  }
  Json skipped = Json::array();
  for (const SkippedCandidate& sk : r.skipped_candidates) {
    Json j = heads_json(sk.heads);
    j["no_law"] = sk.no_law;
    j["reason"] = sk.reason;
    skipped.push_back(j);
  }
  doc["skipped"] = skipped;
  Json warnings = Json::array();
  for (const std::string& w : r.warnings) warnings.push_back(w);
  doc["warnings"] = warnings;
  print_json(doc);
  return 0;
}

int print_table4(const LossModel& loss, const Presets& presets, const SearchSettings& s, bool json) {
  auto check = check_table4(loss, presets.aspect_table(), s);
  if (!check.ok()) return report_failure(check.status());
  if (json) {
    Json doc = json_document("search --table4");
    doc["objective"] = objective_name(s.objective);
    doc["z_units"] = z_units_name(s.z.units);
    Json cells = Json::array();
    for (const Table4Outcome& o : check->cells) {
      Json c = Json::object();
      c["target_loss"] = o.cell.target_loss;
      c["context"] = o.cell.context;
      c["got"] = heads_json(o.got);
      c["expected"] = heads_json(o.cell.expected);
      c["match"] = o.match;
      c["gap"] = o.gap;
      cells.push_back(c);
    }
    doc["cells"] = cells;
    doc["matches"] = check->matches;
    doc["total"] = static_cast<int64_t>(check->cells.size());
    print_json(doc);
    return 0;
  }
  std::printf("Table 4 of the paper under this loss model and settings (objective %s, units %s):\n",
              objective_name(s.objective), z_units_name(s.z.units));
  TextTable t;
  t.add_column("L*");
  std::vector<std::string> contexts;
  for (size_t i = 0; i < check->cells.size() && i < 5; ++i) t.add_column(format_context(check->cells[i].cell.context));
  std::vector<std::string> row;
  for (size_t i = 0; i < check->cells.size(); ++i) {
    const Table4Outcome& o = check->cells[i];
    if (i % 5 == 0) row = {fmt::format("{:.2f}", o.cell.target_loss)};
    row.push_back(o.match ? o.got.to_string() : fmt::format("{}≠{}", o.got.to_string(), o.cell.expected.to_string()));
    if (i % 5 == 4) t.add_row(row);
  }
  std::fputs(t.render(0).c_str(), stdout);
  std::printf("%d of %zu cells reproduced (a≠b: this model picks a, the paper b)\n", check->matches, check->cells.size());
  return 0;
}

int run_search_cmd(const Args& args) {
  ArgParser p("gqaforge search",
              "Finds the cost-optimal GQA configuration (n_h, n_kv, model size) that reaches a target loss at an\n"
              "expected context length (Chen et al., EMNLP 2025, Sec. 4.1). Runs on the bundled default loss model\n"
              "and presets; measured objectives use a tuning database.");
  p.add_flag("target-loss", "L", "target loss L* (required unless --table4)");
  p.add_flag("context", "T", "expected context length, e.g. 128k or 1e6", "128k");
  p.add_flag("objective", "OBJ", "z, memory, flops, latency or throughput", "z");
  p.add_flag("loss-model", "FILE", "loss model JSON from `gqaforge fit`", "bundled default");
  p.add_flag("db", "FILE", "tuning database (SQLite) or its text export, for measured costs", "bundled H200 data if built in");
  p.add_flag("env", "KEY", "environment key to use from the database", "every environment of the GPU with most rows");
  p.add_flag("batch", "B", "batch for the latency objective", "1");
  p.add_flag("head-dim", "DH", "head size d_h: 64, 96, 128 or 256", "64");
  p.add_flag("max-heads", "N", "largest n_h / n_kv candidate, a power of two", "32");
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
  p.add_switch("json", "print the result as JSON (docs/json-output.md) instead of tables");
  p.add_switch("wide", "print every column, however wide (default: at most 120 columns)");
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
  if (p.get_switch("table4")) return print_table4(*loss, *presets, settings, p.get_switch("json"));

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
  const bool measured_objective =
      settings.objective == Objective::kLatency || settings.objective == Objective::kThroughput;
  if (p.get_switch("json")) {
    if (auto path = p.get_optional("report")) {
      Status s = write_file_atomic(*path, render_report_html(r, *loss, presets->aspect_table()));
      if (!s.ok()) return report_failure(s);
    }
    return print_search_json(r, static_cast<size_t>(*top), measured != nullptr);
  }
  std::printf("target loss L* = %s at context T = %s; objective %s", format_decimal(settings.target_loss).c_str(),
              format_context(settings.context).c_str(), objective_name(settings.objective));
  if (settings.objective == Objective::kZ) {
    std::printf(" (lambda %s, alpha %s, beta %s)", format_decimal(settings.z.lambda).c_str(),
                format_decimal(settings.z.alpha).c_str(), format_decimal(settings.z.beta).c_str());
  }
  std::printf("\nmemory and FLOPs per decoded token at T; N non-embedding; loss of the rounded model\n");
  std::printf("Z = %s M^%s + %s C^%s, a plain number with %s (--z-units %s)\n",
              format_decimal(settings.z.lambda).c_str(), format_decimal(settings.z.alpha).c_str(),
              format_decimal(1 - settings.z.lambda).c_str(), format_decimal(settings.z.beta).c_str(),
              z_units_description(settings.z.units), z_units_name(settings.z.units));
  if (measured) {
    std::printf("latency: one decoded token at batch %lld, measured; tokens/s: per GPU at the largest batch B that "
                "fits; * = extrapolated beyond the tuned points\n",
                static_cast<long long>(settings.batch));
  }
  std::printf("\n");
  print_table(r, static_cast<size_t>(*top), measured != nullptr, p.get_switch("wide"));
  const CandidateResult& best = r.ranked.front();
  std::printf("\nbest: %s with %s non-embedding parameters (L=%ld, d=%ld after rounding)\n", best.heads.to_string().c_str(),
              format_scale(best.shape.params).c_str(), static_cast<long>(best.rounded.layers),
              static_cast<long>(best.rounded.hidden));
  if (r.baseline) {
    const CandidateResult& b = *r.baseline;
    std::printf("vs %s %s at the same loss (%s parameters): memory %s, FLOPs %s, Z %s",
                settings.baseline ? "baseline" : "Llama-3 GQA", b.heads.to_string().c_str(),
                format_scale(b.shape.params).c_str(), change_text(reduction(best.memory_bytes, b.memory_bytes)).c_str(),
                change_text(reduction(best.flops, b.flops)).c_str(), change_text(reduction(best.z, b.z)).c_str());
    if (best.latency && b.latency) {
      std::printf(", latency %s", change_text(reduction(best.latency->total_us(), b.latency->total_us())).c_str());
    }
    if (best.throughput && b.throughput && b.throughput->tokens_per_s > 0) {
      std::printf(", throughput x%.2f", best.throughput->tokens_per_s / b.throughput->tokens_per_s);
    }
    std::printf("\n");
  }
  for (const std::string& line : summarize_skipped(r, *loss)) std::printf("skipped: %s\n", line.c_str());
  for (const std::string& reason : r.skipped) log_debug("skipped: {}", reason);
  std::fflush(stdout);
  for (const std::string& w : r.warnings) log_warn("{}", w);
  if (measured_objective && best.latency && best.latency->extrapolated) {
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
