// Emitter of the wgmma product specializations.
#include "codegen/wgmma_ops.h"

#include <algorithm>

#include "core/strings.h"

namespace gqaforge::codegen {
namespace {

/// "{%first, %first+1, ..., %first+count-1}"
std::string operand_list(int first, int count) {
  std::string s = "{";
  for (int i = 0; i < count; ++i) s += fmt::format("{}%{}", i == 0 ? "" : ", ", first + i);
  return s + "}";
}

/// The accumulator operands d[t][e] as read-write floats.
std::string accumulator_constraints(int n) {
  std::string s;
  for (int i = 0; i < n / 2; ++i) {
    s += fmt::format("{}\"+f\"(d[{}][{}])", i == 0 ? "" : (i % 4 == 0 ? ",\n        " : ", "), i / 4, i % 4);
  }
  return s;
}

std::string one_product(DType dtype, int n, bool a_in_registers) {
  const char* ptx_type = dtype == DType::kBF16 ? "bf16" : "f16";
  const char* element = dtype == DType::kBF16 ? "bf16" : "fp16";
  const int acc = n / 2;
  std::string instruction = fmt::format("wgmma.mma_async.sync.aligned.m64n{}k16.f32.{}.{} ", n, ptx_type, ptx_type);
  std::string signature, operands, inputs;
  if (a_in_registers) {
    // d, {a0..a3}, desc_b, scale-d, scale-a, scale-b, transpose-b (B is MN-major).
    signature = fmt::format("mma_rs<{}, {}>(float (&d)[{}][4], const u32 (&a)[4], u64 desc_b, int accumulate)", n,
                            element, n / 8);
    operands = fmt::format("{}, {}, %{}, p, 1, 1, 1", operand_list(0, acc), operand_list(acc, 4), acc + 4);
    inputs = "\"r\"(a[0]), \"r\"(a[1]), \"r\"(a[2]), \"r\"(a[3]), \"l\"(desc_b), \"r\"(accumulate)";
  } else {
    // d, desc_a, desc_b, scale-d, scale-a, scale-b, transpose-a, transpose-b (both K-major).
    signature =
        fmt::format("mma_ss<{}, {}>(float (&d)[{}][4], u64 desc_a, u64 desc_b, int accumulate)", n, element, n / 8);
    operands = fmt::format("{}, %{}, %{}, p, 1, 1, 0, 0", operand_list(0, acc), acc, acc + 1);
    inputs = "\"l\"(desc_a), \"l\"(desc_b), \"r\"(accumulate)";
  }
  const int predicate_operand = a_in_registers ? acc + 5 : acc + 2;
  return fmt::format(
      "template <>\n"
      "__device__ __forceinline__ void {} {{\n"
      "  asm volatile(\n"
      "      \"{{\\n.reg .pred p;\\nsetp.ne.b32 p, %{}, 0;\\n\"\n"
      "      \"{}{};\\n}}\\n\"\n"
      "      : {}\n"
      "      : {});\n"
      "}}\n",
      signature, predicate_operand, instruction, operands, accumulator_constraints(n), inputs);
}

void normalise(std::vector<int>& ns) {
  std::sort(ns.begin(), ns.end());
  ns.erase(std::unique(ns.begin(), ns.end()), ns.end());
}

}  // namespace

std::string emit_wgmma_ops(DType dtype, std::vector<int> ss_n, std::vector<int> rs_n) {
  normalise(ss_n);
  normalise(rs_n);
  std::string s = "#include \"wgmma.cuh\"\n\nnamespace gqf {\nnamespace wgmma {\n\n";
  for (int n : ss_n) s += one_product(dtype, n, false) + "\n";
  for (int n : rs_n) s += one_product(dtype, n, true) + "\n";
  return s + "}  // namespace wgmma\n}  // namespace gqf\n";
}

}  // namespace gqaforge::codegen
