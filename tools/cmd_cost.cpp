// `gqaforge cost`: the paper's inference cost (eqs. 3-4) of one model at a context length,
// per token and per sequence, split into time-invariant and time-variant parts.
#include <cstdio>
#include <optional>

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
#include "tools/validators.h"

namespace gqaforge::tools {
namespace {

using namespace costmodel;

struct CostFlags {
  std::optional<std::string> model;
  int64_t context = 128 * 1024;
  std::optional<int64_t> layers, hidden, head_dim, ffn, vocab, ffn_matrices;
  std::optional<std::string> heads;
  bool untied = false;
  std::optional<double> bytes_per_value, train_tokens;
  bool count_embedding = false;
  std::optional<std::string> presets;
  bool json = false;
};

// The model from --model or from explicit dimensions (which also override a preset's).
Result<ModelShape> model_from_flags(const CostFlags& f) {
  Presets presets;
  if (f.presets) {
    GQF_ASSIGN_OR_RETURN(std::string text, read_file(*f.presets));
    GQF_RETURN_IF_ERROR(presets.add_document(text, *f.presets));
  } else {
    GQF_ASSIGN_OR_RETURN(presets, Presets::bundled());
  }
  ModelShape s;
  if (f.model) {
    auto found = presets.find(*f.model);
    if (!found.ok()) return invalid_argument("{}", found.status().message());
    s = *found;
  } else {
    for (const auto& [required, given] : {std::pair{"layers", f.layers.has_value()},
                                          {"hidden", f.hidden.has_value()},
                                          {"heads", f.heads.has_value()}}) {
      if (!given) {
        return invalid_argument(
            "give --model NAME or the dimensions --layers, --hidden and --heads QUERY:KV "
            "(missing --{})",
            required);
      }
    }
    s.name = "custom";
  }
  if (f.layers) s.layers = *f.layers;
  if (f.hidden) s.hidden = *f.hidden;
  if (f.heads) {
    GQF_RETURN_IF_ERROR(parse_head_pair(*f.heads, s.n_heads, s.n_kv_heads));
  }
  if (f.head_dim) s.head_dim = *f.head_dim;
  if (f.ffn) {
    s.ffn = *f.ffn;
  } else if (!f.model) {
    s.ffn = paper_ffn_size(s.hidden);
  }
  if (f.vocab) s.vocab = *f.vocab;
  if (f.untied) s.tied_embeddings = false;
  if (f.ffn_matrices) s.ffn_matrices = static_cast<int>(*f.ffn_matrices);
  GQF_RETURN_IF_ERROR(s.validate());
  return s;
}

int run_cost(const CostFlags& f) {
  auto shape = model_from_flags(f);
  if (!shape.ok()) return report_failure(shape.status());
  CostSettings settings;
  settings.count_embedding = f.count_embedding;
  if (f.bytes_per_value) settings.bytes_per_value = *f.bytes_per_value;
  const std::optional<double>& train_tokens = f.train_tokens;

  const ModelShape& s = *shape;
  const double T = static_cast<double>(f.context);
  CostShape cs = cost_shape_of(s);
  InferenceCost tok = inference_cost(cs, T, settings);
  InferenceCost mean = inference_cost(cs, T / 2, settings);  // affine in T: a sequence costs T x C(T/2)
  const double bpv = settings.bytes_per_value;

  if (f.json) {
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
      t["mean_context"] = T / 2;
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
              static_cast<long>(f.context), format_scale(n_formula, "params").c_str(),
              settings.count_embedding ? " (with embeddings)" : " (non-embedding)");

  TextTable tok_table;
  tok_table.add_column("per token decoded at context T", TextTable::kLeft);
  for (const char* h : {"time-invariant", "time-variant", "total", "variant share"}) tok_table.add_column(h);
  tok_table.add_row({"  C_infer  FLOPs", format_flops(tok.flops_invariant), format_flops(tok.flops_variant),
                     format_flops(tok.flops()), format_percent(tok.flops_variant / tok.flops())});
  // Counts of values carry their noun: a bare "2.15 B" beside the bytes row reads as bytes.
  tok_table.add_row({"  M_infer  values", format_scale(tok.memory_invariant, "values"),
                     format_scale(tok.memory_variant, "values"), format_scale(tok.memory_values(), "values"),
                     format_percent(tok.memory_variant / tok.memory_values())});
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
    std::printf("\ntraining on D = %s in sequences of T = %s tokens (App. C, eqs. 10-11)\n",
                format_scale(*train_tokens, "tokens").c_str(), format_context(T).c_str());
    const std::string c_label =
        fmt::format("  C_train = 6 D (N + 2 L T̄ d_h n_h), mean context T̄ = T/2 = {}", format_context(T / 2));
    const size_t width = display_width(c_label) + 3;
    std::printf("%s%s\n", pad_right(c_label, width).c_str(), format_flops(tr.flops).c_str());
    std::printf("%s%s\n", pad_right("  M_train = 4N + T d L", width).c_str(),
                format_scale(tr.memory_values, "values").c_str());
  }
  return 0;
}

CommandAction declare_cost(CLI::App& app) {
  app.description(
      "Prints the inference cost of a model at a context length (paper eqs. 3-4): FLOPs and memory per "
      "decoded token and per sequence, split into weights (time-invariant) and KV cache / attention "
      "(time-variant).");
  auto f = std::make_shared<CostFlags>();
  auto count = [&](const char* name, std::optional<int64_t>& value, const char* metavar, const char* help) {
    return app.add_option(name, value, help)->type_name(metavar)->transform(positive_count());
  };
  app.add_option("--model", f->model,
                 "preset: llama-3.2-1b, llama-3.2-3b, llama-3.1-8b, llama-3.1-70b, qwen2.5-7b, "
                 "mistral-7b, paper-3m ... paper-64b")
      ->type_name("NAME");
  app.add_option("--context", f->context, "context length, e.g. 8192 or 128k")
      ->type_name("T")
      ->default_str("128k")
      ->transform(positive_count());
  count("--layers", f->layers, "L", "decoder layers (overrides the preset)");
  count("--hidden", f->hidden, "D", "hidden size");
  app.add_option("--heads", f->heads, "query heads : kv heads, e.g. 32:8")
      ->type_name("Q:KV")
      ->check(checked_by([](const std::string& text) {
        int64_t q = 0, kv = 0;
        return parse_head_pair(text, q, kv);
      }));
  count("--head-dim", f->head_dim, "DH", "head size")->default_str("64");
  count("--ffn", f->ffn, "DFF", "FFN inner size")->default_str("8d/3 to the nearest multiple of 32");
  count("--vocab", f->vocab, "V", "vocabulary size")->default_str("50304");
  add_switch(app, "--untied", f->untied, "input and output embeddings are separate matrices");
  count("--ffn-matrices", f->ffn_matrices, "M", "3 (SwiGLU) or 2")->default_str("3");
  app.add_option("--bytes-per-value", f->bytes_per_value, "bytes per weight / KV value")
      ->type_name("B")
      ->default_str("2")
      ->transform(positive_number());
  add_switch(app, "--count-embedding", f->count_embedding,
             "include embedding parameters in M and the output head in C");
  app.add_option("--train-tokens", f->train_tokens, "also print the training cost (App. C) for D tokens, e.g. 100e9")
      ->type_name("D")
      ->transform(positive_number());
  app.add_option("--presets", f->presets, "read presets from a JSON file instead of the bundled ones")
      ->type_name("FILE");
  add_switch(app, "--json", f->json, "print JSON instead of a table");
  return [f](const Args&) { return run_cost(*f); };
}

}  // namespace
GQF_REGISTER_COMMAND("cost", "inference cost of a model at a context length (paper eqs. 3-4)", 60, declare_cost);
}  // namespace gqaforge::tools
