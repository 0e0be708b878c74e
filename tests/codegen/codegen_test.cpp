// Codegen: emitted source against golden files (a change to emitted code must bump
// kCodegenVersion and update the goldens: GQAFORGE_UPDATE_GOLDEN=1 rewrites them from the emitter),
// problem validation and naming, work counts.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <set>
#include <sstream>

#include "core/env.h"
#include "codegen/emit_families.h"
#include "codegen/emitter.h"
#include "codegen/family.h"
#include "codegen/source.h"
#include "core/fs.h"
#include "core/sha256.h"

namespace gqaforge::codegen {
namespace {

AttentionProblem decode_problem() {
  return make_problem(Phase::kDecode, 28, 4, 128, DType::kBF16, true, 1, 4, 131072);
}

AttentionProblem prefill_problem() {
  return make_problem(Phase::kPrefill, 10, 2, 96, DType::kFP16, true, 1, 8192, 8192);
}

void expect_golden(const std::string& name, const std::string& text) {
  std::string path = std::string(GQAFORGE_SOURCE_DIR) + "/tests/codegen/golden/" + name;
  if (env_setting("UPDATE_GOLDEN") == "1") {
    ASSERT_TRUE(write_file_atomic(path, text).ok()) << path;
  }
  auto golden = read_file(path);
  ASSERT_TRUE(golden.ok()) << golden.status().message() << "\n--- emitted ---\n" << text;
  EXPECT_EQ(*golden, text) << "emitted code changed: bump kCodegenVersion and update " << path;
}

TEST(Golden, Reference) {
  expect_golden("reference.cu", emit_reference(prefill_problem()).code);
}

TEST(Golden, Decode) {
  DecodeConfig c;
  c.block_n = 64;
  c.warps = 4;
  c.stages = 3;
  expect_golden("decode.cu", emit_decode(decode_problem(), c).code);
}

TEST(Golden, Prefill) {
  PrefillConfig c;
  expect_golden("prefill.cu", emit_prefill(prefill_problem(), c).code);
}

TEST(Golden, PrefillWgmma) {
  PrefillConfig c;
  c.wgmma = true;
  c.warps = 8;
  c.block_m = 128;
  c.block_n = 64;
  AttentionProblem p = make_problem(Phase::kPrefill, 10, 2, 128, DType::kFP16, true, 1, 8192, 8192);
  ASSERT_TRUE(c.validate(p, DeviceLimits{}).ok());
  expect_golden("prefill_wgmma.cu", emit_prefill(p, c).code);
}

TEST(Fingerprint, CoversTheCodegenVersionAndEveryEmbeddedTemplate) {
  const std::string& f = codegen_fingerprint();
  ASSERT_EQ(f.size(), 16u);
  EXPECT_EQ(f.find_first_not_of("0123456789abcdef"), std::string::npos) << f;
  EXPECT_EQ(&f, &codegen_fingerprint()) << "computed once";
  // Recomputed here from the same inputs: a changed template or version changes it.
  std::string text = fmt::format("codegen v{}\n", kCodegenVersion);
  for (const EmbeddedHeader& h : embedded_headers()) {
    const std::string body = h.text;
    text += fmt::format("{} {}\n{}\n", h.name, body.size(), body);
  }
  EXPECT_EQ(f, sha256_hex(text).substr(0, 16));
  ASSERT_GE(embedded_headers().size(), 7u);
  std::string one_changed = text;
  one_changed.back() = 'x';
  EXPECT_NE(sha256_hex(one_changed).substr(0, 16), f);
}

/// The names in a text's `#include "..."` lines, in order.
std::vector<std::string> quoted_includes(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  const std::string directive = "#include \"";
  while (std::getline(in, line)) {
    if (line.rfind(directive, 0) != 0) continue;
    const size_t end = line.find('"', directive.size());
    if (end != std::string::npos) out.push_back(line.substr(directive.size(), end - directive.size()));
  }
  return out;
}

// NVRTC sees only the embedded headers, so the list in codegen/CMakeLists.txt must hold every
// header that an emitted kernel or another header includes, and nothing that none reaches.
TEST(EmbeddedHeaders, AreExactlyTheIncludeClosureOfTheEmittedKernels) {
  std::map<std::string, std::string> headers;
  for (const EmbeddedHeader& h : embedded_headers()) headers[h.name] = h.text;
  PrefillConfig wgmma;
  wgmma.wgmma = true;
  wgmma.warps = 8;
  wgmma.block_m = 128;
  wgmma.block_n = 64;
  const AttentionProblem wp = make_problem(Phase::kPrefill, 10, 2, 128, DType::kFP16, true, 1, 8192, 8192);
  const KernelSource sources[] = {emit_reference(prefill_problem()), emit_fill(DType::kBF16),
                                  emit_decode(decode_problem(), DecodeConfig{}),
                                  emit_prefill(prefill_problem(), PrefillConfig{}), emit_prefill(wp, wgmma)};
  std::set<std::string> reached;
  std::vector<std::string> pending;
  for (const KernelSource& s : sources) {
    for (const std::string& inc : quoted_includes(s.code)) pending.push_back(inc);
  }
  while (!pending.empty()) {
    const std::string name = pending.back();
    pending.pop_back();
    if (!reached.insert(name).second) continue;
    auto it = headers.find(name);
    ASSERT_NE(it, headers.end()) << "\"" << name << "\" is included but not embedded (codegen/CMakeLists.txt)";
    for (const std::string& inc : quoted_includes(it->second)) pending.push_back(inc);
  }
  for (const auto& [name, text] : headers) {
    EXPECT_EQ(reached.count(name), 1u) << name << " is embedded but no emitted kernel includes it";
  }
}

TEST(PrefillConfig, WgmmaRulesNameTheValue) {
  const AttentionProblem p = make_problem(Phase::kPrefill, 32, 8, 128, DType::kBF16, true, 1, 4096, 4096);
  DeviceLimits hopper;
  PrefillConfig c;
  c.wgmma = true;
  c.warps = 8;
  c.block_m = 128;
  c.block_n = 128;
  EXPECT_TRUE(c.validate(p, hopper).ok()) << c.validate(p, hopper).to_string();
  auto message = [&](PrefillConfig bad, const DeviceLimits& limits, const AttentionProblem& pr) {
    Status st = bad.validate(pr, limits);
    EXPECT_FALSE(st.ok()) << bad.canonical();
    return st.message();
  };
  auto ampere = DeviceLimits::for_arch("sm_80");
  ASSERT_TRUE(ampere.ok());
  EXPECT_NE(message(c, *ampere, p).find("sm_90a"), std::string::npos);
  auto plain_hopper = DeviceLimits::for_arch("sm_90");
  ASSERT_TRUE(plain_hopper.ok());
  EXPECT_FALSE(plain_hopper->has_wgmma);
  EXPECT_FALSE(c.validate(p, *plain_hopper).ok());
  AttentionProblem d96 = p;
  d96.head_dim = 96;
  EXPECT_NE(message(c, hopper, d96).find("96"), std::string::npos);
  PrefillConfig bad = c;
  bad.block_m = 256;
  EXPECT_NE(message(bad, hopper, p).find("block_m = 16 * warps = 128"), std::string::npos);
  bad = c;
  bad.block_n = 96;
  EXPECT_NE(message(bad, hopper, p).find("96"), std::string::npos);
  bad = c;
  bad.q_in_regs = true;
  EXPECT_NE(message(bad, hopper, p).find("q_in_regs"), std::string::npos);
  bad = c;
  bad.block_n = 192;  // S and P of 192 keys next to O: over the register budget
  EXPECT_NE(message(bad, hopper, p).find("registers"), std::string::npos);
  // The canonical text round-trips the generation.
  auto parsed = PrefillConfig::parse(c.canonical(), PrefillConfig{});
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, c);
  EXPECT_FALSE(PrefillConfig::parse("wgmma=2", PrefillConfig{}).ok());
}

TEST(PrefillConfig, DefaultUsesWgmmaOnlyWhereTheDeviceAndHeadDimAllow) {
  DeviceLimits hopper;
  auto ampere = DeviceLimits::for_arch("sm_80");
  ASSERT_TRUE(ampere.ok());
  for (int d : {64, 96, 128, 256}) {
    const AttentionProblem p = make_problem(Phase::kPrefill, 32, 8, d, DType::kBF16, true, 1, 8192, 8192);
    const PrefillConfig h = default_prefill_config(p, hopper);
    EXPECT_EQ(h.wgmma, d != 96) << d;
    EXPECT_TRUE(h.validate(p, hopper).ok()) << h.canonical();
    const PrefillConfig a = default_prefill_config(p, *ampere);
    EXPECT_FALSE(a.wgmma) << d;
    EXPECT_TRUE(a.validate(p, *ampere).ok()) << a.canonical();
  }
  // Too few rows for two warpgroups per CTA on every SM: one warpgroup.
  const AttentionProblem small = make_problem(Phase::kPrefill, 8, 1, 128, DType::kBF16, true, 1, 1024, 1024);
  const PrefillConfig s = default_prefill_config(small, hopper);
  EXPECT_TRUE(s.wgmma);
  EXPECT_EQ(s.warps, 4);
  EXPECT_EQ(s.block_m, 64);
}

TEST(DecodeConfig, DefaultGivesEachWarpOneM16TileWhenTheRowsFillSeveral) {
  const DeviceLimits hopper;
  struct Case {
    int hq, hkv, q_len, warps, warps_m, block_n;
  };
  // G*q_len rows: 32 -> 2 tiles, 64 -> 4 (half K/V tiles), 128 -> 8 (8 warps).
  for (const Case& c : {Case{8, 1, 4, 4, 2, 64}, Case{8, 1, 8, 4, 4, 32}, Case{8, 1, 16, 8, 8, 64},
                        Case{32, 8, 16, 4, 4, 32}, Case{16, 2, 16, 8, 8, 64}}) {
    const AttentionProblem p = make_problem(Phase::kDecode, c.hq, c.hkv, 128, DType::kBF16, true, 1, c.q_len, 32768);
    const DecodeConfig d = default_decode_config(p, hopper);
    SCOPED_TRACE(fmt::format("{}:{} q{} -> {}", c.hq, c.hkv, c.q_len, d.canonical()));
    EXPECT_TRUE(d.use_mma);
    EXPECT_EQ(d.warps, c.warps);
    EXPECT_EQ(d.warps_m, c.warps_m);
    EXPECT_EQ(d.block_n, c.block_n);
    EXPECT_EQ(d.row_blocks, 1);
    EXPECT_TRUE(d.validate(p, hopper).ok());
  }
  // One tile or less: unchanged (CUDA cores for <= 2 rows, else one warp group over 4 warps).
  const DecodeConfig one =
      default_decode_config(make_problem(Phase::kDecode, 8, 1, 128, DType::kBF16, true, 1, 2, 32768), hopper);
  EXPECT_EQ(one.warps_m, 1);
  EXPECT_EQ(one.warps, 4);
  const DecodeConfig simt =
      default_decode_config(make_problem(Phase::kDecode, 32, 32, 128, DType::kBF16, true, 1, 1, 32768), hopper);
  EXPECT_FALSE(simt.use_mma);
}

TEST(DecodeFamily, TheCombineLaunchIsProgrammaticWhereTheDeviceHasIt) {
  // Eight splits, separate combine: two launches; only the second may overlap the first.
  const AttentionProblem p = make_problem(Phase::kDecode, 8, 1, 128, DType::kBF16, true, 1, 1, 4096);
  DecodeConfig c;
  c.num_splits = 8;
  c.fused_combine = false;
  auto ampere = DeviceLimits::for_arch("sm_80");
  ASSERT_TRUE(ampere.ok());
  for (const auto& [limits, expected] : {std::pair{DeviceLimits{}, true}, std::pair{*ampere, false}}) {
    auto plan = family_for(Phase::kDecode).launch_plan(p, KernelConfig(c), limits);
    ASSERT_TRUE(plan.ok()) << plan.status().message();
    ASSERT_EQ(plan->launches.size(), 2u);
    EXPECT_FALSE(plan->launches[0].programmatic);
    EXPECT_EQ(plan->launches[1].entry, "gqaforge_decode_combine");
    EXPECT_EQ(plan->launches[1].programmatic, expected) << limits.cc_major;
  }
  // Fused combine: one launch, nothing to overlap.
  c.fused_combine = true;
  c.num_splits = 4;
  auto fused = family_for(Phase::kDecode).launch_plan(p, KernelConfig(c), DeviceLimits{});
  ASSERT_TRUE(fused.ok());
  ASSERT_EQ(fused->launches.size(), 1u);
  EXPECT_FALSE(fused->launches[0].programmatic);
}

TEST(DecodeConfig, TmaCopiesWhereTheDeviceAndHeadDimAllowThem) {
  const DeviceLimits hopper;
  auto ampere = DeviceLimits::for_arch("sm_80");
  ASSERT_TRUE(ampere.ok());
  const AttentionProblem d128 = make_problem(Phase::kDecode, 32, 8, 128, DType::kBF16, true, 16, 1, 131072);
  const AttentionProblem d96 = make_problem(Phase::kDecode, 32, 8, 96, DType::kBF16, true, 16, 1, 131072);
  // The default takes TMA on sm_90 for head dims 64/128/256, cp.async elsewhere.
  EXPECT_TRUE(default_decode_config(d128, hopper).tma);
  EXPECT_FALSE(default_decode_config(d128, *ampere).tma);
  EXPECT_FALSE(default_decode_config(d96, hopper).tma);
  for (int d : {64, 256}) {
    EXPECT_TRUE(
        default_decode_config(make_problem(Phase::kDecode, 16, 2, d, DType::kFP16, true, 1, 4, 65536), hopper).tma);
  }
  DecodeConfig c = default_decode_config(d128, hopper);
  EXPECT_EQ(c.validate(d128, *ampere).message().find("tma=1 needs TMA tensor copies (sm_90+), device is sm_80"), 0u)
      << c.validate(d128, *ampere).message();
  EXPECT_EQ(c.validate(d96, hopper).message(),
            "tma=1 copies 64-column swizzled boxes: head dim 64, 128 or 256, not 96");
  // The ring drops the 16-byte row padding and adds the 1 KB alignment and one mbarrier a stage.
  DecodeConfig cp = c;
  cp.tma = false;
  const int rows_padding = c.stages * 2 * c.block_n * 16;
  EXPECT_EQ(decode_shared_bytes(d128, c),
            decode_shared_bytes(d128, cp) - rows_padding + 1024 + 16 * ((8 * c.stages + 15) / 16));
  // Only the main launch takes the tensor maps, with boxes of block_n keys; the source says so.
  c.num_splits = 8;
  auto plan = family_for(Phase::kDecode).launch_plan(d128, KernelConfig(c), hopper);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  ASSERT_EQ(plan->launches.size(), 2u);
  EXPECT_EQ(plan->launches[0].kv_map_rows, c.block_n);
  EXPECT_EQ(plan->launches[1].kv_map_rows, 0);
  EXPECT_NE(emit_decode(d128, c).code.find("#define GQF_DECODE_TMA"), std::string::npos);
  EXPECT_EQ(emit_decode(d128, cp).code.find("GQF_DECODE_TMA"), std::string::npos);
}

TEST(Emit, Deterministic) {
  DecodeConfig c;
  EXPECT_EQ(emit_decode(decode_problem(), c).code, emit_decode(decode_problem(), c).code);
  // The split count is a launch parameter: it must not change the source.
  DecodeConfig split = c;
  split.num_splits = 17;
  EXPECT_EQ(emit_decode(decode_problem(), c).code, emit_decode(decode_problem(), split).code);
}

TEST(Registry, FindsEachFamilyByNameAndPhase) {
  std::vector<std::string> names;
  for (const KernelFamily* f : kernel_families()) {
    names.push_back(f->name());
    auto found = find_family(f->name());
    ASSERT_TRUE(found.ok());
    EXPECT_EQ(*found, f);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"decode", "prefill", "reference", "cpu_decode", "cpu_prefill"}));
  EXPECT_STREQ(family_for(Phase::kDecode).name(), "decode");
  EXPECT_STREQ(family_for(Phase::kDecode, Target::kCpu).name(), "cpu_decode");
  EXPECT_EQ(family_for(Phase::kPrefill, Target::kCpu).target(), Target::kCpu);
  EXPECT_STREQ(family_for(prefill_problem()).name(), "prefill");
  EXPECT_TRUE(family_for(Phase::kDecode).memory_bound());
  EXPECT_FALSE(family_for(Phase::kPrefill).memory_bound());
  auto unknown = find_family("sideways");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().message(),
            "unknown kernel family 'sideways' (expected decode, prefill, reference, cpu_decode or cpu_prefill)");
}

