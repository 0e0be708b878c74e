// The self-contained HTML report of a search: settings, the ranked table, the reduction
// against the Llama-3 GQA baseline, and inline SVG plots (cost vs context length for the top
// configurations, loss vs cost per head configuration, the memory-vs-FLOPs Pareto front).
#pragma once

#include <string>
#include <vector>

#include "costmodel/loss_model.h"
#include "costmodel/presets.h"
#include "costmodel/search.h"

namespace gqaforge::costmodel {

/// Renders the report. `top` limits the configurations drawn in the per-configuration plots.
std::string render_report_html(const SearchResult& result, const LossModel& loss, const std::vector<AspectPoint>& table,
                               size_t top = 5);

}  // namespace gqaforge::costmodel
