// Problem flag parsing.
#include "tools/problem_flags.h"

#include "core/strings.h"

namespace gqaforge::cli {

void add_problem_flags(ArgParser& p) {
  p.add_flag("phase", "prefill|decode", "attention phase", "decode");
  p.add_flag("heads", "Q:KV", "query and KV heads", "32:8");
  p.add_flag("head-dim", "D", "head size: 64, 96, 128 or 256", "128");
  p.add_flag("dtype", "bf16|fp16", "element type", "bf16");
  p.add_switch("causal", "causal mask, bottom-right aligned (decode is always causal)");
  p.add_flag("batch", "B", "sequences", "1");
  p.add_flag("q-len", "N", "query tokens per sequence (e.g. 1, 4k)", "1 for decode, 4k for prefill");
  p.add_flag("kv-len", "N", "keys per sequence (e.g. 4k, 128k)", "4k");
  p.add_flag("config", "K=V,...", "kernel config overrides, e.g. block_n=64,warps=4");
}

Result<AttentionProblem> problem_from_flags(const ArgParser& p) {
  AttentionProblem pr;
  GQF_ASSIGN_OR_RETURN(pr.phase, parse_phase(p.get("phase", "decode")));
  GQF_RETURN_IF_ERROR_CTX(parse_heads(p.get("heads", "32:8"), &pr.n_q_heads, &pr.n_kv_heads), "--heads");
  auto d = parse_int(p.get("head-dim", "128"));
  if (!d.ok()) return invalid_argument("--head-dim: {}", d.status().message());
  pr.head_dim = static_cast<int>(*d);
  GQF_ASSIGN_OR_RETURN(pr.dtype, parse_dtype(p.get("dtype", "bf16")));
  pr.causal = pr.phase == Phase::kDecode || p.get_switch("causal");
  auto count = [&](const char* flag, const std::string& fallback, int64_t* out) -> Status {
    auto v = parse_count(p.get(flag, fallback));
    if (!v.ok()) return invalid_argument("--{}: {}", flag, v.status().message());
    *out = *v;
    return ok_status();
  };
  GQF_RETURN_IF_ERROR(count("batch", "1", &pr.batch));
  GQF_RETURN_IF_ERROR(count("q-len", pr.phase == Phase::kDecode ? "1" : "4k", &pr.q_len));
  GQF_RETURN_IF_ERROR(count("kv-len", "4k", &pr.kv_len));
  GQF_RETURN_IF_ERROR(pr.validate());
  return pr;
}

}  // namespace gqaforge::cli
