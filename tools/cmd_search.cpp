// `gqaforge search`: the cost-optimal GQA recipe. For a target loss and an expected context
// length it ranks the head configurations (n_h, n_kv) by the chosen objective (the paper's Z,
// memory, FLOPs, or measured decode latency / throughput or prompt latency / throughput from a
// tuning database), prints the table and the reduction against Llama-3's GQA at the same loss,
// and can write an HTML report. --table4 and --table5 check the paper's tables; --headline adds
// the paper's Sec. 5.2 comparison under each accounting; --budget asks the inverse question (the
// lowest loss within a cost), both printed by cmd_search_views.cpp.
#include <cstdio>
#include <optional>
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
#include "tools/search_measured.h"
#include "tools/search_views.h"
#include "tools/validators.h"

namespace gqaforge::tools {
namespace {

using namespace costmodel;

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

Status check_fraction(const std::string& text) {
  auto v = parse_fraction(text);
  if (!v.ok() || !(*v > 0)) return invalid_argument("'{}' must be a positive number or fraction", text);
  return ok_status();
}

struct SearchFlags {
  std::optional<double> target_loss;
  std::optional<int64_t> context;
  std::optional<std::string> objective, loss_model, db, env, report;
  std::optional<int64_t> batch, head_dim, max_heads;
  int64_t top = 10;
  std::optional<double> lambda;
  std::optional<std::string> alpha, beta, z_units, embedding, interpolation, baseline, budget;
  std::optional<int64_t> ffn_matrices, vocab;
  std::optional<double> bytes_per_value, gpu_memory, launch_us;
  std::optional<int64_t> max_batch;
  bool table4 = false, table5 = false, json = false, wide = false, headline = false;
};

Status settings_from_flags(const SearchFlags& f, SearchSettings& s, bool need_target) {
  if (need_target && !f.target_loss) return invalid_argument("--target-loss is required (e.g. --target-loss 2.615)");
  if (f.target_loss) s.target_loss = *f.target_loss;
  if (f.context) s.context = static_cast<double>(*f.context);
  if (f.objective) {
    GQF_ASSIGN_OR_RETURN(s.objective, parse_objective(*f.objective));
  }
  if (f.batch) s.batch = *f.batch;
  if (f.head_dim) s.head_dim = *f.head_dim;
  if (f.max_heads) s.max_heads = *f.max_heads;
  if (f.lambda) s.z.lambda = *f.lambda;
  if (f.alpha) {
    GQF_ASSIGN_OR_RETURN(s.z.alpha, parse_fraction(*f.alpha));
  }
  if (f.beta) {
    GQF_ASSIGN_OR_RETURN(s.z.beta, parse_fraction(*f.beta));
  }
  if (f.z_units) {
    GQF_ASSIGN_OR_RETURN(s.z.units, parse_z_units(*f.z_units));
  }
  if (f.interpolation) {
    s.shape.interpolation = *f.interpolation == "params" ? RatioInterpolation::kParams : RatioInterpolation::kLogParams;
  }
  if (f.ffn_matrices) s.shape.ffn_matrices = static_cast<int>(*f.ffn_matrices);
  if (f.embedding) s.cost.count_embedding = *f.embedding == "count";
  if (f.bytes_per_value) s.cost.bytes_per_value = *f.bytes_per_value;
  if (f.vocab) s.shape.vocab = *f.vocab;
  if (f.baseline) {
    HeadConfig b;
    GQF_RETURN_IF_ERROR(parse_head_pair(*f.baseline, b.n_heads, b.n_kv_heads));
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

// "12.3 K* (B=57)"; with `floor` (the throughput objective's column), "12.3 K* (B=57, ≥4.1 K
// measured at B=16)" when the batch is beyond the measured ones.
std::string throughput_text(const CandidateResult& c, bool with_floor) {
  if (!c.throughput) return "-";
  const ThroughputEstimate& t = *c.throughput;
  std::string floor;
  if (with_floor && t.beyond_measured_batches && t.floor) {
    floor = fmt::format(", ≥{}{} measured at B={}", format_scale(t.floor->tokens_per_s),
                        t.floor->extrapolated ? "*" : "", t.floor->batch);
  }
  return fmt::format("{}{} (B={}{})", format_scale(t.tokens_per_s), t.step.extrapolated ? "*" : "", t.batch, floor);
}

std::string prompt_time_text(const CandidateResult& c) {
  if (!c.prompt) return "-";
  return fmt::format("{}{}", format_time_us(c.prompt->time.total_us()), c.prompt->time.extrapolated ? "*" : "");
}

std::string prompt_rate_text(const CandidateResult& c) {
  if (!c.prompt) return "-";
  return fmt::format("{}{}", format_scale(c.prompt->tokens_per_s()), c.prompt->time.extrapolated ? "*" : "");
}

void print_table(const SearchResult& r, size_t top, bool measured, bool wide) {
  TextTable t;
  add_candidate_columns(t, "loss", "Z");
  // The objective's own measured columns stay; the other phase's go first when the width is short.
  const bool prompt = objective_is_prompt(r.settings.objective);
  if (measured) {
    t.add_column("latency", TextTable::kRight, prompt ? 4 : 0);
    t.add_column("tokens/s", TextTable::kRight, prompt ? 4 : r.settings.objective == Objective::kThroughput ? 0 : 1);
    t.add_column("prompt", TextTable::kRight, prompt ? 0 : 4);
    t.add_column("prompt tok/s", TextTable::kRight, prompt ? 0 : 4);
  }
  t.add_column("pareto", TextTable::kLeft);
  auto row = [&](const CandidateResult& c, const std::string& rank) {
    std::vector<std::string> cells = candidate_cells(rank, c.heads, c.shape, c.rounded, c.rounded_params,
                                                     c.rounded_loss, c.memory_bytes, c.flops, c.z);
    if (measured) {
      cells.push_back(latency_text(c));
      cells.push_back(throughput_text(c, r.settings.objective == Objective::kThroughput));
      cells.push_back(prompt_time_text(c));
      cells.push_back(prompt_rate_text(c));
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
  j["throughput"] = c.throughput ? throughput_json(*c.throughput) : Json();
  j["prompt"] = c.prompt ? prompt_json(*c.prompt) : Json();
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

int print_search_json(const SearchResult& r, size_t top, const MeasuredCosts* measured,
                      const HeadlineReport* headline) {
  Json doc = json_document("search");
  doc["settings"] = settings_json(r.settings);
  doc["measured"] = measured != nullptr;
  doc["measured_settings"] = measured ? measured_settings_json(measured->settings()) : Json();
  Json cands = Json::array();
  for (size_t i = 0; i < r.ranked.size() && i < top; ++i) cands.push_back(candidate_json(r.ranked[i], i + 1));
  doc["candidates"] = cands;
  doc["evaluated"] = static_cast<int64_t>(r.ranked.size());
  doc["best"] = heads_json(r.ranked.front().heads);
  doc["baseline"] = r.baseline ? candidate_json(*r.baseline, std::nullopt) : Json();
  doc["baseline_in_candidates"] = r.baseline_in_candidates;
  doc["baseline_note"] = r.baseline_note.empty() ? Json() : Json(r.baseline_note);
  if (r.baseline) {
    const CandidateResult& best = r.ranked.front();
    const CandidateResult& b = *r.baseline;
    Json red = Json::object();
    red["memory"] = reduction(best.memory_bytes, b.memory_bytes);
    red["flops"] = reduction(best.flops, b.flops);
    red["z"] = reduction(best.z, b.z);
    red["latency"] =
        best.latency && b.latency ? Json(reduction(best.latency->total_us(), b.latency->total_us())) : Json();
    red["prompt_latency"] =
        best.prompt && b.prompt ? Json(reduction(best.prompt->time.total_us(), b.prompt->time.total_us())) : Json();
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
  if (headline != nullptr) doc["headline"] = headline_json(*headline);
  print_json(doc);
  return 0;
}

// `search --budget`: the inverse query (analytical objectives only).
int run_budget_cmd(const SearchFlags& f, const LossModel& loss, const Presets& presets,
                   const SearchSettings& settings) {
  auto spec = parse_budget(*f.budget, settings.objective);
  if (!spec.ok()) return report_failure(spec.status());
  if (spec->baseline && !f.target_loss) {
    return report_failure(
        invalid_argument("--budget baseline needs --target-loss: the budget is the baseline's cost at that loss"));
  }
  auto result = run_budget_search(loss, presets.aspect_table(), settings, *spec);
  if (!result.ok()) return report_failure(result.status());
  if (f.json) {
    Json doc = json_document("search --budget");
    Json body = budget_json(*result, static_cast<size_t>(f.top), settings_json(settings),
                            result->baseline ? candidate_json(*result->baseline, std::nullopt) : Json());
    for (auto& [key, value] : body.items()) doc[key] = value;
    print_json(doc);
    return 0;
  }
  print_budget(*result, static_cast<size_t>(f.top), f.wide);
  std::fflush(stdout);
  for (const std::string& w : result->warnings) log_warn("{}", w);
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
  std::printf("%d of %zu cells reproduced (a≠b: this model picks a, the paper b)\n", check->matches,
              check->cells.size());
  return 0;
}

// The measured costs: --db, else the bundled H200 rows. Null when neither is usable and nothing
// needs them (`needs`: a measured objective or --table5; an explicit --db must load).
Result<std::unique_ptr<MeasuredCosts>> load_measured(const SearchFlags& f, const SearchSettings& settings, bool needs) {
  MeasuredSettings msettings;
  msettings.bytes_per_value = settings.cost.bytes_per_value;
  if (f.gpu_memory) msettings.gpu_memory_bytes = *f.gpu_memory * 1e9;
  if (f.launch_us) msettings.launch_us = *f.launch_us;
  if (f.max_batch) msettings.max_batch = *f.max_batch;
  Result<LoadedMeasurements> rows = f.db ? load_measurements(*f.db, f.env.value_or("")) : bundled_measurements();
  if (!rows.ok()) {
    if (needs || f.db) return rows.status();
    return std::unique_ptr<MeasuredCosts>();
  }
  for (const std::string& note : rows->notes) log_warn("{}", note);
  // The measured GPU's memory, unless --gpu-memory overrides it.
  if (!f.gpu_memory && rows->gpu_memory_bytes > 0) msettings.gpu_memory_bytes = rows->gpu_memory_bytes;
  auto mc = MeasuredCosts::build(rows->rows, msettings);
  if (!mc.ok()) {
    if (needs || f.db) return mc.status();
    return std::unique_ptr<MeasuredCosts>();
  }
  return std::make_unique<MeasuredCosts>(std::move(*mc));
}

int run_search_cmd(const SearchFlags& f) {
  SearchSettings settings;
  if (f.table4 && f.table5) return report_failure(invalid_argument("--table4 and --table5 are separate modes"));
  if (f.budget && (f.table4 || f.table5 || f.headline || f.report)) {
    const char* other = f.table4 ? "--table4" : f.table5 ? "--table5" : f.headline ? "--headline" : "--report";
    return report_failure(invalid_argument("--budget cannot be combined with {}", other));
  }
  // Tables 4 and 5 set the target loss and context themselves; a budget needs one only as
  // `baseline` (run_budget_cmd says so).
  if (Status st = settings_from_flags(f, settings, !f.table4 && !f.table5 && !f.budget); !st.ok()) {
    return report_failure(st);
  }

  auto presets = Presets::bundled();
  if (!presets.ok()) return report_failure(presets.status());
  const bool measured_objective = objective_is_measured(settings.objective);
  if (f.table5) {
    auto measured = load_measured(f, settings, true);
    if (!measured.ok()) return report_failure(measured.status());
    return print_table5(*presets, settings, **measured, f.json);
  }
  Result<LossModel> loss = f.loss_model ? LossModel::load(*f.loss_model) : LossModel::bundled_default();
  if (!loss.ok()) return report_failure(loss.status());
  if (f.table4) return print_table4(*loss, *presets, settings, f.json);
  if (f.budget) return run_budget_cmd(f, *loss, *presets, settings);

  auto loaded = load_measured(f, settings, measured_objective);
  if (!loaded.ok()) return report_failure(loaded.status());
  const std::unique_ptr<MeasuredCosts>& measured = *loaded;

  auto result = run_search(*loss, presets->aspect_table(), settings, measured.get());
  if (!result.ok()) return report_failure(result.status());
  const SearchResult& r = *result;
  std::optional<HeadlineReport> headline;
  if (f.headline) {
    auto llama = presets->find("llama-3.2-1b");
    if (!llama.ok()) return report_failure(llama.status());
    auto report = headline_report(&r, presets->aspect_table(), *llama, settings.shape);
    if (!report.ok()) return report_failure(report.status());
    headline = std::move(*report);
  }
  if (f.json) {
    if (const std::optional<std::string>& path = f.report) {
      Status s = write_file_atomic(*path, render_report_html(r, *loss, presets->aspect_table()));
      if (!s.ok()) return report_failure(s);
    }
    return print_search_json(r, static_cast<size_t>(f.top), measured.get(), headline ? &*headline : nullptr);
  }
  std::printf("target loss L* = %s at context T = %s; objective %s", format_decimal(settings.target_loss).c_str(),
              format_context(settings.context).c_str(), objective_name(settings.objective));
  if (settings.objective == Objective::kZ) {
    std::printf(" (lambda %s, alpha %s, beta %s)", format_decimal(settings.z.lambda).c_str(),
                format_decimal(settings.z.alpha).c_str(), format_decimal(settings.z.beta).c_str());
  }
  std::printf("\nmemory and FLOPs per decoded token at T; N non-embedding; loss of the rounded model\n");
  std::printf("Z (dimensionless) = %s·M^%s + %s·C^%s with %s (--z-units %s)\n",
              format_decimal(settings.z.lambda).c_str(), format_decimal(settings.z.alpha).c_str(),
              format_decimal(1 - settings.z.lambda).c_str(), format_decimal(settings.z.beta).c_str(),
              z_units_description(settings.z.units), z_units_name(settings.z.units));
  if (measured) {
    std::printf(
        "latency: one decoded token at batch %lld, measured; tokens/s: per GPU at the largest batch B that "
        "fits; * = extrapolated beyond the tuned points\n",
        static_cast<long long>(settings.batch));
    std::printf(
        "prompt: a T-token prompt for %lld sequence(s) (prefill), prompt tok/s = B·T / that; every kernel >= %s "
        "(--launch-us, 0 = CUDA graphs)\n",
        static_cast<long long>(settings.batch), format_time_us(measured->settings().launch_us).c_str());
  }
  std::printf("\n");
  print_table(r, static_cast<size_t>(f.top), measured != nullptr, f.wide);
  const CandidateResult& best = r.ranked.front();
  std::printf("\nbest: %s with %s non-embedding parameters (L=%ld, d=%ld after rounding)\n",
              best.heads.to_string().c_str(), format_scale(best.shape.params).c_str(),
              static_cast<long>(best.rounded.layers), static_cast<long>(best.rounded.hidden));
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
    if (objective_is_prompt(settings.objective) && best.prompt && b.prompt) {
      std::printf(", prompt %s",
                  change_text(reduction(best.prompt->time.total_us(), b.prompt->time.total_us())).c_str());
    }
    std::printf("\n");
    if (!r.baseline_in_candidates) std::printf("note: %s\n", r.baseline_note.c_str());
  }
  for (const std::string& line : summarize_skipped(r, *loss)) std::printf("skipped: %s\n", line.c_str());
  for (const std::string& reason : r.skipped) log_debug("skipped: {}", reason);
  std::fflush(stdout);
  for (const std::string& w : r.warnings) log_warn("{}", w);
  // The notes behind the objective's own estimate of the winner.
  const LatencyBreakdown* basis = nullptr;
  if (settings.objective == Objective::kLatency && best.latency) basis = &*best.latency;
  if (settings.objective == Objective::kThroughput && best.throughput) basis = &best.throughput->step;
  if (objective_is_prompt(settings.objective) && best.prompt) basis = &best.prompt->time;
  if (basis != nullptr && basis->extrapolated) {
    for (const std::string& n : basis->notes) log_warn("extrapolated: {}", n);
  }
  if (headline) print_headline(*headline);
  if (const std::optional<std::string>& path = f.report) {
    Status s = write_file_atomic(*path, render_report_html(r, *loss, presets->aspect_table()));
    if (!s.ok()) return report_failure(s);
    std::printf("wrote %s\n", path->c_str());
  }
  return 0;
}

CommandAction declare_search(CLI::App& app) {
  app.description(
      "Finds the cost-optimal GQA configuration (n_h, n_kv, model size) that reaches a target loss at "
      "an expected context length (Chen et al., EMNLP 2025, Sec. 4.1). Runs on the bundled default loss "
      "model and presets; measured objectives use a tuning database.");
  auto f = std::make_shared<SearchFlags>();
  auto count = [&](const char* name, std::optional<int64_t>& value, const char* metavar, const char* help,
                   const char* fallback) {
    return app.add_option(name, value, help)->type_name(metavar)->default_str(fallback)->transform(positive_count());
  };
  auto number = [&](const char* name, std::optional<double>& value, const char* metavar, const char* help, double lo,
                    double hi) {
    return app.add_option(name, value, help)->type_name(metavar)->transform(number_in(lo, hi));
  };
  auto checked = [&](const char* name, std::optional<std::string>& value, const char* metavar, const char* help,
                     const char* fallback, std::function<Status(const std::string&)> check) {
    return app.add_option(name, value, help)->type_name(metavar)->default_str(fallback)->check(checked_by(check));
  };
  number("--target-loss", f->target_loss, "L", "target loss L* (required unless --table4)", 1e-9, 1e9);
  count("--context", f->context, "T", "expected context length, e.g. 128k or 1e6", "128k");
  checked("--objective", f->objective, "OBJ",
          "z, memory, flops, latency, throughput, prompt-latency or prompt-throughput", "z",
          [](const std::string& t) { return parse_objective(t).status(); });
  app.add_option("--loss-model", f->loss_model, "loss model JSON from `gqaforge fit`")
      ->type_name("FILE")
      ->default_str("bundled default");
  app.add_option("--db", f->db, "tuning database (SQLite) or its text export, for measured costs")
      ->type_name("FILE")
      ->default_str("bundled H200 data if built in");
  app.add_option("--env", f->env, "environment key to use from the database")
      ->type_name("KEY")
      ->default_str("every environment of the GPU with most rows");
  count("--batch", f->batch, "B", "batch for the latency and prompt objectives", "1");
  count("--head-dim", f->head_dim, "DH", "head size d_h: 64, 96, 128 or 256", "64");
  count("--max-heads", f->max_heads, "N", "largest n_h / n_kv candidate, a power of two", "32");
  app.add_option("--top", f->top, "rows to print")->type_name("K")->default_str("10")->transform(integer_in(1));
  app.add_option("--report", f->report, "write a self-contained HTML report")->type_name("FILE");
  number("--lambda", f->lambda, "X", "Z weight of memory", 0, 1)->default_str("0.9");
  checked("--alpha", f->alpha, "X", "Z exponent of memory", "1/2", check_fraction);
  checked("--beta", f->beta, "X", "Z exponent of compute", "1/3", check_fraction);
  checked("--z-units", f->z_units, "U", "sequence-bytes, sequence-half-values, token-values, sequence-mean-bytes",
          "sequence-bytes", [](const std::string& t) { return parse_z_units(t).status(); });
  app.add_option("--embedding", f->embedding, "count or exclude embedding parameters in the costs")
      ->type_name("MODE")
      ->default_str("count")
      ->transform(one_of({"count", "exclude"}, /*ignore_case=*/true));
  app.add_option("--interpolation", f->interpolation, "aspect ratio interpolation: log-params or params")
      ->type_name("I")
      ->default_str("log-params")
      ->transform(one_of({"log-params", "params"}, /*ignore_case=*/true));
  app.add_option("--ffn-matrices", f->ffn_matrices, "FFN matrices: 3 (SwiGLU) or 2")
      ->type_name("M")
      ->default_str("3")
      ->transform(integer_in(2, 3));
  number("--bytes-per-value", f->bytes_per_value, "B", "bytes per weight / KV value", 0.125, 16)->default_str("2");
  count("--vocab", f->vocab, "V", "vocabulary size of the searched models", "50304");
  checked("--baseline", f->baseline, "Q:KV", "compare against this head configuration",
          "Llama-3: d/d_h heads, 8 kv heads", [](const std::string& t) {
            int64_t q = 0, kv = 0;
            return parse_head_pair(t, q, kv);
          });
  number("--gpu-memory", f->gpu_memory, "GB", "GPU memory for the throughput objective, decimal GB", 0.001, 1e6)
      ->default_str("the measured GPU's, else 141");
  number("--launch-us", f->launch_us, "US",
         "host time per kernel launch, microseconds: no kernel costs less (0 = CUDA-graph replay)", 0, 1e6)
      ->default_str("3.2");
  count("--max-batch", f->max_batch, "N", "largest batch the throughput objective considers", "4096");
  app.add_option("--budget", f->budget,
                 "inverse query: the lowest loss each H reaches within this cost: 'baseline' (the baseline's "
                 "objective at --target-loss) or a number in the objective's unit (Z; bytes, e.g. 4.5GB; FLOPs per "
                 "token, e.g. 2.1e10 or 21GFLOP)")
      ->type_name("VALUE");
  add_switch(app, "--headline", f->headline,
             "also print the paper's Sec. 5.2 headline under each memory / FLOPs accounting, paper vs ours");
  add_switch(app, "--table4", f->table4,
             "print how many cells of the paper's Table 4 the loss model reproduces, and exit");
  add_switch(app, "--table5", f->table5,
             "price the paper's Table 5 models' 128K prompt on the measured costs (ratio vs x1.60), and exit");
  add_switch(app, "--json", f->json, "print the result as JSON (docs/json-output.md) instead of tables");
  add_switch(app, "--wide", f->wide, "print every column, however wide (default: at most 120 columns)");
  return [f](const Args&) { return run_search_cmd(*f); };
}

}  // namespace
GQF_REGISTER_COMMAND("search", "cost-optimal GQA configuration for a target loss and context", 62, declare_search);
}  // namespace gqaforge::tools
