// The measured-cost output of `gqaforge search` (tools/search_measured.cpp): the JSON of the
// measured estimates (docs/json-output.md) and the --table5 mode.
#pragma once

#include "core/json.h"
#include "costmodel/measured_costs.h"
#include "costmodel/presets.h"
#include "costmodel/search.h"

namespace gqaforge::tools {

/// {total_us, attention_us, linear_us, elementwise_us, kernels, launch_us, launch_bound_us,
/// extrapolated, notes}.
Json latency_json(const costmodel::LatencyBreakdown& l);
/// latency_json of the prompt's time plus batch, tokens and tokens_per_s.
Json prompt_json(const costmodel::PromptEstimate& p);
/// {tokens_per_s, batch, extrapolated, measured_batches, beyond_measured_batches, note, floor}.
Json throughput_json(const costmodel::ThroughputEstimate& t);
/// {launch_us, max_batch, gpu_memory_bytes}.
Json measured_settings_json(const costmodel::MeasuredSettings& m);

/// `search --table5`: the paper's Table 5 models priced on `measured`, as a table or JSON.
int print_table5(const costmodel::Presets& presets, const costmodel::SearchSettings& s,
                 const costmodel::MeasuredCosts& measured, bool json);

}  // namespace gqaforge::tools
