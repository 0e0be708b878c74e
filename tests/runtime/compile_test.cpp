// NVRTC compilation without a GPU: the reference and the family defaults for sm_80 and
// sm_90a, ptxas resource parsing, and failures that carry the log and the options.
#include <gtest/gtest.h>

#include <cstdlib>

#include "codegen/emit_families.h"
#include "codegen/emitter.h"
#include "runtime/nvrtc_compiler.h"

namespace gqaforge::runtime {

using codegen::AttentionProblem;
using codegen::DType;
using codegen::emit_reference;
using codegen::KernelSource;
using codegen::Phase;

namespace {

AttentionProblem problem(Phase phase, int hq, int hkv, int d) {
  AttentionProblem p;
  p.phase = phase;
  p.n_q_heads = hq;
  p.n_kv_heads = hkv;
  p.head_dim = d;
  p.q_len = phase == Phase::kDecode ? 1 : 4096;
  p.kv_len = 4096;
  return p;
}

class CompileForArch : public ::testing::TestWithParam<const char*> {};

TEST_P(CompileForArch, ReferenceKernel) {
  CompileOptions o;
  o.arch = GetParam();
  auto k = compile_nvrtc(emit_reference(problem(Phase::kPrefill, 32, 8, 128)), o);
  ASSERT_TRUE(k.ok()) << k.status().to_string();
  EXPECT_GT(k->cubin.size(), 1000u);
  ASSERT_EQ(k->resources.count("gqaforge_reference"), 1u);
  EXPECT_GT(k->resources.at("gqaforge_reference").registers, 0);
  EXPECT_EQ(k->resources.at("gqaforge_reference").spill_store_bytes, 0);
  EXPECT_EQ(k->key.size(), 64u);
}

TEST_P(CompileForArch, FamilyDefaults) {
  CompileOptions o;
  o.arch = GetParam();
  auto limits = codegen::DeviceLimits::for_arch(o.arch);
  ASSERT_TRUE(limits.ok());
  AttentionProblem dp = problem(Phase::kDecode, 8, 1, 128);
  auto dk = compile_nvrtc(codegen::emit_decode(dp, codegen::default_decode_config(dp, *limits)), o);
  ASSERT_TRUE(dk.ok()) << dk.status().to_string();
  EXPECT_EQ(dk->resources.at("gqaforge_decode").spill_store_bytes, 0);
  AttentionProblem pp = problem(Phase::kPrefill, 32, 8, 128);
  auto pk = compile_nvrtc(codegen::emit_prefill(pp, codegen::default_prefill_config(pp, *limits)), o);
  ASSERT_TRUE(pk.ok()) << pk.status().to_string();
  EXPECT_EQ(pk->resources.at("gqaforge_prefill").spill_store_bytes, 0);
}

INSTANTIATE_TEST_SUITE_P(Targets, CompileForArch, ::testing::Values("sm_80", "sm_90a"));

// The Hopper generation for every head dim it supports, both dtypes and both masks: compiles
// for sm_90a without spills, and uses warpgroup mma (the kernel's wgmma PTX reaches ptxas).
TEST(Compile, WgmmaPrefillVariants) {
  CompileOptions o;
  o.arch = "sm_90a";
  auto limits = codegen::DeviceLimits::for_arch(o.arch);
  ASSERT_TRUE(limits.ok());
  struct Case {
    int d;
    DType dtype;
    bool causal;
    const char* config;
  };
  const Case cases[] = {
      {64, DType::kBF16, true, ""},
      {128, DType::kFP16, false, ""},
      {256, DType::kBF16, true, ""},
      {128, DType::kBF16, true, "warps=4,block_m=64,block_n=64,stages=3"},
  };
  for (const Case& c : cases) {
    AttentionProblem p = problem(Phase::kPrefill, 16, 2, c.d);
    p.dtype = c.dtype;
    p.causal = c.causal;
    auto config = codegen::PrefillConfig::parse(c.config, codegen::default_prefill_config(p, *limits));
    ASSERT_TRUE(config.ok());
    ASSERT_TRUE(config->wgmma) << config->canonical();
    ASSERT_TRUE(config->validate(p, *limits).ok()) << config->canonical();
    KernelSource src = codegen::emit_prefill(p, *config);
    EXPECT_NE(src.code.find("wgmma.mma_async"), std::string::npos);
    auto k = compile_nvrtc(src, o);
    ASSERT_TRUE(k.ok()) << k.status().to_string();
    const KernelResources& r = k->resources.at("gqaforge_prefill");
    EXPECT_EQ(r.spill_store_bytes, 0) << config->canonical();
    EXPECT_EQ(r.stack_frame_bytes, 0) << config->canonical();
    // The register estimate that validate() trusts stays within reach of ptxas.
    EXPECT_LE(std::abs(r.registers - codegen::prefill_register_estimate(p, *config)), 24) << config->canonical();
  }
}

// The TMA decode kernels (tensor-map K/V copies on mbarriers) for every head dim they support,
// both inner loops, one token and a speculative step: the heuristic picks them on sm_90a, and
// they compile without spills or a stack.
TEST(Compile, TmaDecodeVariants) {
  CompileOptions o;
  o.arch = "sm_90a";
  auto limits = codegen::DeviceLimits::for_arch(o.arch);
  ASSERT_TRUE(limits.ok());
  struct Case {
    int hq, hkv, d, q_len;
    DType dtype;
  };
  const Case cases[] = {
      {32, 8, 128, 1, DType::kBF16}, {32, 32, 128, 1, DType::kFP16}, {32, 8, 64, 1, DType::kBF16},
      {16, 2, 256, 1, DType::kBF16}, {8, 1, 128, 16, DType::kBF16},  {16, 16, 64, 2, DType::kFP16},
  };
  for (const Case& c : cases) {
    AttentionProblem p = problem(Phase::kDecode, c.hq, c.hkv, c.d);
    p.q_len = c.q_len;
    p.dtype = c.dtype;
    const codegen::DecodeConfig config = codegen::default_decode_config(p, *limits);
    ASSERT_TRUE(config.tma) << config.canonical();
    KernelSource src = codegen::emit_decode(p, config);
    auto k = compile_nvrtc(src, o);
    ASSERT_TRUE(k.ok()) << k.status().to_string();
    const KernelResources& r = k->resources.at("gqaforge_decode");
    EXPECT_EQ(r.spill_store_bytes, 0) << config.canonical();
    EXPECT_EQ(r.stack_frame_bytes, 0) << config.canonical();
  }
}

TEST(Compile, FailureCarriesLogAndOptions) {
  KernelSource s;
  s.family = "broken";
  s.name = "broken kernel";
  s.code = "extern \"C\" __global__ void k() { this_is_not_defined(); }\n";
  s.entry_points = {"k"};
  auto r = compile_nvrtc(s, CompileOptions{});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("this_is_not_defined"), std::string::npos);
  EXPECT_NE(r.status().message().find("--gpu-architecture=sm_90a"), std::string::npos);
}

TEST(Compile, RejectsBadOptions) {
  CompileOptions o;
  o.arch = "sm_99z";
  EXPECT_FALSE(o.validate().ok());
  o.arch = "compute_90";
  EXPECT_NE(o.validate().message().find("compute_90"), std::string::npos);
  o.arch = "sm_90a";
  o.max_registers = 7;
  EXPECT_FALSE(o.validate().ok());
}

TEST(Compile, OptionsRenderInFixedOrder) {
  CompileOptions o;
  o.max_registers = 128;
  std::vector<std::string> expected = {"--gpu-architecture=sm_90a", "--std=c++17",        "--ptxas-options=-v",
                                       "--generate-line-info",      "--maxrregcount=128", "--fmad=true"};
  EXPECT_EQ(o.render(), expected);
}

TEST(Compile, ParsesPtxasInfo) {
  std::string log =
      "ptxas info    : 0 bytes gmem\n"
      "ptxas info    : Compiling entry function 'gqaforge_decode' for 'sm_90a'\n"
      "ptxas info    : Function properties for gqaforge_decode\n"
      "    16 bytes stack frame, 8 bytes spill stores, 12 bytes spill loads\n"
      "ptxas info    : Used 168 registers, used 1 barriers, 1024 bytes smem, 592 bytes cmem[0]\n";
  auto r = parse_ptxas_info(log);
  ASSERT_EQ(r.count("gqaforge_decode"), 1u);
  const KernelResources& k = r.at("gqaforge_decode");
  EXPECT_EQ(k.registers, 168);
  EXPECT_EQ(k.shared_static_bytes, 1024);
  EXPECT_EQ(k.constant_bytes, 592);
  EXPECT_EQ(k.stack_frame_bytes, 16);
  EXPECT_EQ(k.spill_store_bytes, 8);
  EXPECT_EQ(k.spill_load_bytes, 12);
}

TEST(Compile, KeyDependsOnSourceAndOptions) {
  KernelSource a = emit_reference(problem(Phase::kPrefill, 32, 8, 128));
  KernelSource b = emit_reference(problem(Phase::kPrefill, 32, 4, 128));
  CompileOptions o;
  EXPECT_NE(compile_key(a, o), compile_key(b, o));
  CompileOptions o80;
  o80.arch = "sm_80";
  EXPECT_NE(compile_key(a, o), compile_key(a, o80));
  EXPECT_EQ(compile_key(a, o), compile_key(a, o));
}

}  // namespace
}  // namespace gqaforge::runtime
