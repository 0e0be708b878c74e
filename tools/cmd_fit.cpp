// `gqaforge fit`: fits the loss model L(N; H) = (a_H / N)^b_H + E to training runs in a CSV
// (n_h,n_kv,N,loss) by Levenberg-Marquardt, reports R^2, residuals and standard errors, and
// writes the loss-model JSON that `gqaforge search --loss-model` reads. The App. I head-count
// law L(n_h) = a n_h^b + c is available as an alternative form.
#include <cmath>
#include <optional>
#include <cstdio>

#include "core/fs.h"
#include "core/json.h"
#include "core/strings.h"
#include "costmodel/loss_fit.h"
#include "costmodel/units.h"
#include "tools/args.h"
#include "tools/commands.h"
#include "tools/validators.h"

namespace gqaforge::tools {
namespace {

using namespace costmodel;

std::string pm(double value, const std::optional<double>& se) {
  if (!se || !std::isfinite(*se)) return fmt::format("{:.4g}", value);
  return fmt::format("{:.4g} ± {:.2g}", value, *se);
}

void print_power_report(const LossFitReport& r, const std::vector<LossPoint>& points, bool show_residuals) {
  std::printf("power law L(N; H) = (a_H / N)^b_H + %s, %d points, %d parameters, %s\n",
              r.model.shared_e() ? "E (shared)" : "E_H", r.points, r.parameters,
              r.converged ? "converged" : "NOT converged (max iterations)");
  std::printf("%-9s %6s  %-22s %-18s %-18s %8s %9s\n", "H", "points", "a", "b", "E", "R^2", "RMSE");
  for (size_t i = 0; i < r.per_head.size(); ++i) {
    const HeadFitStats& st = r.per_head[i];
    const PowerLaw& law = r.model.table()[i].second;
    std::printf("%-9s %6d  %-22s %-18s %-18s %8.5f %9.2e\n", st.heads.to_string().c_str(), st.points,
                pm(law.a, law.se_a).c_str(), pm(law.b, law.se_b).c_str(), pm(law.e, law.se_e).c_str(), st.r2, st.rmse);
  }
  std::printf("overall R^2 = %.6f, RMSE = %.3e\n", r.r2, r.rmse);
  if (show_residuals) {
    std::printf("\nresiduals (observed - predicted):\n");
    for (const HeadFitStats& st : r.per_head) {
      size_t k = 0;
      for (const LossPoint& p : points) {
        if (p.heads != st.heads) continue;
        std::printf("  line %-5d %-9s N=%-10s loss %.4f  residual %+.2e\n", p.line, st.heads.to_string().c_str(),
                    format_scale(p.params).c_str(), p.loss, st.residuals[k]);
        ++k;
      }
    }
  }
}

struct FitFlags {
  std::string csv;
  std::optional<std::string> output;
  std::string form = "power";
  bool per_h_e = false;
  int64_t context = 8192;
  bool residuals = false;
};

int run_fit(const FitFlags& f) {
  const std::string& form = f.form;
  const std::string& csv = f.csv;
  auto text = read_file(csv);
  if (!text.ok()) return report_failure(text.status());
  auto points = parse_loss_csv(*text, csv);
  if (!points.ok()) return report_failure(points.status());
  std::printf("%zu training runs from %s\n\n", points->size(), csv.c_str());

  Json out;
  if (form == "power" || form == "both") {
    LossFitOptions options;
    options.shared_e = !f.per_h_e;
    auto report = fit_power_laws(*points, options);
    if (!report.ok()) return report_failure(report.status().with_context(csv));
    print_power_report(*report, *points, f.residuals);
    LossModel model = report->model;
    model.set_context(static_cast<double>(f.context));
    model.set_description(fmt::format("fitted by gqaforge fit from {} ({} runs)", csv, points->size()));
    Json notes = Json::object();
    notes["r2"] = report->r2;
    notes["rmse"] = report->rmse;
    notes["points"] = report->points;
    notes["converged"] = report->converged;
    model.set_notes(notes);
    if (form == "both") {
      auto laws = fit_head_laws(*points, static_cast<double>(f.context));
      if (laws.ok()) model.set_head_laws(laws->laws);
    }
    out = model.to_json();
  }
  if (form == "head-law" || form == "both") {
    auto laws = fit_head_laws(*points, static_cast<double>(f.context));
    if (!laws.ok()) return report_failure(laws.status().with_context(csv));
    std::printf("\nhead-count law L(n_h) = a n_h^b + c per model size:\n");
    std::printf("%-12s %-20s %-20s %-20s %8s\n", "N", "a", "b", "c", "R^2");
    for (const HeadCountLaw& l : laws->laws) {
      std::printf("%-12s %-20s %-20s %-20s %8.5f\n", format_scale(l.params).c_str(), pm(l.a, l.se_a).c_str(),
                  pm(l.b, l.se_b).c_str(), pm(l.c, l.se_c).c_str(), l.r2);
    }
    for (const std::string& note : laws->notes) std::printf("  note: %s\n", note.c_str());
    if (form == "head-law") {
      out = Json::object();
      out["format"] = "gqaforge-head-laws";
      out["version"] = 1;
      out["law"] = "L(n_h) = a * n_h^b + c at fixed N";
      Json arr = Json::array();
      for (const HeadCountLaw& l : laws->laws) {
        Json e = Json::object();
        e["params"] = l.params;
        e["context"] = l.context;
        e["a"] = l.a;
        e["b"] = l.b;
        e["c"] = l.c;
        e["se_a"] = l.se_a ? Json(*l.se_a) : Json();
        e["se_b"] = l.se_b ? Json(*l.se_b) : Json();
        e["se_c"] = l.se_c ? Json(*l.se_c) : Json();
        e["r2"] = l.r2;
        arr.push_back(e);
      }
      out["head_laws"] = arr;
    }
  }
  if (const std::optional<std::string>& path = f.output) {
    Status s = write_file_atomic(*path, dump_json(out));
    if (!s.ok()) return report_failure(s);
    std::printf("\nwrote %s\n", path->c_str());
  }
  return 0;
}

CommandAction declare_fit(CLI::App& app) {
  app.description(
      "Fits the loss model to training runs. The CSV needs a header naming n_h,n_kv,N,loss (N = "
      "non-embedding parameters). The power form L(N; H) = (a_H/N)^b_H + E is what the search uses; the "
      "head-count form L(n_h) = a n_h^b + c (paper App. I) fits each group of equal N.");
  auto f = std::make_shared<FitFlags>();
  app.add_option("csv", f->csv, "training runs: n_h,n_kv,N,loss")->required();
  app.add_option(kOutputFlag, f->output, "write the fitted model as JSON")->type_name("FILE");
  app.add_option("--form", f->form, "power, head-law, or both")
      ->type_name("FORM")
      ->default_str("power")
      ->transform(one_of({"power", "head-law", "both"}, /*ignore_case=*/true));
  add_switch(app, "--per-h-e", f->per_h_e, "fit one E per head configuration instead of a shared E");
  app.add_option("--context", f->context, "training context of the runs (recorded in the model)")
      ->type_name("T")
      ->default_str("8192")
      ->transform(positive_count());
  add_switch(app, "--residuals", f->residuals, "print every point's residual");
  return [f](const Args&) { return run_fit(*f); };
}

}  // namespace
GQF_REGISTER_COMMAND("fit", "fit the loss model L(N; H) to training runs (CSV)", 61, declare_fit);
}  // namespace gqaforge::tools
