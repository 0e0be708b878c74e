// Emits the wgmma products a kernel uses (see codegen/kernels/wgmma.cuh): explicit
// specializations of gqf::wgmma::mma_ss / mma_rs for one element type and the N values given,
// each a single inline-PTX wgmma.mma_async with its N/2 accumulator operands spelled out.
#pragma once

#include <string>
#include <vector>

#include "codegen/problem.h"

namespace gqaforge::codegen {

/// Source text of the specializations; `ss_n` / `rs_n` list the N of each form (8..256,
/// multiples of 8; duplicates are emitted once).
std::string emit_wgmma_ops(DType dtype, std::vector<int> ss_n, std::vector<int> rs_n);

}  // namespace gqaforge::codegen
