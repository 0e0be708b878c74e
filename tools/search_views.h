// `gqaforge search --headline` and `search --budget`: the headline accounting table and the
// inverse query's table, as text or JSON (tools/cmd_search_views.cpp). Declared here for
// cmd_search.cpp, which owns the flags and the normal search output.
#pragma once

#include <cstddef>

#include "core/json.h"
#include "costmodel/headline.h"
#include "costmodel/inverse.h"

namespace gqaforge::tools {

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
