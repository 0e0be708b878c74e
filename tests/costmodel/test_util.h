// Helpers shared by the cost-model test suites.
#pragma once

#include <string>

#include "core/status.h"
#include "costmodel/loss_model.h"
#include "costmodel/presets.h"
#include "costmodel/report_html.h"
#include "costmodel/search.h"

namespace gqaforge::costmodel::testing {

/// The HTML report of the paper's headline search (L* = 2.615 at T = 128K) on the bundled loss
/// model and presets.
inline Result<std::string> headline_report_html() {
  GQF_ASSIGN_OR_RETURN(LossModel loss, LossModel::bundled_default());
  GQF_ASSIGN_OR_RETURN(Presets presets, Presets::bundled());
  SearchSettings s;
  s.target_loss = 2.615;
  s.context = 131072;
  GQF_ASSIGN_OR_RETURN(SearchResult result, run_search(loss, presets.aspect_table(), s, nullptr));
  return render_report_html(result, loss, presets.aspect_table());
}

}  // namespace gqaforge::costmodel::testing
