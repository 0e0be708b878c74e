// Objective names and the Z formula.
#include "costmodel/objectives.h"

#include <cmath>

#include "core/enum_names.h"
#include "core/strings.h"

namespace gqaforge::costmodel {
namespace {

constexpr EnumName<Objective> kObjectiveNames[] = {
    {Objective::kZ, "z"},
    {Objective::kMemory, "memory"},
    {Objective::kFlops, "flops"},
    {Objective::kLatency, "latency"},
    {Objective::kThroughput, "throughput"},
    {Objective::kPromptLatency, "prompt-latency"},
    {Objective::kPromptThroughput, "prompt-throughput"},
};

constexpr EnumName<ZUnits> kZUnitsNames[] = {
    {ZUnits::kSequenceBytes, "sequence-bytes"},
    {ZUnits::kSequenceHalfValues, "sequence-half-values"},
    {ZUnits::kTokenValues, "token-values"},
    {ZUnits::kSequenceMeanBytes, "sequence-mean-bytes"},
};

}  // namespace

const char* objective_name(Objective o) {
  return enum_name(kObjectiveNames, o);
}

Result<Objective> parse_objective(const std::string& text) {
  if (auto o = enum_value(kObjectiveNames, to_lower(text))) return *o;
  return invalid_argument(
      "unknown objective '{}' (expected z, memory, flops, latency, throughput, prompt-latency or "
      "prompt-throughput)",
      text);
}

bool objective_is_prompt(Objective o) {
  return o == Objective::kPromptLatency || o == Objective::kPromptThroughput;
}

bool objective_is_measured(Objective o) {
  return o == Objective::kLatency || o == Objective::kThroughput || objective_is_prompt(o);
}

const char* z_units_name(ZUnits u) {
  return enum_name(kZUnitsNames, u);
}

const char* z_units_description(ZUnits u) {
  switch (u) {
    case ZUnits::kSequenceBytes:
      return "M in bytes, C = T·C_infer(T) in FLOPs";
    case ZUnits::kSequenceHalfValues:
      return "M in values, C = (T/2)·C_infer(T) in FLOPs";
    case ZUnits::kTokenValues:
      return "M in values, C = C_infer(T) in FLOPs per token";
    case ZUnits::kSequenceMeanBytes:
      return "M in bytes, C = T·C_infer(T/2) in FLOPs";
  }
  return "unknown";
}

Result<ZUnits> parse_z_units(const std::string& text) {
  if (auto u = enum_value(kZUnitsNames, to_lower(text))) return *u;
  return invalid_argument(
      "unknown Z unit convention '{}' (expected sequence-bytes, sequence-half-values, token-values or "
      "sequence-mean-bytes)",
      text);
}

ZTerms z_terms(const InferenceCost& cost, double context, const ZSettings& z, const CostSettings& c) {
  ZTerms t;
  switch (z.units) {
    case ZUnits::kSequenceBytes:
      t.memory = cost.memory_values() * c.bytes_per_value;
      t.compute = context * cost.flops();
      break;
    case ZUnits::kSequenceHalfValues:
      t.memory = cost.memory_values();
      t.compute = 0.5 * context * cost.flops();
      break;
    case ZUnits::kTokenValues:
      t.memory = cost.memory_values();
      t.compute = cost.flops();
      break;
    case ZUnits::kSequenceMeanBytes:
      // Affine in T: the sum of C_infer(t) over t < T is T * C_infer(T / 2).
      t.memory = cost.memory_values() * c.bytes_per_value;
      t.compute = context * (cost.flops_invariant + 0.5 * cost.flops_variant);
      break;
  }
  return t;
}

double z_value(const InferenceCost& cost, double context, const ZSettings& z, const CostSettings& c) {
  ZTerms t = z_terms(cost, context, z, c);
  return z.lambda * std::pow(t.memory, z.alpha) + (1.0 - z.lambda) * std::pow(t.compute, z.beta);
}

}  // namespace gqaforge::costmodel
