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

namespace gqaforge::cli {
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

int run_compare(const Args& args) {
  ArgParser p("gqaforge compare-searchers",
              "Replays the exhaustive, random and guided strategies on the measured landscapes of\n"
              "exhaustive tune runs in a database: for every problem whose space was measured in\n"
              "full, how many evaluations each strategy spends and how close it gets to the best.");
  p.add_flag("db", "FILE", "database holding exhaustive tune runs", "$GQAFORGE_DB or ./gqaforge.sqlite");
  p.add_flag("arch", "SM", "target whose device limits define the spaces", "sm_90a");
  p.add_flag("target", "PERCENT", "allowed distance from the exhaustive best", "3");
  p.add_flag("random-fraction", "F", "random's sample size as a fraction of the valid points", "0.3");
  p.add_flag("seeds", "N", "random samples per problem", "50");
  p.add_switch("without-default", "do not measure the heuristic default first (the searchers alone)");
  p.add_flag("min-coverage", "F", "smallest measured fraction of the valid points to count as exhaustive",
             "0.95");
  p.add_switch("json", "print the result as JSON (docs/json-output.md)");
  p.add_switch("markdown", "print the table as Markdown (for a results document)");
  p.add_switch("wide", "print every column, however wide (default: at most 120 columns)");
  if (int rc = p.parse(args); rc >= 0) return rc;

  auto number = [&](const std::string& flag, const std::string& fallback, double lo, double hi) -> Result<double> {
    const std::string text = p.get(flag, fallback);
    auto v = parse_double(text);
    if (!v.ok() || !(*v >= lo && *v <= hi)) return invalid_argument("--{} '{}' must be a number in [{}, {}]", flag, text, lo, hi);
    return *v;
  };
  auto target_pct = number("target", "3", 0, 100);
  auto fraction = number("random-fraction", "0.3", 0.001, 1);
  auto seeds = number("seeds", "50", 1, 10000);
  auto coverage = number("min-coverage", "0.95", 0, 1);
  for (const auto* r : {&target_pct, &fraction, &seeds, &coverage}) {
    if (!r->ok()) return report_failure(r->status());
  }
  auto limits = DeviceLimits::for_arch(p.get("arch", "sm_90a"));
  if (!limits.ok()) return report_failure(limits.status());
  auto db = Database::open(p.get("db", default_database_path()), OpenMode::kReadOnly);
  if (!db.ok()) return report_failure(db.status());
  auto rows = (*db)->measurements(MeasurementFilter{});
  if (!rows.ok()) return report_failure(rows.status());

  // Rows per (environment, problem).
  std::map<std::pair<std::string, std::string>, std::vector<MeasurementRecord>> groups;
  for (MeasurementRecord& r : *rows) {
    if (r.problem.family != "decode" && r.problem.family != "prefill") continue;
    groups[{r.env_key, r.problem.canonical()}].push_back(std::move(r));
  }
  const double target = 1.0 + *target_pct / 100.0;
  const bool with_default = !p.get_switch("without-default");
  const std::string within = fmt::format("≤{}%", format_decimal(*target_pct));

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
    auto problem = tune::problem_from_record(group.front().problem);
    if (!problem.ok()) continue;
    auto l = tune::landscape_from_rows(*problem, group, *limits);
    if (!l.ok()) continue;
    const int64_t n = static_cast<int64_t>(l->valid.size());
    if (n < static_cast<double>(n + l->unmeasured) * *coverage) continue;  // not an exhaustive run
    auto guided = tune::replay(*l, "guided", 0, 1, target, with_default);
    if (!guided.ok()) return report_failure(guided.status());
    const int64_t budget = std::max<int64_t>(1, static_cast<int64_t>(std::llround(*fraction * static_cast<double>(n))));
    std::vector<double> gaps;
    int hits = 0;
    for (int s = 1; s <= static_cast<int>(*seeds); ++s) {
      auto r = tune::replay(*l, "random", budget, static_cast<uint64_t>(s), target, with_default);
      if (!r.ok()) return report_failure(r.status());
      gaps.push_back(r->best_us / l->best_us - 1.0);
      hits += r->best_us <= target * l->best_us ? 1 : 0;
    }
    const double share = static_cast<double>(guided->evaluations) / static_cast<double>(n);
    table.add_row({problem->name(), std::to_string(n), format_time_us(l->best_us), gap_text(l->default_us, l->best_us),
                   std::to_string(guided->evaluations), format_percent(share), gap_text(guided->best_us, l->best_us),
                   guided->evals_to_target < 0 ? "never" : std::to_string(guided->evals_to_target),
                   std::to_string(budget), format_percent(median(gaps)), fmt::format("{:.0f}%", 100.0 * hits / *seeds)});
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
    r["within_target"] = static_cast<double>(hits) / *seeds;
    j["random"] = r;
    problems.push_back(j);
  }
  // Nothing is printed before this check: a database without exhaustive runs gets the error alone.
  if (table.rows() == 0) {
    return report_failure(not_found("no problem in '{}' was tuned exhaustively (run `gqaforge tune --strategy exhaustive`)",
                                    (*db)->path()));
  }
  if (p.get_switch("json")) {
    Json doc = json_document("compare-searchers");
    doc["database"] = (*db)->path();
    doc["target_percent"] = *target_pct;
    doc["random_fraction"] = *fraction;
    doc["seeds"] = static_cast<int64_t>(*seeds);
    doc["with_default"] = with_default;
    doc["problems"] = problems;
    print_json(doc);
    return 0;
  }
  const std::string pct = format_decimal(*target_pct) + "%";
  std::printf("best: the exhaustive optimum; guided, random: evaluations spent; gap: how far the best found is from it;\n"
              "to %s: guided evaluations until within %s; P(%s): share of %d random samples within %s\n\n",
              within.c_str(), pct.c_str(), within.c_str(), static_cast<int>(*seeds), pct.c_str());
  std::fputs(p.get_switch("markdown") ? table.render_markdown().c_str()
                                      : table.render(p.get_switch("wide") ? 0 : kDefaultTableWidth).c_str(),
             stdout);
  std::printf("\n%zu problem(s); default = the heuristic config's distance from the exhaustive best\n", table.rows());
  return 0;
}

}  // namespace
GQF_REGISTER_COMMAND("compare-searchers", "replay tune strategies on exhaustively measured landscapes", 47,
                     run_compare);
}  // namespace gqaforge::cli
