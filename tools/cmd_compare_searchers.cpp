// `gqaforge compare-searchers`: replays the tune strategies on the landscapes of exhaustive
// tune runs stored in a database (autotune/replay.h) and prints, per problem, how close each
// strategy gets to the exhaustive optimum and with how many evaluations. No GPU is used: the
// GPU time was spent once, by the exhaustive run.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "autotune/replay.h"
#include "autotune/tuner.h"
#include "core/strings.h"
#include "core/table.h"
#include "core/units.h"
#include "db/database.h"
#include "tools/args.h"
#include "tools/commands.h"
#include "tools/json_output.h"
#include "tools/problem_flags.h"
#include "tools/validators.h"

namespace gqaforge::tools {
namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n == 0 ? 0 : (n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]));
}

std::string gap_text(double found, double best) {
  if (!std::isfinite(found)) return "failed";
  return fmt::format("{:.1f}%", 100.0 * (found / best - 1.0));
}

struct CompareFlags {
  std::string db;
  std::string arch = "sm_90a";
  double target_pct = 3, fraction = 0.3, seeds = 50, coverage = 0.95;
  bool without_default = false, json = false, markdown = false, wide = false;
};

int run_compare(const CompareFlags& f) {
  auto limits = codegen::DeviceLimits::for_arch(f.arch);
  if (!limits.ok()) return report_failure(limits.status());
  auto db = db::Database::open(f.db, db::OpenMode::kReadOnly);
  if (!db.ok()) return report_failure(db.status());
  auto rows = (*db)->measurements(db::MeasurementFilter{});
  if (!rows.ok()) return report_failure(rows.status());

  // Rows per (environment, problem).
  std::map<std::pair<std::string, std::string>, std::vector<MeasurementRecord>> groups;
  for (MeasurementRecord& r : *rows) {
    auto family = codegen::find_family(r.problem.family);
    if (!family.ok() || !autotune::find_tuning(**family).ok()) continue;  // nothing tuned: no landscape
    groups[{r.env_key, r.problem.canonical()}].push_back(std::move(r));
  }
  const double target = 1.0 + f.target_pct / 100.0;
  const bool with_default = !f.without_default;
  const std::string within = fmt::format("≤{}%", format_decimal(f.target_pct));

  TextTable table;
  table.add_column("problem", TextTable::kLeft);
  table.add_column("valid");
  table.add_column("best");
  table.add_column("default");
  table.add_column("guided");
  table.add_column("% of valid", TextTable::kRight, 2);
  table.add_column("gap");
  table.add_column("to " + within);
  table.add_column("random", TextTable::kRight, 1);
  table.add_column("median gap");
  table.add_column("P(" + within + ")");
  Json problems = Json::array();
  auto gap_json = [](double found, double best) { return std::isfinite(found) ? Json(found / best - 1.0) : Json(); };
  for (const auto& [key, group] : groups) {
    auto problem = autotune::problem_from_record(group.front().problem);
    if (!problem.ok()) continue;
    auto l = autotune::landscape_from_rows(*problem, group, *limits);
    if (!l.ok()) continue;
    const int64_t n = static_cast<int64_t>(l->valid.size());
    // Only landscapes of an exhaustive run.
    if (static_cast<double>(n) < static_cast<double>(n + l->unmeasured) * f.coverage) continue;
    auto guided = autotune::replay(*l, "guided", 0, 1, target, with_default);
    if (!guided.ok()) return report_failure(guided.status());
    const int64_t budget =
        std::max<int64_t>(1, static_cast<int64_t>(std::llround(f.fraction * static_cast<double>(n))));
    std::vector<double> gaps;
    int hits = 0;
    for (int s = 1; s <= static_cast<int>(f.seeds); ++s) {
      auto r = autotune::replay(*l, "random", budget, static_cast<uint64_t>(s), target, with_default);
      if (!r.ok()) return report_failure(r.status());
      gaps.push_back(r->best_us / l->best_us - 1.0);
      hits += r->best_us <= target * l->best_us ? 1 : 0;
    }
    const double share = static_cast<double>(guided->evaluations) / static_cast<double>(n);
    table.add_row({problem->name(), std::to_string(n), format_time_us(l->best_us), gap_text(l->default_us, l->best_us),
                   std::to_string(guided->evaluations), format_percent(share), gap_text(guided->best_us, l->best_us),
                   guided->evals_to_target < 0 ? "never" : std::to_string(guided->evals_to_target),
                   std::to_string(budget), format_percent(median(gaps)),
                   fmt::format("{:.0f}%", 100.0 * hits / f.seeds)});
    Json j = Json::object();
    j["problem"] = problem->name();
    j["environment"] = key.first;
    j["valid_points"] = n;
    j["exhaustive_best_us"] = l->best_us;
    j["default_gap"] = with_default ? gap_json(l->default_us, l->best_us) : Json();
    Json g = Json::object();
    g["evaluations"] = guided->evaluations;
    g["fraction_of_valid"] = share;
    g["gap"] = gap_json(guided->best_us, l->best_us);
    g["evaluations_to_target"] = guided->evals_to_target < 0 ? Json() : Json(guided->evals_to_target);
    j["guided"] = g;
    Json r = Json::object();
    r["evaluations"] = budget;
    r["median_gap"] = median(gaps);
    r["within_target"] = static_cast<double>(hits) / f.seeds;
    j["random"] = r;
    problems.push_back(j);
  }
  // Nothing is printed before this check: a database without exhaustive runs gets the error alone.
  if (table.rows() == 0) {
    return report_failure(not_found(
        "no problem in '{}' was tuned exhaustively (run `gqaforge tune --strategy exhaustive`)", (*db)->path()));
  }
  if (f.json) {
    Json doc = json_document("compare-searchers");
    doc["database"] = (*db)->path();
    doc["target_percent"] = f.target_pct;
    doc["random_fraction"] = f.fraction;
    doc["seeds"] = static_cast<int64_t>(f.seeds);
    doc["with_default"] = with_default;
    doc["problems"] = problems;
    print_json(doc);
    return 0;
  }
  const std::string pct = format_decimal(f.target_pct) + "%";
  std::printf(
      "best: the exhaustive optimum; guided, random: evaluations spent; gap: how far the best found is from it;\n"
      "to %s: guided evaluations until within %s; P(%s): share of %d random samples within %s\n\n",
      within.c_str(), pct.c_str(), within.c_str(), static_cast<int>(f.seeds), pct.c_str());
  std::fputs(f.markdown ? table.render_markdown().c_str() : table.render(f.wide ? 0 : kDefaultTableWidth).c_str(),
             stdout);
  std::printf("\n%zu problem(s); default = the heuristic config's distance from the exhaustive best\n", table.rows());
  return 0;
}

