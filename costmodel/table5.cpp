// Table 5 of the paper on measured costs.
#include "costmodel/table5.h"

#include "core/units.h"

namespace gqaforge::costmodel {
namespace {

const AspectPoint* find_row(const std::vector<AspectPoint>& table, const char* label) {
  for (const AspectPoint& p : table) {
    if (p.label == label) return &p;
  }
  return nullptr;
}

Result<Table5Model> price(std::string label, HeadConfig heads, ModelShape shape, double paper,
                          const MeasuredCosts& measured) {
  Table5Model m;
  m.label = std::move(label);
  m.heads = heads;
  m.shape = std::move(shape);
  m.non_embedding_params = static_cast<double>(m.shape.non_embedding_params());
  m.paper_tokens_per_s = paper;
  auto prompt = measured.prompt_latency(m.shape, kTable5Batch, kTable5Context);
  if (!prompt.ok()) return prompt.status().with_context(fmt::format("Table 5 model {}", heads.to_string()));
  m.prompt = std::move(*prompt);
  return m;
}

// FLOPs of the whole prompt: every layer's causal attention and 2 FLOPs per weight per token
// (the LM head for the last token only, as priced).
double prompt_flops(const ModelShape& s) {
  const double attention =
      static_cast<double>(s.layers) *
      prefill_attention_flops(s.n_heads, s.head_dim, kTable5Batch, kTable5Context, kTable5Context, true);
  const double weights =
      2.0 * static_cast<double>(s.non_embedding_params()) * static_cast<double>(kTable5Batch * kTable5Context);
  return attention + weights + 2.0 * static_cast<double>(s.hidden * s.vocab * kTable5Batch);
}

std::vector<std::string> reasons(const Table5Check& c) {
  std::vector<std::string> out;
  const double flop_ratio = prompt_flops(c.gqa.shape) / prompt_flops(c.small.shape);
  out.push_back(fmt::format(
      "a 128K prompt is attention-bound: attention is {} of {}'s time and {} of {}'s, so the ratio follows the "
      "attention FLOPs (n_h·L = {} vs {}) more than the parameter count; the whole prompt's FLOPs differ x{:.2f}",
      format_percent(c.gqa.attention_share()), c.gqa.heads.to_string(), format_percent(c.small.attention_share()),
      c.small.heads.to_string(), c.gqa.shape.n_heads * c.gqa.shape.layers, c.small.shape.n_heads * c.small.shape.layers,
      flop_ratio));
  // FLOP rates: what the paper's tokens/s imply on its A800 against what the measured times give.
  auto rate = [](const Table5Model& m, double tokens_per_s) {
    return prompt_flops(m.shape) / static_cast<double>(kTable5Batch * kTable5Context) * tokens_per_s / 1e12;
  };
  out.push_back(fmt::format(
      "at the paper's speeds its A800 would sustain {:.0f} TFLOP/s on {} and {:.0f} on {} (peak 312): its {} ran at "
      "{:.2f} of the other's FLOP rate; these measurements give {:.0f} and {:.0f} TFLOP/s",
      rate(c.gqa, c.gqa.paper_tokens_per_s), c.gqa.heads.to_string(), rate(c.small, c.small.paper_tokens_per_s),
      c.small.heads.to_string(), c.small.heads.to_string(),
      rate(c.small, c.small.paper_tokens_per_s) / rate(c.gqa, c.gqa.paper_tokens_per_s),
      rate(c.gqa, c.gqa.tokens_per_s()), rate(c.small, c.small.tokens_per_s())));
  out.push_back(
      "the paper measured an A800 (312 TFLOP/s dense bf16, 2.0 TB/s) with its own kernels; these costs come from "
      "the measured GPU's rows (the bundled ones: an H200, about 3x the A800's compute), so absolute tokens/s "
      "differ and only the ratio compares");
  if (c.gqa.prompt.time.extrapolated || c.small.prompt.time.extrapolated) {
    out.push_back(
        "parts are extrapolated beyond the measured points (the notes above say which, and from which calls "
        "they are scaled): measure those calls to price them");
  }
  return out;
}

}  // namespace

double Table5Model::attention_share() const {
  const double t = prompt.time.total_us();
  return t > 0 ? prompt.time.attention_us / t : 0.0;
}

double Table5Model::linear_share() const {
  const double t = prompt.time.total_us();
  return t > 0 ? prompt.time.linear_us / t : 0.0;
}

double Table5Model::other_share() const {
  const double t = prompt.time.total_us();
  return t > 0 ? prompt.time.elementwise_us / t : 0.0;
}

Result<Table5Check> check_table5(const std::vector<AspectPoint>& table, const ShapeSettings& shape,
                                 const MeasuredCosts& measured) {
  const AspectPoint* base = find_row(table, "1.2B");
  const AspectPoint* grown = find_row(table, "1.8B");
  if (base == nullptr || grown == nullptr) {
    return failed_precondition("Table 5 needs the aspect table's 1.2B and 1.8B shapes (the paper's presets)");
  }
  // (32,8) at the paper's 1.2B shape, rounded like any searched model (d_ff from d).
  RealShape gqa_real;
  gqa_real.layers = base->layers;
  gqa_real.hidden = base->hidden;
  gqa_real.ffn = shape.ffn_ratio * base->hidden;
  gqa_real.n_heads = 32;
  gqa_real.n_kv_heads = 8;
  gqa_real.head_dim = static_cast<double>(kTable5HeadDim);
  gqa_real.vocab = static_cast<double>(shape.vocab);
  ModelShape gqa_shape = round_shape(gqa_real, shape);
  gqa_shape.name = "table5-32-8";
  // (8,1) grown to the 1.8B size: the shape solver at that row's 12 L d^2.
  GQF_ASSIGN_OR_RETURN(RealShape small_real,
                       solve_shape(table, grown->params, 8, 1, static_cast<double>(kTable5HeadDim), shape));
  ModelShape small_shape = round_shape(small_real, shape);
  small_shape.name = "table5-8-1";

  Table5Check c;
  GQF_ASSIGN_OR_RETURN(c.gqa, price(base->label, {32, 8}, gqa_shape, kTable5PaperGqaTokensPerS, measured));
  GQF_ASSIGN_OR_RETURN(c.small, price(grown->label, {8, 1}, small_shape, kTable5PaperSmallTokensPerS, measured));
  c.ratio = c.gqa.tokens_per_s() > 0 ? c.small.tokens_per_s() / c.gqa.tokens_per_s() : 0.0;
  c.reasons = reasons(c);
  return c;
}

}  // namespace gqaforge::costmodel
