// The recipe search.
#include "costmodel/search.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/strings.h"
#include "core/units.h"

namespace gqaforge::costmodel {

std::vector<std::string> summarize_skipped(const SearchResult& result, const LossModel& loss) {
  std::vector<std::string> lines;
  const size_t total = result.ranked.size() + result.skipped_candidates.size();
  std::string no_law, unreachable;
  size_t n_no_law = 0, n_unreachable = 0;
  for (const SkippedCandidate& s : result.skipped_candidates) {
    std::string& list = s.no_law ? no_law : unreachable;
    if (!list.empty()) list += " ";
    list += s.heads.to_string();
    ++(s.no_law ? n_no_law : n_unreachable);
  }
  if (n_no_law > 0) {
    std::string have;
    for (const auto& entry : loss.table()) {
      if (!have.empty()) have += " ";
      have += entry.first.to_string();
    }
    lines.push_back(
        fmt::format("{} of {} head configurations have no law in the loss model (it has {})", n_no_law, total, have));
  }
  if (n_unreachable > 0) {
    lines.push_back(fmt::format("{} of {} head configurations cannot reach L* = {} (it is not above their E): {}",
                                n_unreachable, total, format_decimal(result.settings.target_loss), unreachable));
  }
  return lines;
}

double reduction(double value, double baseline) {
  return baseline != 0 ? 1.0 - value / baseline : 0.0;
}

Result<CandidateResult> evaluate_candidate(const LossModel& loss, const std::vector<AspectPoint>& table,
                                           const HeadConfig& heads, const SearchSettings& settings,
                                           const MeasuredCosts* measured) {
  CandidateResult c;
  c.heads = heads;
  GQF_ASSIGN_OR_RETURN(c.law, loss.law_for(heads));
  auto n_star = c.law.required_params(settings.target_loss);
  if (!n_star.ok()) return n_star.status().with_context(fmt::format("heads {}", heads.to_string()));
  auto shape = solve_shape(table, *n_star, static_cast<double>(heads.n_heads), static_cast<double>(heads.n_kv_heads),
                           static_cast<double>(settings.head_dim), settings.shape);
  if (!shape.ok()) return shape.status().with_context(fmt::format("heads {}", heads.to_string()));
  c.shape = *shape;
  c.rounded = round_shape(c.shape, settings.shape);
  c.rounded.name = fmt::format("gqa-{}-{}", heads.n_heads, heads.n_kv_heads);
  c.rounded_params = static_cast<double>(c.rounded.non_embedding_params());
  c.rounded_loss = c.law.predict(c.rounded_params);
  c.cost = inference_cost(c.shape.cost_shape(), settings.context, settings.cost);
  c.memory_bytes = c.cost.memory_values() * settings.cost.bytes_per_value;
  c.flops = c.cost.flops();
  c.z = z_value(c.cost, settings.context, settings.z, settings.cost);

  const bool needs_latency = settings.objective == Objective::kLatency;
  const bool needs_throughput = settings.objective == Objective::kThroughput;
  const bool needs_prompt = objective_is_prompt(settings.objective);
  if (measured != nullptr) {
    auto context = static_cast<int64_t>(std::llround(settings.context));
    auto lat = measured->token_latency(c.rounded, settings.batch, context);
    if (lat.ok()) {
      c.latency = *lat;
    } else if (needs_latency) {
      return lat.status().with_context(fmt::format("heads {}", heads.to_string()));
    }
    auto thr = measured->throughput(c.rounded, context);
    if (thr.ok()) {
      c.throughput = *thr;
    } else if (needs_throughput) {
      return thr.status().with_context(fmt::format("heads {}", heads.to_string()));
    }
    auto prompt = measured->prompt_latency(c.rounded, settings.batch, context);
    if (prompt.ok()) {
      c.prompt = *prompt;
    } else if (needs_prompt) {
      return prompt.status().with_context(fmt::format("heads {}", heads.to_string()));
    }
  }
  switch (settings.objective) {
    case Objective::kZ:
      c.objective = c.z;
      break;
    case Objective::kMemory:
      c.objective = c.memory_bytes;
      break;
    case Objective::kFlops:
      c.objective = c.flops;
      break;
    case Objective::kLatency:
      c.objective = c.latency->total_us();
      break;
    case Objective::kThroughput:
      c.objective = -c.throughput->tokens_per_s;
      break;
    case Objective::kPromptLatency:
      c.objective = c.prompt->time.total_us();
      break;
    case Objective::kPromptThroughput:
      c.objective = -c.prompt->tokens_per_s();
      break;
  }
  return c;
}

namespace {

Status check_settings(const SearchSettings& s, const MeasuredCosts* measured) {
  if (!(s.context > 0) || !std::isfinite(s.context)) {
    return invalid_argument("context length {} must be positive", s.context);
  }
  if (s.head_dim != 64 && s.head_dim != 96 && s.head_dim != 128 && s.head_dim != 256) {
    return invalid_argument(
        "head dim {} has no kernel: gqaforge generates (and measures) head dims 64, 96, 128 "
        "and 256",
        s.head_dim);
  }
  if (s.max_heads <= 0 || s.max_heads > 1024 || (s.max_heads & (s.max_heads - 1)) != 0) {
    return invalid_argument(
        "max heads {} must be a power of two from 1 to 1024 (the candidates n_h and n_kv are "
        "1, 2, 4, ... up to it)",
        s.max_heads);
  }
  if (s.batch <= 0) return invalid_argument("batch {} must be positive", s.batch);
  if (!(s.z.lambda >= 0 && s.z.lambda <= 1)) return invalid_argument("lambda {} must be in [0, 1]", s.z.lambda);
  if (!(s.z.alpha > 0) || !(s.z.beta > 0)) {
    return invalid_argument("Z exponents alpha {} and beta {} must be positive", s.z.alpha, s.z.beta);
  }
  if (objective_is_measured(s.objective) && measured == nullptr) {
    return failed_precondition(
        "objective '{}' needs measured costs: pass --db with a tuning database (the bundled H200 "
        "measurements are not available in this build)",
        objective_name(s.objective));
  }
  return ok_status();
}

// Llama-3's own hidden size at `params` non-embedding parameters: piecewise linear in
// (log N, log d) through the bundled Llama-3 presets (1B 2048, 3B 3072, 8B 4096, 70B 8192),
// continued along the end segments. The aspect table is much deeper and narrower than Llama-3
// (at 1B it has 36 x 1536 where Llama-3.2-1B has 16 x 2048), so d / d_h taken from the
// aspect table gives 24 heads at the 1B scale, a configuration Llama-3 never used.
Result<double> llama3_hidden(double params) {
  // The bundled presets are fixed at build time: their Llama-3 points are read once.
  static const Result<std::vector<std::pair<double, double>>> kPoints =
      []() -> Result<std::vector<std::pair<double, double>>> {
    GQF_ASSIGN_OR_RETURN(Presets presets, Presets::bundled());
    std::vector<std::pair<double, double>> points;  // (log N, log d)
    for (const ModelShape& m : presets.models()) {
      if (starts_with(m.name, "llama-3")) {
        points.emplace_back(std::log(static_cast<double>(m.non_embedding_params())),
                            std::log(static_cast<double>(m.hidden)));
      }
    }
    if (points.size() < 2) return not_found("the bundled presets have fewer than 2 Llama-3 models");
    std::sort(points.begin(), points.end());
    return points;
  }();
  if (!kPoints.ok()) return kPoints.status();
  const std::vector<std::pair<double, double>>& points = *kPoints;
  const double x = std::log(params);
  size_t i = 0;
  while (i + 2 < points.size() && x > points[i + 1].first) ++i;
  const auto& [x0, y0] = points[i];
  const auto& [x1, y1] = points[i + 1];
  return std::exp(y0 + (x - x0) * (y1 - y0) / (x1 - x0));
}

// THE baseline rule (docs/costmodel.md, "The baseline"): Llama-3's GQA has n_kv = 8 and
// n_h = d / d_h (rounded to a multiple of 8) with d Llama-3's hidden size at the baseline's own
// N*; found by a fixed point, since N* depends on n_h. The baseline is then sized and shaped
// like every candidate (N* from the loss model, the aspect table's shape), so that it differs
// from them only in H. At L* = 2.615 this is (32,8), Llama-3.2-1B's configuration.
std::optional<CandidateResult> llama3_baseline(const LossModel& loss, const std::vector<AspectPoint>& table,
                                               const SearchSettings& settings, const MeasuredCosts* measured,
                                               std::vector<std::string>& warnings) {
  int64_t n_h = 32;
  std::optional<CandidateResult> last;
  for (int iter = 0; iter < 12; ++iter) {
    HeadConfig h{n_h, std::min<int64_t>(8, n_h)};
    if (!loss.covers(h)) {
      // A fitted table may lack this H: use the covered n_kv = 8 configuration nearest in log n_h.
      std::optional<HeadConfig> nearest;
      double best = std::numeric_limits<double>::infinity();
      for (const auto& [config, law] : loss.table()) {
        if (config.n_kv_heads != 8) continue;
        double dist = std::fabs(std::log2(static_cast<double>(config.n_heads)) - std::log2(static_cast<double>(n_h)));
        if (dist < best) {
          best = dist;
          nearest = config;
        }
      }
      if (!nearest) {
        warnings.push_back("no Llama-3 baseline: the loss model has no configuration with 8 kv heads");
        return std::nullopt;
      }
      warnings.push_back(fmt::format("Llama-3 baseline uses heads {} (the loss model has no law for {})",
                                     nearest->to_string(), h.to_string()));
      auto c = evaluate_candidate(loss, table, *nearest, settings, measured);
      if (!c.ok()) return std::nullopt;
      return *c;
    }
    auto c = evaluate_candidate(loss, table, h, settings, measured);
    if (!c.ok()) {
      warnings.push_back(fmt::format("no Llama-3 baseline: {}", c.status().message()));
      return std::nullopt;
    }
    last = *c;
    auto hidden = llama3_hidden(c->shape.params);
    if (!hidden.ok()) {
      warnings.push_back(fmt::format("no Llama-3 baseline: {}", hidden.status().message()));
      return std::nullopt;
    }
    double heads = *hidden / static_cast<double>(settings.head_dim);
    int64_t next = std::max<int64_t>(8, std::llround(heads / 8.0) * 8);
    if (next == n_h) break;
    n_h = next;
  }
  return last;
}

// Where the loss model is extrapolated: candidates whose N* lies outside its valid range, and
// candidates beyond the head counts its data covers.
void add_range_warnings(const LossModel& loss, const SearchSettings& settings, SearchResult& result) {
  const ValidRange& range = loss.range();
  if (!range.bounded() && range.min_params <= 0) return;
  std::string outside;
  size_t count = 0;
  for (const CandidateResult& c : result.ranked) {
    if (range.contains_params(c.shape.params)) continue;
    if (!outside.empty()) outside += " ";
    outside += c.heads.to_string();
    ++count;
  }
  if (count > 0) {
    result.warnings.push_back(
        fmt::format("N* of {} of {} candidates ({}) lies outside the loss model's valid range ({}): their losses are "
                    "extrapolated",
                    count, result.ranked.size(), outside, range.describe()));
  }
  if (range.max_heads > 0 && settings.max_heads > range.max_heads) {
    result.warnings.push_back(fmt::format(
        "--max-heads {} goes beyond the loss model's data (n_h up to {}): losses of the larger configurations are "
        "extrapolated",
        settings.max_heads, range.max_heads));
  }
}

// Why `heads` is not among the candidates of `max_heads`, or "" when it is.
std::string outside_candidates(const HeadConfig& heads, int64_t max_heads) {
  auto power_of_two = [](int64_t v) { return v > 0 && (v & (v - 1)) == 0; };
  std::vector<std::string> why;
  for (const auto& [name, v] : {std::pair{"n_h", heads.n_heads}, {"n_kv", heads.n_kv_heads}}) {
    if (!power_of_two(v)) {
      why.push_back(fmt::format("{} = {} is not a power of two", name, v));
    } else if (v > max_heads) {
      why.push_back(fmt::format("{} = {} exceeds max heads {}", name, v, max_heads));
    }
  }
  if (why.empty()) return "";
  std::string text = fmt::format("baseline {} is not among the candidates: ", heads.to_string());
  for (size_t i = 0; i < why.size(); ++i) text += (i == 0 ? "" : ", ") + why[i];
  return text;
}

}  // namespace

Result<SearchResult> run_search(const LossModel& loss, const std::vector<AspectPoint>& table,
                                const SearchSettings& settings, const MeasuredCosts* measured) {
  GQF_RETURN_IF_ERROR(check_settings(settings, measured));
  SearchResult result;
  result.settings = settings;
  double lowest_e = std::numeric_limits<double>::infinity();
  std::string first_error;
  for (const HeadConfig& h : candidate_heads(settings.max_heads)) {
    auto law = loss.law_for(h);
    if (law.ok()) lowest_e = std::min(lowest_e, law->e);
    auto c = evaluate_candidate(loss, table, h, settings, measured);
    if (!c.ok()) {
      // Unreachable targets and configurations a fitted table lacks are skipped; anything
      // else (bad settings, missing measurements) stops the search.
      bool unreachable = law.ok() && !(settings.target_loss > law->e);
      bool not_covered = !law.ok() && law.status().code() == StatusCode::kNotFound;
      if (!unreachable && !not_covered) return c.status();
      if (first_error.empty()) first_error = c.status().message();
      result.skipped.push_back(c.status().message());
      result.skipped_candidates.push_back({h, not_covered, c.status().message()});
      continue;
    }
    result.ranked.push_back(std::move(*c));
  }
  if (result.ranked.empty()) {
    if (std::isfinite(lowest_e) && settings.target_loss <= lowest_e) {
      return invalid_argument(
          "target loss {} is not above the irreducible loss E = {} of the loss model: no model size "
          "reaches it (choose a target above {})",
          settings.target_loss, lowest_e, lowest_e);
    }
    return invalid_argument("no candidate head configuration could be evaluated: {}", first_error);
  }
  std::stable_sort(result.ranked.begin(), result.ranked.end(), [](const CandidateResult& a, const CandidateResult& b) {
    double scale = std::max(std::fabs(a.objective), std::fabs(b.objective));
    if (std::fabs(a.objective - b.objective) > 1e-12 * scale) return a.objective < b.objective;
    // Ties (unspecified in the paper): the smaller model, then fewer kv heads, then fewer heads.
    if (a.shape.params != b.shape.params) return a.shape.params < b.shape.params;
    if (a.heads.n_kv_heads != b.heads.n_kv_heads) return a.heads.n_kv_heads < b.heads.n_kv_heads;
    return a.heads.n_heads < b.heads.n_heads;
  });
  for (CandidateResult& c : result.ranked) {
    c.pareto = true;
    for (const CandidateResult& o : result.ranked) {
      bool no_worse = o.memory_bytes <= c.memory_bytes && o.flops <= c.flops;
      bool better = o.memory_bytes < c.memory_bytes || o.flops < c.flops;
      if (no_worse && better) {
        c.pareto = false;
        break;
      }
    }
    // Only a measured objective rests on the measurements; under z, memory and flops the
    // measured columns are shown for information (marked *) and nothing needs a warning.
    bool extrapolated =
        (settings.objective == Objective::kLatency && c.latency && c.latency->extrapolated) ||
        (settings.objective == Objective::kThroughput && c.throughput && c.throughput->step.extrapolated) ||
        (objective_is_prompt(settings.objective) && c.prompt && c.prompt->time.extrapolated);
    if (objective_is_measured(settings.objective) && extrapolated && c.heads == result.ranked.front().heads) {
      result.warnings.push_back(
          fmt::format("measured costs of the best configuration {} are extrapolated beyond "
                      "the tuned points",
                      c.heads.to_string()));
      if (settings.objective == Objective::kThroughput && c.throughput->beyond_measured_batches) {
        const ThroughputEstimate& t = *c.throughput;
        result.warnings.push_back(
            fmt::format("throughput of {} is estimated at batch {}, beyond its measured decode batches {}..{}{} "
                        "(--max-batch {} keeps to them)",
                        c.heads.to_string(), t.batch, t.measured_batch_min, t.measured_batch_max,
                        t.floor ? fmt::format("; measured floor {} tokens/s at batch {}",
                                              format_scale(t.floor->tokens_per_s), t.floor->batch)
                                : "",
                        t.measured_batch_max));
      }
    }
  }
  add_range_warnings(loss, settings, result);
  if (settings.baseline) {
    auto b = evaluate_candidate(loss, table, *settings.baseline, settings, measured);
    if (!b.ok()) return b.status().with_context("baseline");
    result.baseline = *b;
  } else {
    result.baseline = llama3_baseline(loss, table, settings, measured, result.warnings);
  }
  if (result.baseline) {
    result.baseline_note = outside_candidates(result.baseline->heads, settings.max_heads);
    result.baseline_in_candidates = result.baseline_note.empty();
    const CandidateResult& best = result.ranked.front();
    const CandidateResult& b = *result.baseline;
    const double scale = std::max(std::fabs(best.objective), std::fabs(b.objective));
    if (b.objective < best.objective - 1e-12 * scale) {
      // Only a baseline outside the candidate set (or one the ranking skipped) can beat the winner.
      result.warnings.push_back(fmt::format(
          "the baseline {} would be better than the best candidate {} under objective {} ({} against {}): {}",
          b.heads.to_string(), best.heads.to_string(), objective_name(settings.objective),
          format_decimal(b.objective, 4), format_decimal(best.objective, 4),
          result.baseline_in_candidates ? "it was not ranked" : result.baseline_note));
    }
  }
  return result;
}

}  // namespace gqaforge::costmodel
