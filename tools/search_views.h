// `gqaforge search --headline` and `search --budget`: the headline accounting table and the
// inverse query's table, as text or JSON (tools/cmd_search_views.cpp). Declared here for
// cmd_search.cpp, which owns the flags and the normal search output.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/table.h"
#include "costmodel/headline.h"
#include "costmodel/inverse.h"

namespace gqaforge::tools {

/// The columns the search table and the budget table open with: rank, H, N (params), L, d, the
/// rounded model, then `loss_title`, memory, FLOPs/token and `z_title`.
void add_candidate_columns(TextTable& t, const char* loss_title, const char* z_title);
/// The cells of those columns for one row.
std::vector<std::string> candidate_cells(const std::string& rank, const costmodel::HeadConfig& heads,
                                         const costmodel::RealShape& shape, const costmodel::ModelShape& rounded,
                                         double rounded_params, double loss, double memory_bytes, double flops,
                                         double z);

/// The headline table: per accounting the paper's number, ours for each comparison, the (8,1)
/// size that would give the paper's number, and one line of reasons per accounting.
void print_headline(const costmodel::HeadlineReport& report);
/// The same as the "headline" member of the search JSON (docs/json-output.md).
Json headline_json(const costmodel::HeadlineReport& report);

/// The inverse query's table on stdout, with the "lower loss than the baseline" line.
void print_budget(const costmodel::BudgetResult& result, size_t top, bool wide);
/// Its JSON document; `settings` and `baseline` are the search's encodings of the settings and
/// of the baseline at the target loss (null when there is none).
Json budget_json(const costmodel::BudgetResult& result, size_t top, Json settings, Json baseline);

}  // namespace gqaforge::tools
