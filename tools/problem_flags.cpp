// Problem and database flags.
#include "tools/problem_flags.h"

#include "core/strings.h"
#include "tools/validators.h"

namespace gqaforge::tools {

using codegen::parse_heads;
using codegen::parse_phase;
using codegen::Phase;

namespace {

Status check_phase(const std::string& text) {
  return parse_phase(text).status();
}

Status check_heads(const std::string& text) {
  int q = 0, kv = 0;
  return parse_heads(text, &q, &kv);
}

}  // namespace

void add_problem_flags(CLI::App& app, ProblemFlags& f, ProblemForm form) {
  if (form == ProblemForm::kOne) {
    app.add_option("--phase", f.phase, "attention phase")
        ->type_name("prefill|decode")
        ->default_str("decode")
        ->check(checked_by(check_phase));
    app.add_option("--heads", f.heads, "query and KV heads")
        ->type_name("Q:KV")
        ->default_str("32:8")
        ->check(checked_by(check_heads));
    app.add_option("--head-dim", f.head_dim, "head size: 64, 96, 128 or 256")
        ->type_name("D")
        ->default_str("128")
        ->transform(integer_in(1));
  } else {
    app.add_option("--phase", f.phase, "decode, prefill or decode,prefill")
        ->type_name("LIST")
        ->default_str("decode")
        ->check(each_item(check_phase));
    app.add_option("--heads", f.heads, "query:KV head pairs, e.g. 32:8,8:1,16:2")
        ->type_name("LIST")
        ->default_str("32:8")
        ->check(each_item(check_heads));
    app.add_option("--head-dim", f.head_dim, "head dims: 64, 96, 128, 256")
        ->type_name("LIST")
        ->default_str("128")
        ->check(positive_count_list());
  }
  app.add_option("--dtype", f.dtype, "element type")
      ->type_name("bf16|fp16")
      ->default_str("bf16")
      ->check(one_of({"bf16", "fp16"}));
  if (form == ProblemForm::kOne) {
    app.add_option("--batch", f.batch, "sequences")->type_name("B")->default_str("1")->transform(positive_count());
    app.add_option("--q-len", f.q_len, "query tokens per sequence (e.g. 1, 4k)")
        ->type_name("N")
        ->default_str("1 for decode, 4k for prefill")
        ->transform(positive_count());
    app.add_option("--kv-len", f.kv_len, "keys per sequence (e.g. 4k, 128k)")
        ->type_name("N")
        ->default_str("4k")
        ->transform(positive_count());
  } else {
    app.add_option("--batch", f.batch, "batch sizes, e.g. 1,16")
        ->type_name("LIST")
        ->default_str("1")
        ->check(positive_count_list());
    app.add_option("--kv-len", f.kv_len, "keys per sequence, e.g. 4k,32k,128k")
        ->type_name("LIST")
        ->default_str("4k")
        ->check(positive_count_list());
    app.add_option("--q-len", f.q_len, "query tokens per sequence")
        ->type_name("LIST")
        ->default_str("1 for decode, = kv-len for prefill")
        ->check(positive_count_list());
  }
}

Result<codegen::AttentionProblem> problem_from_flags(const ProblemFlags& f, bool causal) {
  codegen::AttentionProblem pr;
  GQF_ASSIGN_OR_RETURN(pr.phase, parse_phase(f.phase));
  GQF_RETURN_IF_ERROR(parse_heads(f.heads, &pr.n_q_heads, &pr.n_kv_heads));
  GQF_ASSIGN_OR_RETURN(int64_t d, parse_int(f.head_dim));
  pr.head_dim = static_cast<int>(d);
  GQF_ASSIGN_OR_RETURN(pr.dtype, codegen::parse_dtype(f.dtype));
  pr.causal = pr.phase == Phase::kDecode || causal;
  GQF_ASSIGN_OR_RETURN(pr.batch, parse_count(f.batch));
  GQF_ASSIGN_OR_RETURN(pr.q_len, parse_count(f.q_len.value_or(pr.phase == Phase::kDecode ? "1" : "4k")));
  GQF_ASSIGN_OR_RETURN(pr.kv_len, parse_count(f.kv_len));
  GQF_RETURN_IF_ERROR(pr.validate());
  return pr;
}

Result<autotune::ProblemGrid> problem_lists_from_flags(const ProblemFlags& f) {
  autotune::ProblemGrid out;
  for (const std::string& raw : split(f.phase, ',')) {
    GQF_ASSIGN_OR_RETURN(Phase phase, parse_phase(trim(raw)));
    out.phases.push_back(phase);
  }
  for (const std::string& raw : split(f.heads, ',')) {
    int q = 0, kv = 0;
    GQF_RETURN_IF_ERROR(parse_heads(trim(raw), &q, &kv));
    out.heads.emplace_back(q, kv);
  }
  GQF_ASSIGN_OR_RETURN(out.head_dims, parse_count_list(f.head_dim));
  GQF_ASSIGN_OR_RETURN(out.dtype, codegen::parse_dtype(f.dtype));
  GQF_ASSIGN_OR_RETURN(out.batches, parse_count_list(f.batch));
  GQF_ASSIGN_OR_RETURN(out.kv_lens, parse_count_list(f.kv_len));
  if (f.q_len) {
    GQF_ASSIGN_OR_RETURN(out.q_lens, parse_count_list(*f.q_len));
  }
  return out;
}

void add_causal_flag(CLI::App& app, bool& causal) {
  add_switch(app, "--causal", causal, "causal mask, bottom-right aligned (decode is always causal)");
}

void add_kernel_flags(CLI::App& app, KernelFlags& f, bool with_family) {
  add_causal_flag(app, f.causal);
  app.add_option("--config", f.config, "kernel config overrides, e.g. block_n=64,warps=4")->type_name("K=V,...");
  if (with_family) {
    app.add_option("--family", f.family, "decode, prefill, reference (CUDA); cpu_decode, cpu_prefill (CPU)")
        ->type_name("NAME")
        ->default_str("the problem's phase");
  }
}

CLI::Option* add_backend_flag(CLI::App& app, std::string& backend) {
  return app.add_option("--backend", backend, "where the kernel runs (cpu: generated CPU kernels, LLVM ORC JIT)")
      ->type_name("cuda|cpu")
      ->default_str("cuda")
      ->check(one_of({"cuda", "cpu"}));
}

CLI::Option* add_device_flag(CLI::App& app, int& device) {
  return app.add_option("--device", device, "CUDA device ordinal")
      ->type_name("N")
      ->default_str("0")
      ->transform(integer_in(0, std::numeric_limits<int>::max()));
}

CLI::Option* add_database_flag(CLI::App& app, std::string& path, const std::string& help) {
  path = "gqaforge.sqlite";
  return app.add_option("--db", path, help)
      ->type_name("FILE")
      ->envname("GQAFORGE_DB")
      ->default_str("./gqaforge.sqlite");
}

}  // namespace gqaforge::tools
