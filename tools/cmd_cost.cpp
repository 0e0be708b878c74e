// `gqaforge cost`: the paper's inference cost (eqs. 3-4) of one model at a context length,
// per token and per sequence, split into time-invariant and time-variant parts.
#include <cstdio>

#include "core/fs.h"
#include "core/json.h"
#include "core/strings.h"
#include "core/table.h"
#include "core/units.h"
#include "costmodel/costs.h"
#include "costmodel/presets.h"
#include "costmodel/units.h"
#include "tools/args.h"
#include "tools/commands.h"
#include "tools/json_output.h"

namespace gqaforge::cli {
namespace {

using namespace costmodel;

Result<int64_t> positive_flag(const ArgParser& p, const std::string& name) {
  auto v = parse_count(p.get(name));
  if (!v.ok() || *v <= 0) return invalid_argument("--{} '{}' must be a positive integer", name, p.get(name));
  return *v;
}

// The model from --model or from explicit dimensions (which also override a preset's).
Result<ModelShape> model_from_flags(const ArgParser& p) {
  Presets presets;
  if (auto file = p.get_optional("presets")) {
    GQF_ASSIGN_OR_RETURN(std::string text, read_file(*file));
    GQF_RETURN_IF_ERROR(presets.add_document(text, *file));
  } else {
    GQF_ASSIGN_OR_RETURN(presets, Presets::bundled());
  }
  ModelShape s;
  bool have_model = p.has("model");
  if (have_model) {
    auto found = presets.find(p.get("model"));
    if (!found.ok()) return invalid_argument("{}", found.status().message());
    s = *found;
  } else {
    for (const char* required : {"layers", "hidden", "heads"}) {
      if (!p.has(required)) {
        return invalid_argument("give --model NAME or the dimensions --layers, --hidden and --heads QUERY:KV "
                                "(missing --{})", required);
      }
    }
    s.name = "custom";
  }
  if (p.has("layers")) { GQF_ASSIGN_OR_RETURN(s.layers, positive_flag(p, "layers")); }
  if (p.has("hidden")) { GQF_ASSIGN_OR_RETURN(s.hidden, positive_flag(p, "hidden")); }
  if (p.has("heads")) {
    GQF_RETURN_IF_ERROR(parse_head_pair(p.get("heads"), s.n_heads, s.n_kv_heads));
  }
  if (p.has("head-dim")) { GQF_ASSIGN_OR_RETURN(s.head_dim, positive_flag(p, "head-dim")); }
  if (p.has("ffn")) {
    GQF_ASSIGN_OR_RETURN(s.ffn, positive_flag(p, "ffn"));
  } else if (!have_model) {
    s.ffn = paper_ffn_size(s.hidden);
  }
  if (p.has("vocab")) { GQF_ASSIGN_OR_RETURN(s.vocab, positive_flag(p, "vocab")); }
  if (p.get_switch("untied")) s.tied_embeddings = false;
  if (p.has("ffn-matrices")) {
    GQF_ASSIGN_OR_RETURN(int64_t m, positive_flag(p, "ffn-matrices"));
    s.ffn_matrices = static_cast<int>(m);
  }
  GQF_RETURN_IF_ERROR(s.validate());
  return s;
}

int run_cost(const Args& args) {
  ArgParser p("gqaforge cost",
              "Prints the inference cost of a model at a context length (paper eqs. 3-4): FLOPs and memory\n"
              "per decoded token and per sequence, split into weights (time-invariant) and KV cache /\n"
              "attention (time-variant).");
  p.add_flag("model", "NAME", "preset: llama-3.2-1b, llama-3.2-3b, llama-3.1-8b, llama-3.1-70b, qwen2.5-7b, "
                              "mistral-7b, paper-3m ... paper-64b");
  p.add_flag("context", "T", "context length, e.g. 8192 or 128k", "128k");
  p.add_flag("layers", "L", "decoder layers (overrides the preset)");
  p.add_flag("hidden", "D", "hidden size");
  p.add_flag("heads", "Q:KV", "query heads : kv heads, e.g. 32:8");
  p.add_flag("head-dim", "DH", "head size", "64");
  p.add_flag("ffn", "DFF", "FFN inner size", "8d/3 rounded up to 32");
  p.add_flag("vocab", "V", "vocabulary size", "50304");
  p.add_switch("untied", "input and output embeddings are separate matrices");
  p.add_flag("ffn-matrices", "M", "3 (SwiGLU) or 2", "3");
  p.add_flag("bytes-per-value", "B", "bytes per weight / KV value", "2");
  p.add_switch("count-embedding", "include embedding parameters in M and the output head in C");
  p.add_flag("train-tokens", "D", "also print the training cost (App. C) for D tokens, e.g. 100e9");
  p.add_flag("presets", "FILE", "read presets from a JSON file instead of the bundled ones");
  p.add_switch("json", "print JSON instead of a table");
  if (int rc = p.parse(args); rc >= 0) return rc;

  auto shape = model_from_flags(p);
  if (!shape.ok()) return report_failure(shape.status());
  auto context = parse_count(p.get("context", "128k"));
  if (!context.ok() || *context <= 0) return usage_error(fmt::format("--context '{}' must be a positive count such as 8192 or 128k", p.get("context")));
  CostSettings settings;
  settings.count_embedding = p.get_switch("count-embedding");
  if (p.has("bytes-per-value")) {
    auto b = parse_double(p.get("bytes-per-value"));
    if (!b.ok() || !(*b > 0)) return usage_error(fmt::format("--bytes-per-value '{}' must be a positive number", p.get("bytes-per-value")));
    settings.bytes_per_value = *b;
  }
  std::optional<double> train_tokens;
  if (p.has("train-tokens")) {
    auto d = parse_double(p.get("train-tokens"));
    if (!d.ok() || !(*d > 0)) return usage_error(fmt::format("--train-tokens '{}' must be a positive number", p.get("train-tokens")));
    train_tokens = *d;
  }

  const ModelShape& s = *shape;
  const double T = static_cast<double>(*context);
  CostShape cs = cost_shape_of(s);
  InferenceCost tok = inference_cost(cs, T, settings);
  InferenceCost mean = inference_cost(cs, T / 2, settings);  // affine in T: a sequence costs T x C(T/2)
  const double bpv = settings.bytes_per_value;

  if (p.get_switch("json")) {
    Json doc = json_document("cost");
    doc["model"] = s.name;
    Json dims = Json::object();
    dims["layers"] = s.layers;
    dims["hidden"] = s.hidden;
    dims["n_heads"] = s.n_heads;
    dims["n_kv_heads"] = s.n_kv_heads;
    dims["head_dim"] = s.head_dim;
    dims["ffn"] = s.ffn;
    dims["vocab"] = s.vocab;
    dims["tied_embeddings"] = s.tied_embeddings;
    dims["ffn_matrices"] = s.ffn_matrices;
    doc["shape"] = dims;
    Json params = Json::object();
    params["non_embedding"] = s.non_embedding_params();
    params["embedding"] = s.embedding_params();
    params["total"] = s.total_params();
    doc["parameters"] = params;
    doc["context"] = T;
    Json per_token = Json::object();
    per_token["flops_invariant"] = tok.flops_invariant;
    per_token["flops_variant"] = tok.flops_variant;
    per_token["flops"] = tok.flops();
    per_token["memory_values_invariant"] = tok.memory_invariant;
    per_token["memory_values_variant"] = tok.memory_variant;
    per_token["memory_bytes"] = tok.memory_values() * bpv;
    doc["per_token"] = per_token;
    Json per_seq = Json::object();
    per_seq["flops"] = T * mean.flops();
    per_seq["flops_invariant"] = T * mean.flops_invariant;
    per_seq["flops_variant"] = T * mean.flops_variant;
    per_seq["peak_memory_bytes"] = tok.memory_values() * bpv;
    doc["per_sequence"] = per_seq;
    if (train_tokens) {
      TrainingCost tr = training_cost(cs, *train_tokens, T);
      Json t = Json::object();
      t["tokens"] = *train_tokens;
      t["flops"] = tr.flops;
      t["memory_values"] = tr.memory_values;
      doc["training"] = t;
    }
    print_json(doc);
    return 0;
  }

  const double n_formula = cs.non_embedding_params + (settings.count_embedding ? cs.embedding_params : 0);
  std::printf("model       %s: %s\n", s.name.c_str(), s.describe().c_str());
  std::printf("parameters  %s total: %s non-embedding (%ld) + %s embedding\n",
              format_scale(static_cast<double>(s.total_params()), "params").c_str(),
              format_scale(static_cast<double>(s.non_embedding_params())).c_str(),
              static_cast<long>(s.non_embedding_params()),
              format_scale(static_cast<double>(s.embedding_params())).c_str());
  std::printf("context     T = %s (%ld tokens); N in the formulas = %s%s\n\n", format_context(T).c_str(),
              static_cast<long>(*context), format_scale(n_formula, "params").c_str(),
              settings.count_embedding ? " (with embeddings)" : " (non-embedding)");

  TextTable tok_table;
  tok_table.add_column("per token decoded at context T", TextTable::kLeft);
  for (const char* h : {"time-invariant", "time-variant", "total", "variant share"}) tok_table.add_column(h);
  tok_table.add_row({"  C_infer  FLOPs", format_flops(tok.flops_invariant), format_flops(tok.flops_variant),
                     format_flops(tok.flops()), format_percent(tok.flops_variant / tok.flops())});
  tok_table.add_row({"  M_infer  values", format_scale(tok.memory_invariant), format_scale(tok.memory_variant),
                     format_scale(tok.memory_values()), format_percent(tok.memory_variant / tok.memory_values())});
  tok_table.add_row({fmt::format("  M_infer  bytes ({} B/value)", format_decimal(bpv)),
                     format_bytes(tok.memory_invariant * bpv), format_bytes(tok.memory_variant * bpv),
                     format_bytes(tok.memory_values() * bpv)});
  std::fputs(tok_table.render().c_str(), stdout);

  std::printf("\n");
  TextTable seq_table;
  seq_table.add_column("per sequence of T tokens (T x C_infer(T/2))", TextTable::kLeft);
  for (const char* h : {"time-invariant", "time-variant", "total", "variant share"}) seq_table.add_column(h);
  seq_table.add_row({"  FLOPs", format_flops(T * mean.flops_invariant), format_flops(T * mean.flops_variant),
                     format_flops(T * mean.flops()), format_percent(mean.flops_variant / mean.flops())});
  seq_table.add_row({"  peak memory (at the last token)", format_bytes(tok.memory_invariant * bpv),
                     format_bytes(tok.memory_variant * bpv), format_bytes(tok.memory_values() * bpv)});
  std::fputs(seq_table.render().c_str(), stdout);
  std::printf("  KV cache per token of context: %s\n",
              format_bytes(2.0 * cs.layers * cs.head_dim * cs.n_kv_heads * bpv).c_str());
  if (train_tokens) {
    TrainingCost tr = training_cost(cs, *train_tokens, T);
    std::printf("\ntraining on %s at context T (App. C)\n", format_scale(*train_tokens, "tokens").c_str());
    std::printf("  C_train = 6 D (N + 2 L T d_h n_h)   %s\n", format_flops(tr.flops).c_str());
    std::printf("  M_train = 4N + T d L                %s values\n", format_scale(tr.memory_values).c_str());
  }
  return 0;
}

}  // namespace
GQF_REGISTER_COMMAND("cost", "inference cost of a model at a context length (paper eqs. 3-4)", 60, run_cost);
}  // namespace gqaforge::cli