TEST(Registry, FamiliesEmitWhatTheirEmittersEmit) {
  const DeviceLimits limits;
  const KernelFamily& decode = family_for(Phase::kDecode);
  const KernelConfig dc = decode.default_config(decode_problem(), limits);
  EXPECT_EQ(decode.emit(decode_problem(), dc).code, emit_decode(decode_problem(), std::get<DecodeConfig>(dc)).code);
  const KernelFamily& prefill = family_for(Phase::kPrefill);
  const KernelConfig pc = prefill.default_config(prefill_problem(), limits);
  EXPECT_EQ(prefill.emit(prefill_problem(), pc).code,
            emit_prefill(prefill_problem(), std::get<PrefillConfig>(pc)).code);
  const KernelFamily& reference = **find_family("reference");
  EXPECT_EQ(reference.emit(prefill_problem(), ReferenceConfig{}).code, emit_reference(prefill_problem()).code);
  EXPECT_EQ(reference.canonical(ReferenceConfig{}), "");
  EXPECT_EQ(reference.parse("block_n=64", ReferenceConfig{}).status().message(),
            "the reference kernel takes no config ('block_n=64')");
  // Another family's config is refused, not misread.
  EXPECT_FALSE(decode.validate(decode_problem(), pc, limits).ok());
  EXPECT_FALSE(prefill.parse("block_n=64", dc).ok());
}

