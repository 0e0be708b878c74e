// Search objectives: the paper's Z = lambda M^alpha + (1 - lambda) C^beta (eq. 5) with its
// unit convention as a named setting, plain memory and FLOPs, and the measured ones
// (per-token decode latency, tokens/s per GPU, prompt latency and prompt tokens/s) that come
// from MeasuredCosts.
#pragma once

#include <string>

#include "core/status.h"
#include "costmodel/costs.h"

namespace gqaforge::costmodel {

enum class Objective {
  kZ,                 // eq. 5
  kMemory,            // M_infer(T), bytes
  kFlops,             // C_infer(T), FLOPs per token
  kLatency,           // measured per-token decode latency at (batch, T)
  kThroughput,        // measured tokens/s per GPU at T with the largest batch that fits (maximised)
  kPromptLatency,     // measured time to process a T-token prompt for `batch` sequences (prefill)
  kPromptThroughput,  // measured prompt tokens/s, batch * T / that time (maximised)
};

const char* objective_name(Objective o);
/// Whether the objective comes from MeasuredCosts (latency, throughput and their prompt forms).
bool objective_is_measured(Objective o);
/// Whether the objective prices a prompt (prefill): prompt-latency or prompt-throughput.
bool objective_is_prompt(Objective o);
Result<Objective> parse_objective(const std::string& text);

/// The units of M and C inside Z. The paper does not state them; per-sequence quantities
/// reproduce its Fig. 2 and Table 4 (see docs/costmodel.md).
enum class ZUnits {
  kSequenceBytes,       // M in bytes (bytes_per_value), C = T * C_infer(T)  [default]
  kSequenceHalfValues,  // M in values, C = (T / 2) * C_infer(T)
  kTokenValues,         // M in values, C = C_infer(T) (per token, as eqs. 3-4 print)
  kSequenceMeanBytes,   // M in bytes, C = T * C_infer(T / 2): the exact FLOPs of a T-token sequence
};

const char* z_units_name(ZUnits u);
/// What M and C are under a convention: "M in bytes, C = T·C_infer(T) in FLOPs". Z itself is a
/// plain number (a weighted sum of M^alpha and C^beta), so this is its "unit".
const char* z_units_description(ZUnits u);
Result<ZUnits> parse_z_units(const std::string& text);

struct ZSettings {
  double lambda = 0.9;      // weight of memory
  double alpha = 0.5;       // exponent of memory
  double beta = 1.0 / 3.0;  // exponent of compute
  ZUnits units = ZUnits::kSequenceBytes;
};

/// M and C as they enter Z under the settings' unit convention.
struct ZTerms {
  double memory = 0;
  double compute = 0;
};
ZTerms z_terms(const InferenceCost& cost, double context, const ZSettings& z, const CostSettings& c);

/// Z for one configuration.
double z_value(const InferenceCost& cost, double context, const ZSettings& z, const CostSettings& c);

}  // namespace gqaforge::costmodel
