// Search spaces of the decode and prefill families.
#include "autotune/family_space.h"

#include "autotune/predict.h"
#include "codegen/decode_config.h"
#include "codegen/prefill_config.h"

namespace gqaforge::tune {
namespace {

int ceil_div(int a, int b) { return (a + b - 1) / b; }

DecodeConfig decode_of(const PointValues& v) {
  DecodeConfig c;
  c.block_n = v["block_n"];
  c.warps = v["warps"];
  c.warps_m = v["warps_m"];
  c.stages = v["stages"];
  c.use_mma = v["use_mma"] != 0;
  c.row_blocks = v["row_blocks"];
  c.num_splits = v["num_splits"];
  c.fused_combine = v["fused_combine"] != 0;
  return c;
}

PrefillConfig prefill_of(const PointValues& v) {
  PrefillConfig c;
  c.block_m = v["block_m"];
  c.block_n = v["block_n"];
  c.warps = v["warps"];
  c.stages = v["stages"];
  c.pack_gqa = v["pack_gqa"] != 0;
  c.q_in_regs = v["q_in_regs"] != 0;
  c.min_ctas = v["min_ctas"];
  c.wgmma = v["wgmma"] != 0;
  return c;
}

void build_decode(FamilySpace& fs) {
  const AttentionProblem p = fs.problem;
  const DeviceLimits limits = fs.limits;
  const int rows = p.group() * static_cast<int>(p.q_len);
  const int lanes_per_key = p.head_dim == 64 ? 8 : (p.head_dim == 256 ? 32 : 16);
  SearchSpace& s = fs.space;
  s.add_param("block_n", {16, 32, 64, 128, 256});
  s.add_param("warps", {1, 2, 4, 8, 16});
  s.add_param("warps_m", {1, 2, 4, 8});
  s.add_param("stages", {2, 3, 4, 6, 8});
  s.add_param("use_mma", {0, 1});
  std::vector<int> row_blocks;
  for (int r : {1, 2, 4}) {
    if (r <= rows) row_blocks.push_back(r);
  }
  s.add_param("row_blocks", row_blocks);
  s.add_param("num_splits", {0, 1, 2, 4, 8, 16, 32, 64, 128});
  s.add_param("fused_combine", {0, 1});

  auto rows_cta = [rows](const PointValues& v) { return ceil_div(rows, v["row_blocks"]); };
  s.add_constraint("warps_m_divides_warps", [](const PointValues& v) { return v["warps"] % v["warps_m"] == 0; });
  s.add_constraint("cuda_cores_one_warp_group",
                   [](const PointValues& v) { return v["use_mma"] == 1 || v["warps_m"] == 1; });
  s.add_constraint("cuda_cores_at_most_8_rows",
                   [rows_cta](const PointValues& v) { return v["use_mma"] == 1 || rows_cta(v) <= 8; });
  s.add_constraint("warps_m_within_m16_tiles", [rows_cta](const PointValues& v) {
    return v["use_mma"] == 0 || v["warps_m"] <= ceil_div(rows_cta(v), 16);
  });
  s.add_constraint("mma_keys_per_warp_multiple_of_16", [](const PointValues& v) {
    if (v["use_mma"] == 0) return true;
    const int kw = v["block_n"] / (v["warps"] / v["warps_m"]);
    return kw >= 16 && kw % 16 == 0;
  });
  s.add_constraint("cuda_core_keys_per_warp", [lanes_per_key](const PointValues& v) {
    if (v["use_mma"] == 1) return true;
    const int step = 32 / lanes_per_key;
    const int kw = v["block_n"] / v["warps"];
    return kw >= step && kw % step == 0;
  });
  s.add_constraint("threads_within_device",
                   [limits](const PointValues& v) { return 32 * v["warps"] <= limits.max_threads_per_block; });
  // Each split holds at least two K/V tiles; more would only add combine traffic.
  s.add_constraint("splits_within_kv_tiles", [p](const PointValues& v) {
    return v["num_splits"] == 0 || int64_t{v["num_splits"]} * 2 * v["block_n"] <= std::max<int64_t>(p.kv_len, 2 * v["block_n"]);
  });
  // The combine flavour only matters with more than one split; keep one of the two twins.
  s.add_constraint("fused_combine_needs_splits",
                   [](const PointValues& v) { return v["fused_combine"] == 0 || v["num_splits"] != 1; });
  s.add_constraint("shared_memory_within_device", [p, limits](const PointValues& v) {
    return decode_shared_bytes(p, decode_of(v)) <= limits.max_shared_per_block_optin;
  });
  s.add_constraint("device_limits", [p, limits](const PointValues& v) { return decode_of(v).validate(p, limits).ok(); });
  fs.default_config = default_decode_config(p, limits).canonical();
}

void build_prefill(FamilySpace& fs) {
  const AttentionProblem p = fs.problem;
  const DeviceLimits limits = fs.limits;
  SearchSpace& s = fs.space;
  s.add_param("block_m", {32, 64, 128, 256});
  s.add_param("block_n", {32, 64, 128});
  s.add_param("warps", {2, 4, 8});
  s.add_param("stages", {2, 3, 4});
  s.add_param("pack_gqa", {0, 1});
  s.add_param("q_in_regs", {0, 1});
  s.add_param("min_ctas", {1, 2});
  // The Hopper generation exists only where the device has warpgroup mma.
  s.add_param("wgmma", limits.has_wgmma ? std::vector<int>{0, 1} : std::vector<int>{0});
  s.add_constraint("block_m_is_16_warps_k", [](const PointValues& v) {
    const int unit = 16 * v["warps"];
    return v["block_m"] % unit == 0 && v["block_m"] / unit <= 2;
  });
  // pack_gqa=1 is the same kernel as 0 when G = 1: keep one twin.
  s.add_constraint("pack_gqa_needs_groups", [p](const PointValues& v) { return v["pack_gqa"] == 0 || p.group() > 1; });
  s.add_constraint("threads_within_device",
                   [limits](const PointValues& v) { return 32 * v["warps"] <= limits.max_threads_per_block; });
  s.add_constraint("shared_memory_within_device", [p, limits](const PointValues& v) {
    return v["min_ctas"] * (prefill_shared_bytes(p, prefill_of(v)) + 1024) <= limits.max_shared_per_sm &&
           prefill_shared_bytes(p, prefill_of(v)) <= limits.max_shared_per_block_optin;
  });
  s.add_constraint("device_limits", [p, limits](const PointValues& v) { return prefill_of(v).validate(p, limits).ok(); });
  fs.default_config = default_prefill_config(p, limits).canonical();
}

}  // namespace

std::string family_of(const AttentionProblem& problem) { return phase_name(problem.phase); }

std::string FamilySpace::config_of(const Point& point) const {
  const PointValues v(space, point);
  return family == "decode" ? decode_of(v).canonical() : prefill_of(v).canonical();
}

double FamilySpace::predict_us(const Point& point) const {
  const PointValues v(space, point);
  return family == "decode" ? predict_decode_us(problem, decode_of(v), limits)
                            : predict_prefill_us(problem, prefill_of(v), limits);
}

Result<FamilySpace> make_family_space(const AttentionProblem& problem, const DeviceLimits& limits) {
  GQF_RETURN_IF_ERROR(problem.validate());
  FamilySpace fs;
  fs.family = family_of(problem);
  fs.problem = problem;
  fs.limits = limits;
  if (problem.phase == Phase::kDecode) {
    build_decode(fs);
  } else {
    build_prefill(fs);
  }
  return fs;
}

std::string canonical_recorded_config(const std::string& family, const std::string& config_text) {
  if (family == "decode") {
    auto c = DecodeConfig::parse(config_text, DecodeConfig{});
    return c.ok() ? c->canonical() : config_text;
  }
  if (family == "prefill") {
    auto c = PrefillConfig::parse(config_text, PrefillConfig{});
    return c.ok() ? c->canonical() : config_text;
  }
  return config_text;
}

Result<std::string> canonical_config(const AttentionProblem& problem, const std::string& family,
                                     const std::string& config_text, const DeviceLimits& limits) {
  if (family == "decode") {
    GQF_ASSIGN_OR_RETURN(DecodeConfig c, DecodeConfig::parse(config_text, default_decode_config(problem, limits)));
    GQF_RETURN_IF_ERROR(c.validate(problem, limits));
    return c.canonical();
  }
  if (family == "prefill") {
    GQF_ASSIGN_OR_RETURN(PrefillConfig c, PrefillConfig::parse(config_text, default_prefill_config(problem, limits)));
    GQF_RETURN_IF_ERROR(c.validate(problem, limits));
    return c.canonical();
  }
  return invalid_argument("unknown kernel family '{}' (expected decode or prefill)", family);
}

}  // namespace gqaforge::tune
