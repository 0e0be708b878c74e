// gqaforge_calibrate_loss: refits the bundled loss model (data/loss-model-default.json) from
// data/loss-calibration.json, the numbers the paper publishes about its loss fits
// (docs/loss-model.md). It fits the head-factor form to the Llama-3 anchors, the App. I
// head-count laws and Table 4, then cross-validates: one refit per left-out Table 4 column,
// which predicts that column, and one refit without Table 4 at all. Deterministic (the inputs
// fix the seed); progress and the cell-by-cell comparison go to stderr.
//
//   gqaforge_calibrate_loss [--inputs FILE] [--no-cv] [-o FILE]
#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>

#include "core/fs.h"
#include "costmodel/loss_calibration.h"

using namespace gqaforge;
using namespace gqaforge::costmodel;

namespace {

void print_progress(const std::string& line) {
  std::fprintf(stderr, "%s\n", line.c_str());
}

int fail(const Status& s) {
  std::fprintf(stderr, "gqaforge_calibrate_loss: %s\n", s.message().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Refits the bundled loss model from the paper's published numbers."};
  std::string inputs_path = std::string(GQAFORGE_SOURCE_DIR) + "/data/loss-calibration.json";
  std::string output;
  bool no_cv = false;
  app.add_option("--inputs", inputs_path, "calibration inputs (JSON)")->check(CLI::ExistingFile);
  app.add_option("-o,--output", output, "write the model here (default: standard output)");
  app.add_flag("--no-cv", no_cv, "skip the cross-validation fits");
  CLI11_PARSE(app, argc, argv);

  auto text = read_file(inputs_path);
  if (!text.ok()) return fail(text.status());
  auto inputs = parse_calibration(*text, inputs_path);
  if (!inputs.ok()) return fail(inputs.status());
  auto presets = Presets::bundled();
  if (!presets.ok()) return fail(presets.status());
  // The search's own default settings: the model is calibrated for the recipe as users run it.
  LossCalibration cal(*inputs, presets->aspect_table(), SearchSettings{});
  auto report = run_calibration(cal, !no_cv, print_progress);
  if (!report.ok()) return fail(report.status());

  LossModel& model = report->model;
  const HeadFactorLaw& law = model.head_factor();
  model.set_description(fmt::format(
      "gqaforge default loss model: the head-factor form fitted to the paper's Llama-3 reference losses, its App. I "
      "head-count laws and Table 4 ({}/40 cells in sample); monotone with diminishing returns in n_h and n_kv. "
      "Derivation: docs/loss-model.md.",
      report->in_sample.table4_matches));
  auto check = check_table4(model, cal.table(), cal.base());
  if (!check.ok()) return fail(check.status());
  for (const Table4Outcome& o : check->cells) {
    std::fprintf(stderr, "L*=%.2f T=%6.0f paper %-8s model %-8s %s gap %+.2f%%\n", o.cell.target_loss, o.cell.context,
                 o.cell.expected.to_string().c_str(), o.got.to_string().c_str(), o.match ? "ok  " : "MISS",
                 100 * o.gap);
  }
  for (const LossAnchor& a : cal.inputs().anchors) {
    std::fprintf(stderr, "anchor %-22s %.4f (paper %.3f)\n", a.label.c_str(), law.at(a.heads).predict(a.params),
                 a.loss);
  }
  for (const auto& r : cal.head_law_residuals(law)) {
    std::fprintf(stderr, "head law %-28s L(1,1) - L(%lld,%lld): model %.4f, paper %.4f\n", r.label.c_str(),
                 static_cast<long long>(r.n), static_cast<long long>(r.n), r.model_gain, r.paper_gain);
  }
  std::fprintf(stderr, "Table 4: %d/40 in sample", report->in_sample.table4_matches);
  if (!report->folds.empty()) {
    int held = 0;
    for (const auto& f : report->folds) held += f.held_out_matches;
    std::fprintf(stderr, ", %d/40 held out (leave one column out), %d/40 with no Table 4 in the fit", held,
                 report->no_table4_matches);
  }
  std::fprintf(stderr, "\n");
  const std::string json = dump_json(model.to_json()) + "\n";
  if (output.empty()) {
    std::fputs(json.c_str(), stdout);
    return 0;
  }
  if (Status s = write_file_atomic(output, json); !s.ok()) return fail(s);
  return 0;
}
