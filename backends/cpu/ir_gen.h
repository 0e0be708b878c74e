// The CPU code generator: LLVM IR, through IRBuilder, for one CpuKernelSpec (codegen/cpu_config.h).
//
// The function walks its range of work items. An item's rows (head_block query heads x block_m
// tokens of one KV head) are loaded once, scaled into log2 units, and kept in fp32; each tile of
// block_n keys is converted from bf16/fp16 to fp32 once (K and V) and used by every row:
//   scores  one vector FMA chain over the head dim per (row, key), reduced across lanes;
//   softmax online, per row: the tile's maximum, exp2 of the shifted scores (a vector
//           polynomial, no libm call), the running sum and the rescale of the accumulators;
//   P.V     the row's accumulators (head_dim / vec vectors in registers) += p_j * V_j.
// Causal masks are bottom-right aligned; keys beyond a row's limit are never read for it. Items
// whose split is not the only one write normalised fp32 partials (the split-KV workspace of
// cpu_config.h) that the runner combines; the others write O (bf16/fp16) and the LSE.
#pragma once

#include <memory>

#include "codegen/cpu_config.h"

namespace llvm {
class LLVMContext;
class Module;
}  // namespace llvm

namespace gqaforge::cpu {

/// A module holding one function named spec.symbol() (void(GqaParams*, i64 first, i64 end)),
/// marked to keep spec.vec-wide vectors legal (min-legal-vector-width).
std::unique_ptr<llvm::Module> generate_cpu_kernel(llvm::LLVMContext& ctx, const codegen::CpuKernelSpec& spec);

}  // namespace gqaforge::cpu
