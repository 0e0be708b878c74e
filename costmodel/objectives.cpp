// Objective names and the Z formula.
#include "costmodel/objectives.h"

#include <cmath>

#include "core/strings.h"

namespace gqaforge::costmodel {

const char* objective_name(Objective o) {
  switch (o) {
    case Objective::kZ:
      return "z";
    case Objective::kMemory:
      return "memory";
    case Objective::kFlops:
      return "flops";
    case Objective::kLatency:
      return "latency";
    case Objective::kThroughput:
      return "throughput";
  }
  return "unknown";
}

Result<Objective> parse_objective(const std::string& text) {
  std::string t = to_lower(text);
  for (Objective o :
       {Objective::kZ, Objective::kMemory, Objective::kFlops, Objective::kLatency, Objective::kThroughput}) {
    if (t == objective_name(o)) return o;
  }
  return invalid_argument("unknown objective '{}' (expected z, memory, flops, latency or throughput)", text);
}

const char* z_units_name(ZUnits u) {
  switch (u) {
    case ZUnits::kSequenceBytes:
      return "sequence-bytes";
    case ZUnits::kSequenceHalfValues:
      return "sequence-half-values";
    case ZUnits::kTokenValues:
      return "token-values";
    case ZUnits::kSequenceMeanBytes:
      return "sequence-mean-bytes";
  }
  return "unknown";
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
  std::string t = to_lower(text);
  for (ZUnits u :
       {ZUnits::kSequenceBytes, ZUnits::kSequenceHalfValues, ZUnits::kTokenValues, ZUnits::kSequenceMeanBytes}) {
    if (t == z_units_name(u)) return u;
  }
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
