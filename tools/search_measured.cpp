// The measured-cost output of `gqaforge search`: JSON of the estimates and the --table5 mode.
#include "tools/search_measured.h"

#include <cstdio>
#include <string_view>

#include "core/table.h"
#include "core/units.h"
#include "costmodel/table5.h"
#include "costmodel/units.h"
#include "tools/args.h"
#include "tools/json_output.h"

namespace gqaforge::tools {

using namespace costmodel;

Json latency_json(const LatencyBreakdown& l) {
  Json j = Json::object();
  j["total_us"] = l.total_us();
  j["attention_us"] = l.attention_us;
  j["linear_us"] = l.linear_us;
  j["elementwise_us"] = l.elementwise_us;
  j["kernels"] = l.kernels;
  j["launch_us"] = l.launch_us;
  j["launch_bound_us"] = l.launch_bound_us;
  j["extrapolated"] = l.extrapolated;
  Json notes = Json::array();
  for (const std::string& n : l.notes) notes.push_back(n);
  j["notes"] = notes;
  return j;
}

Json prompt_json(const PromptEstimate& p) {
  Json j = latency_json(p.time);
  j["batch"] = p.batch;
  j["tokens"] = p.tokens;
  j["tokens_per_s"] = p.tokens_per_s();
  return j;
}

Json throughput_json(const ThroughputEstimate& t) {
  Json j = Json::object();
  j["tokens_per_s"] = t.tokens_per_s;
  j["batch"] = t.batch;
  j["extrapolated"] = t.step.extrapolated;
  if (t.measured_batch_max > 0) {
    Json m = Json::object();
    m["min"] = t.measured_batch_min;
    m["max"] = t.measured_batch_max;
    j["measured_batches"] = m;
  } else {
    j["measured_batches"] = Json();
  }
  j["beyond_measured_batches"] = t.beyond_measured_batches;
  j["note"] = t.note;
  if (t.floor) {
    Json f = Json::object();
    f["batch"] = t.floor->batch;
    f["tokens_per_s"] = t.floor->tokens_per_s;
    f["extrapolated"] = t.floor->extrapolated;
    j["floor"] = f;
  } else {
    j["floor"] = Json();
  }
  return j;
}

Json measured_settings_json(const MeasuredSettings& m) {
  Json j = Json::object();
  j["launch_us"] = m.launch_us;
  j["max_batch"] = m.max_batch;
  j["gpu_memory_bytes"] = m.gpu_memory_bytes;
  return j;
}

namespace {

Json table5_model_json(const Table5Model& m) {
  Json j = Json::object();
  j["label"] = m.label;
  j["n_heads"] = m.heads.n_heads;
  j["n_kv_heads"] = m.heads.n_kv_heads;
  j["layers"] = m.shape.layers;
  j["hidden"] = m.shape.hidden;
  j["ffn"] = m.shape.ffn;
  j["non_embedding_params"] = m.non_embedding_params;
  j["tokens_per_s"] = m.tokens_per_s();
  j["paper_tokens_per_s"] = m.paper_tokens_per_s;
  Json shares = Json::object();
  shares["attention"] = m.attention_share();
  shares["linear"] = m.linear_share();
  shares["other"] = m.other_share();
  j["shares"] = shares;
  j["prompt"] = prompt_json(m.prompt);
  return j;
}

}  // namespace

int print_table5(const Presets& presets, const SearchSettings& s, const MeasuredCosts& measured, bool json) {
  auto check = check_table5(presets.aspect_table(), s.shape, measured);
  if (!check.ok()) return report_failure(check.status());
  const Table5Check& c = *check;
  if (json) {
    Json doc = json_document("search --table5");
    doc["context"] = kTable5Context;
    doc["batch"] = kTable5Batch;
    doc["measured_settings"] = measured_settings_json(measured.settings());
    Json models = Json::array();
    for (const Table5Model* m : {&c.gqa, &c.small}) models.push_back(table5_model_json(*m));
    doc["models"] = models;
    doc["ratio"] = c.ratio;
    doc["paper_ratio"] = c.paper_ratio;
    Json reasons = Json::array();
    for (const std::string& r : c.reasons) reasons.push_back(r);
    doc["reasons"] = reasons;
    print_json(doc);
    return 0;
  }
  std::printf(
      "Table 5 of the paper on measured costs: one prompt of %s tokens at batch %lld (prefill), d_h %lld, "
      "kernels >= %s each\n\n",
      format_context(static_cast<double>(kTable5Context)).c_str(), static_cast<long long>(kTable5Batch),
      static_cast<long long>(kTable5HeadDim), format_time_us(measured.settings().launch_us).c_str());
  TextTable t;
  for (const char* h :
       {"size", "H", "L", "d", "d_ff", "N", "prompt", "tokens/s", "paper (A800)", "attention", "GEMMs", "other"}) {
    t.add_column(h, std::string_view(h) == "H" || std::string_view(h) == "size" ? TextTable::kLeft : TextTable::kRight);
  }
  for (const Table5Model* m : {&c.gqa, &c.small}) {
    const char* star = m->prompt.time.extrapolated ? "*" : "";
    t.add_row({m->label, m->heads.to_string(), std::to_string(m->shape.layers), std::to_string(m->shape.hidden),
               std::to_string(m->shape.ffn), format_scale(m->non_embedding_params),
               format_time_us(m->prompt.time.total_us()) + star, format_scale(m->tokens_per_s()) + star,
               format_scale(m->paper_tokens_per_s), format_percent(m->attention_share()),
               format_percent(m->linear_share()), format_percent(m->other_share())});
  }
  std::fputs(t.render(0).c_str(), stdout);
  std::printf("\nratio %s / %s: x%.2f measured, x%.2f in the paper (* = extrapolated)\n",
              c.small.heads.to_string().c_str(), c.gqa.heads.to_string().c_str(), c.ratio, c.paper_ratio);
  for (const Table5Model* m : {&c.gqa, &c.small}) {
    for (const std::string& n : m->prompt.time.notes) {
      std::printf("extrapolated %s: %s\n", m->heads.to_string().c_str(), n.c_str());
    }
  }
  for (const std::string& r : c.reasons) std::printf("why: %s\n", r.c_str());
  return 0;
}

}  // namespace gqaforge::tools
