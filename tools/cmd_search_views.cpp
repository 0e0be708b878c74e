// The headline accounting table and the inverse query's output of `gqaforge search`.
#include <cmath>
#include <cstdio>
#include <optional>

#include "core/table.h"
#include "core/units.h"
#include "tools/search_views.h"

namespace gqaforge::tools {

using namespace costmodel;

namespace {

std::string side_text(const HeadlineSide& s) {
  return fmt::format("{} {}", s.heads.to_string(), s.how);
}

Json side_json(const HeadlineSide& s) {
  Json j = Json::object();
  j["n_heads"] = s.heads.n_heads;
  j["n_kv_heads"] = s.heads.n_kv_heads;
  j["params"] = s.shape.non_embedding_params;
  j["layers"] = s.shape.layers;
  j["hidden"] = s.shape.hidden;
  j["vocab"] = s.shape.vocab;
  j["how"] = s.how;
  return j;
}

// The candidate's row cells shared by the ranked rows and the baseline row.
std::vector<std::string> budget_cells(const BudgetCandidate& c, const std::string& rank) {
  return candidate_cells(rank, c.heads, c.shape, c.rounded, static_cast<double>(c.rounded.non_embedding_params()),
                         c.loss, c.memory_bytes, c.flops, c.z);
}

Json budget_candidate_json(const BudgetCandidate& c, std::optional<size_t> rank) {
  Json j = Json::object();
  j["rank"] = rank ? Json(static_cast<int64_t>(*rank)) : Json();
  j["n_heads"] = c.heads.n_heads;
  j["n_kv_heads"] = c.heads.n_kv_heads;
  j["params"] = c.shape.params;
  j["layers"] = c.shape.layers;
  j["hidden"] = c.shape.hidden;
  j["loss_at_budget"] = c.loss;
  Json rounded = Json::object();
  rounded["layers"] = c.rounded.layers;
  rounded["hidden"] = c.rounded.hidden;
  rounded["params"] = c.rounded.non_embedding_params();
  rounded["loss"] = c.rounded_loss;
  j["rounded"] = rounded;
  j["memory_bytes"] = c.memory_bytes;
  j["flops_per_token"] = c.flops;
  j["z"] = c.z;
  j["objective"] = c.objective;
  return j;
}

// "0.093 lower loss" or "0.012 higher loss".
std::string loss_change(double gain) {
  return fmt::format("{:.3f} {} loss", std::fabs(gain), gain >= 0 ? "lower" : "higher");
}

const BudgetCandidate* find_heads(const BudgetResult& r, const HeadConfig& h) {
  for (const BudgetCandidate& c : r.ranked) {
    if (c.heads == h) return &c;
  }
  return nullptr;
}

}  // namespace

void add_candidate_columns(TextTable& t, const char* loss_title, const char* z_title) {
  t.add_column("rank");
  t.add_column("H", TextTable::kLeft);
  t.add_column("N (params)");
  t.add_column("L", TextTable::kRight, 3);
  t.add_column("d", TextTable::kRight, 3);
  t.add_column("rounded model", TextTable::kLeft, 2);
  t.add_column(loss_title);
  t.add_column("memory");
  t.add_column("FLOPs/token");
  t.add_column(z_title);
}

std::vector<std::string> candidate_cells(const std::string& rank, const HeadConfig& heads, const RealShape& shape,
                                         const ModelShape& rounded, double rounded_params, double loss,
                                         double memory_bytes, double flops, double z) {
  return {rank,
          heads.to_string(),
          format_scale(shape.params),
          fmt::format("{:.1f}", shape.layers),
          fmt::format("{:.0f}", shape.hidden),
          fmt::format("L={} d={} {}", rounded.layers, rounded.hidden, format_scale(rounded_params)),
          fmt::format("{:.4f}", loss),
          format_bytes(memory_bytes),
          format_flops(flops),
          format_decimal(z, 4)};
}

void print_headline(const HeadlineReport& report) {
  std::printf(
      "\nheadline (Sec. 5.2): (8,1) against Llama-3's GQA at L* = %s, T = %s: the paper says %s less memory "
      "and %s fewer FLOPs, but not what they count; reductions under each accounting:\n",
      format_decimal(PaperHeadline::kTargetLoss).c_str(), format_context(PaperHeadline::kContext).c_str(),
      format_percent(PaperHeadline::kMemoryReduction).c_str(), format_percent(PaperHeadline::kFlopsReduction).c_str());
  for (const HeadlineComparison& c : report.comparisons) {
    std::printf("  %-24s %s against %s%s\n", (c.label + ":").c_str(), side_text(c.winner).c_str(),
                side_text(c.baseline).c_str(), c.key == "search" ? " (depends on the loss model)" : "");
  }
  std::printf("\n");
  TextTable t;
  t.add_column("accounting", TextTable::kLeft);
  t.add_column("paper");
  for (const HeadlineComparison& c : report.comparisons) t.add_column(c.label);
  t.add_column("(8,1) N for paper's");
  for (size_t i = 0; i < kAccountingCount; ++i) {
    const Accounting a = all_accountings()[i];
    std::vector<std::string> row = {accounting_name(a), format_percent(paper_reduction(a))};
    for (const HeadlineComparison& c : report.comparisons) row.push_back(format_percent(c.reductions[i]));
    row.push_back(report.matching_params[i] ? format_scale(*report.matching_params[i]) : "none");
    t.add_row(std::move(row));
  }
  std::fputs(t.render(0).c_str(), stdout);
  std::printf(
      "(last column: the (8,1) size at which the accounting gives the paper's number against the aspect-table "
      "baseline)\nwhy ours differs:\n");
  for (size_t i = 0; i < kAccountingCount; ++i) {
    std::printf("  %s: %s\n", accounting_key(all_accountings()[i]), report.reasons[i].c_str());
  }
  for (const std::string& note : report.notes) std::printf("note: %s\n", note.c_str());
}

Json headline_json(const HeadlineReport& report) {
  Json doc = Json::object();
  Json comparisons = Json::array();
  for (const HeadlineComparison& c : report.comparisons) {
    Json j = Json::object();
    j["key"] = c.key;
    j["context"] = c.context;
    j["winner"] = side_json(c.winner);
    j["baseline"] = side_json(c.baseline);
    Json red = Json::object();
    for (size_t i = 0; i < kAccountingCount; ++i) red[accounting_key(all_accountings()[i])] = c.reductions[i];
    j["reductions"] = red;
    comparisons.push_back(j);
  }
  doc["comparisons"] = comparisons;
  Json accountings = Json::array();
  for (size_t i = 0; i < kAccountingCount; ++i) {
    const Accounting a = all_accountings()[i];
    Json j = Json::object();
    j["key"] = accounting_key(a);
    j["name"] = accounting_name(a);
    j["paper"] = paper_reduction(a);
    j["matching_params"] = report.matching_params[i] ? Json(*report.matching_params[i]) : Json();
    j["reason"] = report.reasons[i];
    accountings.push_back(j);
  }
  doc["accountings"] = accountings;
  Json notes = Json::array();
  for (const std::string& n : report.notes) notes.push_back(n);
  doc["notes"] = notes;
  return doc;
}

void print_budget(const BudgetResult& r, size_t top, bool wide) {
  const SearchSettings& s = r.settings;
  std::printf("lowest loss within a budget of %s (%s) at context T = %s; objective %s\n",
              format_objective_value(r.budget, s.objective).c_str(), r.budget_source.c_str(),
              format_context(s.context).c_str(), objective_name(s.objective));
  std::printf(
      "per head configuration the largest N (non-embedding) whose %s fits, found by bisection on N; "
      "models below N = %s (the aspect table's smallest shape) are not considered\n",
      s.objective == Objective::kZ ? "Z" : objective_name(s.objective), format_scale(r.min_params).c_str());
  if (s.objective == Objective::kZ) {
    std::printf("Z (dimensionless) = %s·M^%s + %s·C^%s with %s (--z-units %s)\n", format_decimal(s.z.lambda).c_str(),
                format_decimal(s.z.alpha).c_str(), format_decimal(1 - s.z.lambda).c_str(),
                format_decimal(s.z.beta).c_str(), z_units_description(s.z.units), z_units_name(s.z.units));
  }
  std::printf("\n");
  TextTable t;
  add_candidate_columns(t, "loss at budget", "Z (dimensionless)");
  for (size_t i = 0; i < r.ranked.size() && i < top; ++i) t.add_row(budget_cells(r.ranked[i], std::to_string(i + 1)));
  if (r.baseline_at_budget) t.add_row(budget_cells(*r.baseline_at_budget, "base"));
  std::fputs(t.render(wide ? 0 : kDefaultTableWidth).c_str(), stdout);

  const BudgetCandidate& best = r.ranked.front();
  std::printf("\nbest: %s reaches loss %.4f with %s non-embedding parameters (L=%ld, d=%ld after rounding)\n",
              best.heads.to_string().c_str(), best.loss, format_scale(best.shape.params).c_str(),
              static_cast<long>(best.rounded.layers), static_cast<long>(best.rounded.hidden));
  if (r.baseline_at_budget) {
    const BudgetCandidate& b = *r.baseline_at_budget;
    std::vector<const BudgetCandidate*> shown = {&best};
    const BudgetCandidate* paper = find_heads(r, PaperHeadline::kWinner);
    if (paper != nullptr && paper != &best) shown.push_back(paper);
    for (const BudgetCandidate* c : shown) {
      std::printf("%s reaches %s than the baseline %s (%.4f) at the same cost (paper: (8,1), %.3f lower)\n",
                  c->heads.to_string().c_str(), loss_change(b.loss - c->loss).c_str(), b.heads.to_string().c_str(),
                  b.loss, PaperHeadline::kLossGain);
    }
  }
  if (!r.baseline_note.empty()) std::printf("note: %s\n", r.baseline_note.c_str());
  size_t over = 0;
  for (const SkippedCandidate& sk : r.skipped) over += sk.no_law ? 0 : 1;
  if (over > 0) std::printf("skipped: %zu head configurations whose smallest model is over the budget\n", over);
  if (r.skipped.size() > over) {
    std::printf("skipped: %zu head configurations have no law in the loss model\n", r.skipped.size() - over);
  }
}

Json budget_json(const BudgetResult& r, size_t top, Json settings, Json baseline) {
  Json doc = Json::object();
  doc["settings"] = std::move(settings);
  Json budget = Json::object();
  budget["value"] = r.budget;
  budget["unit"] = budget_unit(r.settings.objective);
  budget["source"] = r.budget_source;
  doc["budget"] = budget;
  doc["min_params"] = r.min_params;
  Json cands = Json::array();
  for (size_t i = 0; i < r.ranked.size() && i < top; ++i) cands.push_back(budget_candidate_json(r.ranked[i], i + 1));
  doc["candidates"] = cands;
  doc["evaluated"] = static_cast<int64_t>(r.ranked.size());
  doc["baseline"] = std::move(baseline);
  doc["baseline_at_budget"] =
      r.baseline_at_budget ? budget_candidate_json(*r.baseline_at_budget, std::nullopt) : Json();
  doc["baseline_in_candidates"] = r.baseline_in_candidates;
  doc["baseline_note"] = r.baseline_note.empty() ? Json() : Json(r.baseline_note);
  doc["loss_gain_vs_baseline"] =
      r.baseline_at_budget ? Json(r.baseline_at_budget->loss - r.ranked.front().loss) : Json();
  Json skipped = Json::array();
  for (const SkippedCandidate& sk : r.skipped) {
    Json j = Json::object();
    j["n_heads"] = sk.heads.n_heads;
    j["n_kv_heads"] = sk.heads.n_kv_heads;
    j["no_law"] = sk.no_law;
    j["reason"] = sk.reason;
    skipped.push_back(j);
  }
  doc["skipped"] = skipped;
  Json warnings = Json::array();
  for (const std::string& w : r.warnings) warnings.push_back(w);
  doc["warnings"] = warnings;
  return doc;
}

}  // namespace gqaforge::tools
