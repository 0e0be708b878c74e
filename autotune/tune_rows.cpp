// The database form of a tune's problems and the throughput derived from a time.
#include "autotune/tune_rows.h"

#include "codegen/family.h"

namespace gqaforge::autotune {

ProblemRecord to_problem_record(const codegen::AttentionProblem& p, codegen::Target target) {
  ProblemRecord r;
  r.family = codegen::family_for(p, target).name();
  r.n_q_heads = p.n_q_heads;
  r.n_kv_heads = p.n_kv_heads;
  r.head_dim = p.head_dim;
  r.dtype = codegen::dtype_name(p.dtype);
  r.causal = p.causal;
  r.batch = p.batch;
  r.q_len = p.q_len;
  r.kv_len = p.kv_len;
  return r;
}

void fill_throughput(const codegen::AttentionProblem& p, MeasurementRecord& row) {
  if (row.median_us <= 0) return;
  const double seconds = row.median_us * 1e-6;
  row.tflops = p.flops() / seconds / 1e12;
  if (codegen::family_for(p).memory_bound()) row.tbps = p.kv_bytes() / seconds / 1e12;
}

}  // namespace gqaforge::autotune