CommandAction declare_compare(CLI::App& app) {
  app.description(
      "Replays the exhaustive, random and guided strategies on the measured landscapes of exhaustive "
      "tune runs in a database: for every problem whose space was measured in full, how many evaluations "
      "each strategy spends and how close it gets to the best.");
  auto f = std::make_shared<CompareFlags>();
  add_database_flag(app, f->db, "database holding exhaustive tune runs");
  app.add_option("--arch", f->arch, "target whose device limits define the spaces")
      ->type_name("SM")
      ->default_str("sm_90a");
  app.add_option("--target", f->target_pct, "allowed distance from the exhaustive best")
      ->type_name("PERCENT")
      ->default_str("3")
      ->transform(number_in(0, 100));
  app.add_option("--random-fraction", f->fraction, "random's sample size as a fraction of the valid points")
      ->type_name("F")
      ->default_str("0.3")
      ->transform(number_in(0.001, 1));
  app.add_option("--seeds", f->seeds, "random samples per problem")
      ->type_name("N")
      ->default_str("50")
      ->transform(number_in(1, 10000));
  add_switch(app, "--without-default", f->without_default,
             "do not measure the heuristic default first (the searchers alone)");
  app.add_option("--min-coverage", f->coverage, "smallest measured fraction of the valid points to count as exhaustive")
      ->type_name("F")
      ->default_str("0.95")
      ->transform(number_in(0, 1));
  add_switch(app, "--json", f->json, "print the result as JSON (docs/json-output.md)");
  add_switch(app, "--markdown", f->markdown, "print the table as Markdown (for a results document)");
  add_switch(app, "--wide", f->wide, "print every column, however wide (default: at most 120 columns)");
  return [f](const Args&) { return run_compare(*f); };
}

}  // namespace
GQF_REGISTER_COMMAND("compare-searchers", "replay tune strategies on exhaustively measured landscapes", 47,
                     declare_compare);
}  // namespace gqaforge::tools