TEST(FieldTable, DrivesCanonicalTextParsingAndSingleFieldChecks) {
  // The canonical text the database keys depend on.
  EXPECT_EQ(DecodeConfig{}.canonical(),
            "block_n=64,warps=4,warps_m=1,stages=3,use_mma=1,row_blocks=1,num_splits=0,fused_combine=0,tma=0");
  // Rows stored before the tma field read as the cp.async kernels they measured.
  auto old = DecodeConfig::parse(
      "block_n=64,warps=4,warps_m=1,stages=4,use_mma=1,row_blocks=1,num_splits=0,fused_combine=0", DecodeConfig{});
  ASSERT_TRUE(old.ok());
  EXPECT_FALSE(old->tma);
  EXPECT_EQ(PrefillConfig{}.canonical(),
            "block_m=128,block_n=32,warps=4,stages=2,pack_gqa=1,q_in_regs=0,min_ctas=1,wgmma=0");
  auto c = DecodeConfig::parse(" warps = 8 , use_mma=0", DecodeConfig{});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->warps, 8);
  EXPECT_FALSE(c->use_mma);
  EXPECT_EQ(c->block_n, 64);
  EXPECT_EQ(DecodeConfig::parse("warps", DecodeConfig{}).status().message(),
            "decode config item 'warps' is not key=value");
  EXPECT_EQ(DecodeConfig::parse("warps=many", DecodeConfig{}).status().message(),
            "decode config warps='many' is not an integer");
  EXPECT_EQ(DecodeConfig::parse("use_mma=2", DecodeConfig{}).status().message(),
            "decode config use_mma=2 must be 0 or 1");
  EXPECT_EQ(PrefillConfig::parse("nonsense=1", PrefillConfig{}).status().message(),
            "unknown prefill config key 'nonsense' (expected block_m, block_n, warps, stages, pack_gqa, q_in_regs, "
            "min_ctas, wgmma)");
  const DeviceLimits limits;
  DecodeConfig d;
  d.stages = 9;
  EXPECT_EQ(d.validate(decode_problem(), limits).message(), "stages=9 must be in 2..8");
  PrefillConfig p;
  p.block_n = 40;
  EXPECT_EQ(p.validate(prefill_problem(), limits).message(), "block_n=40 must be a multiple of 16 in 16..256");
  p = PrefillConfig{};
  p.min_ctas = 3;
  EXPECT_EQ(p.validate(prefill_problem(), limits).message(), "min_ctas=3 must be 1 or 2");
  // The tuner's values of every field are legal on their own.
  for (const ConfigField<DecodeConfig>& f : DecodeConfig::fields()) {
    for (int v : f.tuned) EXPECT_TRUE(f.is_legal(v)) << f.name << "=" << v;
  }
  for (const ConfigField<PrefillConfig>& f : PrefillConfig::fields()) {
    for (int v : f.tuned) EXPECT_TRUE(f.is_legal(v)) << f.name << "=" << v;
  }
  // Values in table order, and back.
  const KernelFamily& decode = family_for(Phase::kDecode);
  DecodeConfig split;
  split.num_splits = 12;
  EXPECT_EQ(decode.from_values(decode.values(split)), KernelConfig(split));
}

TEST(Problem, ValidationNamesTheValue) {
  AttentionProblem p = decode_problem();
  EXPECT_TRUE(p.validate().ok());
  p.n_kv_heads = 5;
  EXPECT_NE(p.validate().message().find("28:5"), std::string::npos);
  p = decode_problem();
  p.head_dim = 80;
  EXPECT_NE(p.validate().message().find("80"), std::string::npos);
  p = decode_problem();
  p.kv_len = 0;
  EXPECT_NE(p.validate().message().find("kv_len 0"), std::string::npos);
  p = decode_problem();
  p.q_len = 17;
  EXPECT_FALSE(p.validate().ok());
  int q = 0, kv = 0;
  EXPECT_TRUE(parse_heads("40:8", &q, &kv).ok());
  EXPECT_EQ(q, 40);
  EXPECT_EQ(kv, 8);
  EXPECT_FALSE(parse_heads("8:0", &q, &kv).ok());
  EXPECT_FALSE(parse_heads("a:b", &q, &kv).ok());
}

TEST(Problem, VisiblePairsBottomRightCausal) {
  AttentionProblem p = prefill_problem();
  p.q_len = 4;
  p.kv_len = 6;  // rows see 3, 4, 5, 6 keys
  EXPECT_DOUBLE_EQ(p.visible_pairs(), 18);
  p.q_len = 6;
  p.kv_len = 4;  // rows see 0, 0, 1, 2, 3, 4 keys
  EXPECT_DOUBLE_EQ(p.visible_pairs(), 10);
  p.causal = false;
  EXPECT_DOUBLE_EQ(p.visible_pairs(), 24);
  EXPECT_DOUBLE_EQ(p.flops(), 4.0 * 10 * 96 * 24);
}

TEST(Problem, KvBytesAndMinBytes) {
  AttentionProblem p = make_problem(Phase::kDecode, 32, 8, 128, DType::kBF16, true, 3, 1, 4096);
  EXPECT_DOUBLE_EQ(p.kv_bytes(), 2.0 * 3 * 4096 * 8 * 128 * 2);  // K and V, 2 bytes a value
  // Q read and O written once, plus K and V.
  EXPECT_DOUBLE_EQ(p.min_bytes(), 2.0 * 3 * 1 * 32 * 128 * 2 + p.kv_bytes());
}

TEST(Arch, Normalisation) {
  EXPECT_EQ(*normalize_arch("SM_90A"), "sm_90a");
  EXPECT_FALSE(normalize_arch("sm_70").ok());
  EXPECT_FALSE(normalize_arch("90").ok());
  EXPECT_EQ(DeviceLimits::for_arch("sm_80")->sm_count, 108);
}

}  // namespace
}  // namespace gqaforge::codegen
