// Tune worker protocol: encoding, parsing, and the worker loop.
#include "autotune/worker_protocol.h"

#include <cmath>

namespace gqaforge::tune {
namespace {

Result<int> int_field(const Json& j, std::string_view key) {
  GQF_ASSIGN_OR_RETURN(int64_t v, j.int_at(key));
  if (v < INT32_MIN || v > INT32_MAX) return invalid_argument("key '{}' value {} does not fit an int", key, v);
  return static_cast<int>(v);
}

}  // namespace

Json problem_to_json(const AttentionProblem& p) {
  Json j = Json::object();
  j.set("phase", phase_name(p.phase));
  j.set("n_q_heads", p.n_q_heads);
  j.set("n_kv_heads", p.n_kv_heads);
  j.set("head_dim", p.head_dim);
  j.set("dtype", dtype_name(p.dtype));
  j.set("causal", p.causal);
  j.set("batch", p.batch);
  j.set("q_len", p.q_len);
  j.set("kv_len", p.kv_len);
  return j;
}

Result<AttentionProblem> problem_from_json(const Json& j) {
  AttentionProblem p;
  GQF_ASSIGN_OR_RETURN(std::string phase, j.string_at("phase"));
  GQF_ASSIGN_OR_RETURN(p.phase, parse_phase(phase));
  GQF_ASSIGN_OR_RETURN(p.n_q_heads, int_field(j, "n_q_heads"));
  GQF_ASSIGN_OR_RETURN(p.n_kv_heads, int_field(j, "n_kv_heads"));
  GQF_ASSIGN_OR_RETURN(p.head_dim, int_field(j, "head_dim"));
  GQF_ASSIGN_OR_RETURN(std::string dtype, j.string_at("dtype"));
  GQF_ASSIGN_OR_RETURN(p.dtype, parse_dtype(dtype));
  GQF_ASSIGN_OR_RETURN(p.causal, j.bool_at("causal"));
  GQF_ASSIGN_OR_RETURN(p.batch, j.int_at("batch"));
  GQF_ASSIGN_OR_RETURN(p.q_len, j.int_at("q_len"));
  GQF_ASSIGN_OR_RETURN(p.kv_len, j.int_at("kv_len"));
  GQF_RETURN_IF_ERROR(p.validate());
  return p;
}

Json environment_to_json(const Environment& e) {
  Json j = Json::object();
  j.set("gpu_name", e.gpu_name);
  j.set("gpu_uuid", e.gpu_uuid);
  j.set("sm_count", e.sm_count);
  j.set("cc_major", e.cc_major);
  j.set("cc_minor", e.cc_minor);
  j.set("sm_clock_mhz", e.sm_clock_mhz);
  j.set("mem_clock_mhz", e.mem_clock_mhz);
  j.set("memory_bytes", e.memory_bytes);
  j.set("driver_version", e.driver_version);
  j.set("nvrtc_version", e.nvrtc_version);
  j.set("codegen_version", e.codegen_version);
  j.set("codegen_hash", e.codegen_hash);
  j.set("gqaforge_commit", e.gqaforge_commit);
  j.set("build_type", e.build_type);
  j.set("host", e.host);
  return j;
}

Result<Environment> environment_from_json(const Json& j) {
  Environment e;
  GQF_ASSIGN_OR_RETURN(e.gpu_name, j.string_at("gpu_name"));
  GQF_ASSIGN_OR_RETURN(e.gpu_uuid, j.string_at("gpu_uuid"));
  GQF_ASSIGN_OR_RETURN(e.sm_count, int_field(j, "sm_count"));
  GQF_ASSIGN_OR_RETURN(e.cc_major, int_field(j, "cc_major"));
  GQF_ASSIGN_OR_RETURN(e.cc_minor, int_field(j, "cc_minor"));
  GQF_ASSIGN_OR_RETURN(e.sm_clock_mhz, int_field(j, "sm_clock_mhz"));
  GQF_ASSIGN_OR_RETURN(e.mem_clock_mhz, int_field(j, "mem_clock_mhz"));
  GQF_ASSIGN_OR_RETURN(e.memory_bytes, j.int_at("memory_bytes"));
  GQF_ASSIGN_OR_RETURN(e.driver_version, int_field(j, "driver_version"));
  GQF_ASSIGN_OR_RETURN(e.nvrtc_version, j.string_at("nvrtc_version"));
  GQF_ASSIGN_OR_RETURN(e.codegen_version, int_field(j, "codegen_version"));
  GQF_ASSIGN_OR_RETURN(e.codegen_hash, j.string_at("codegen_hash"));
  GQF_ASSIGN_OR_RETURN(e.gqaforge_commit, j.string_at("gqaforge_commit"));
  GQF_ASSIGN_OR_RETURN(e.build_type, j.string_at("build_type"));
  GQF_ASSIGN_OR_RETURN(e.host, j.string_at("host"));
  return e;
}

Json limits_to_json(const DeviceLimits& l) {
  Json j = Json::object();
  j.set("cc_major", l.cc_major);
  j.set("cc_minor", l.cc_minor);
  j.set("sm_count", l.sm_count);
  j.set("max_threads_per_block", l.max_threads_per_block);
  j.set("max_shared_per_block_optin", l.max_shared_per_block_optin);
  j.set("max_shared_per_sm", l.max_shared_per_sm);
  j.set("max_registers_per_block", l.max_registers_per_block);
  j.set("max_registers_per_sm", l.max_registers_per_sm);
  j.set("max_threads_per_sm", l.max_threads_per_sm);
  j.set("l2_bytes", l.l2_bytes);
  j.set("has_wgmma", l.has_wgmma ? 1 : 0);
  return j;
}

Result<DeviceLimits> limits_from_json(const Json& j) {
  DeviceLimits l;
  GQF_ASSIGN_OR_RETURN(l.cc_major, int_field(j, "cc_major"));
  GQF_ASSIGN_OR_RETURN(l.cc_minor, int_field(j, "cc_minor"));
  GQF_ASSIGN_OR_RETURN(l.sm_count, int_field(j, "sm_count"));
  GQF_ASSIGN_OR_RETURN(l.max_threads_per_block, int_field(j, "max_threads_per_block"));
  GQF_ASSIGN_OR_RETURN(l.max_shared_per_block_optin, int_field(j, "max_shared_per_block_optin"));
  GQF_ASSIGN_OR_RETURN(l.max_shared_per_sm, int_field(j, "max_shared_per_sm"));
  GQF_ASSIGN_OR_RETURN(l.max_registers_per_block, int_field(j, "max_registers_per_block"));
  GQF_ASSIGN_OR_RETURN(l.max_registers_per_sm, int_field(j, "max_registers_per_sm"));
  GQF_ASSIGN_OR_RETURN(l.max_threads_per_sm, int_field(j, "max_threads_per_sm"));
  GQF_ASSIGN_OR_RETURN(l.l2_bytes, int_field(j, "l2_bytes"));
  GQF_ASSIGN_OR_RETURN(int has_wgmma, int_field(j, "has_wgmma"));
  l.has_wgmma = has_wgmma != 0;
  return l;
}

std::string encode_request(const WorkerRequest& r) {
  Json j = Json::object();
  j.set("op", r.op);
  if (r.op == "measure") {
    j.set("id", r.id);
    j.set("family", std::string(r.candidate.family->name()));
    j.set("problem", problem_to_json(r.candidate.problem));
    j.set("config", r.candidate.config_text());
    j.set("kernel_key", r.candidate.kernel_key);
    // Seeds travel as decimal text: JSON numbers lose integers above 2^53.
    j.set("seed", std::to_string(r.options.seed));
    j.set("repetitions", r.options.repetitions);
    j.set("min_rep_ms", r.options.min_rep_ms);
  }
  return j.dump(-1);
}

Result<WorkerRequest> parse_request(std::string_view line) {
  GQF_ASSIGN_OR_RETURN(Json j, Json::parse(line));
  if (!j.is_object()) return invalid_argument("worker request is not a JSON object");
  WorkerRequest r;
  GQF_ASSIGN_OR_RETURN(r.op, j.string_at("op"));
  if (r.op == "hello" || r.op == "quit") return r;
  if (r.op != "measure") return invalid_argument("unknown worker op '{}' (expected hello, measure or quit)", r.op);
  GQF_ASSIGN_OR_RETURN(r.id, j.int_at("id"));
  GQF_ASSIGN_OR_RETURN(std::string family, j.string_at("family"));
  GQF_ASSIGN_OR_RETURN(r.candidate.family, find_family(family));
  GQF_ASSIGN_OR_RETURN(const Json* problem, j.object_at("problem"));
  GQF_ASSIGN_OR_RETURN(r.candidate.problem, problem_from_json(*problem));
  // The canonical text names every field: the struct's defaults are never used.
  GQF_ASSIGN_OR_RETURN(std::string config, j.string_at("config"));
  GQF_ASSIGN_OR_RETURN(r.candidate.config, r.candidate.family->parse(config, r.candidate.family->field_defaults()));
  GQF_ASSIGN_OR_RETURN(r.candidate.kernel_key, j.string_at("kernel_key"));
  GQF_ASSIGN_OR_RETURN(std::string seed, j.string_at("seed"));
  char* end = nullptr;
  r.options.seed = std::strtoull(seed.c_str(), &end, 10);
  if (seed.empty() || end == nullptr || *end != '\0') return invalid_argument("seed '{}' is not a decimal integer", seed);
  GQF_ASSIGN_OR_RETURN(r.options.repetitions, int_field(j, "repetitions"));
  GQF_ASSIGN_OR_RETURN(r.options.min_rep_ms, j.number_at("min_rep_ms"));
  return r;
}

std::string encode_response(const WorkerResponse& r) {
  Json j = Json::object();
  j.set("op", r.op);
  j.set("ok", r.ok);
  if (!r.ok) {
    j.set("error", r.error);
    return j.dump(-1);
  }
  if (r.op == "hello") {
    j.set("env", environment_to_json(r.info.environment));
    j.set("limits", limits_to_json(r.info.limits));
    j.set("arch", r.info.arch);
  } else if (r.op == "measure") {
    const MeasureResult& m = r.result;
    j.set("id", r.id);
    j.set("status", measure_status_name(m.status));
    j.set("message", m.message);
    j.set("median_us", m.median_us);
    j.set("min_us", m.min_us);
    j.set("stddev_us", m.stddev_us);
    j.set("repetitions", m.repetitions);
    j.set("max_error", std::isfinite(m.max_error) ? m.max_error : 1e300);
    j.set("error_bound", m.error_bound);
  }
  j.set("restart", r.restart);
  return j.dump(-1);
}

Result<WorkerResponse> parse_response(std::string_view line) {
  GQF_ASSIGN_OR_RETURN(Json j, Json::parse(line));
  if (!j.is_object()) return invalid_argument("worker response is not a JSON object");
  WorkerResponse r;
  GQF_ASSIGN_OR_RETURN(r.ok, j.bool_at("ok"));
  if (const Json* op = j.find("op"); op != nullptr && op->is_string()) r.op = op->as_string();
  if (!r.ok) {
    GQF_ASSIGN_OR_RETURN(r.error, j.string_at("error"));
    return r;
  }
  GQF_ASSIGN_OR_RETURN(r.restart, j.bool_at("restart"));
  if (r.op == "hello") {
    GQF_ASSIGN_OR_RETURN(const Json* env, j.object_at("env"));
    GQF_ASSIGN_OR_RETURN(r.info.environment, environment_from_json(*env));
    GQF_ASSIGN_OR_RETURN(const Json* limits, j.object_at("limits"));
    GQF_ASSIGN_OR_RETURN(r.info.limits, limits_from_json(*limits));
    GQF_ASSIGN_OR_RETURN(r.info.arch, j.string_at("arch"));
  } else if (r.op == "measure") {
    MeasureResult& m = r.result;
    GQF_ASSIGN_OR_RETURN(r.id, j.int_at("id"));
    GQF_ASSIGN_OR_RETURN(std::string status, j.string_at("status"));
    GQF_ASSIGN_OR_RETURN(m.status, status_from_name(status));
    GQF_ASSIGN_OR_RETURN(m.message, j.string_at("message"));
    GQF_ASSIGN_OR_RETURN(m.median_us, j.number_at("median_us"));
    GQF_ASSIGN_OR_RETURN(m.min_us, j.number_at("min_us"));
    GQF_ASSIGN_OR_RETURN(m.stddev_us, j.number_at("stddev_us"));
    GQF_ASSIGN_OR_RETURN(m.repetitions, int_field(j, "repetitions"));
    GQF_ASSIGN_OR_RETURN(m.max_error, j.number_at("max_error"));
    GQF_ASSIGN_OR_RETURN(m.error_bound, j.number_at("error_bound"));
  } else {
    return invalid_argument("worker response has unknown op '{}'", r.op);
  }
  return r;
}

int serve_worker(Backend& backend, std::istream& in, std::ostream& out) {
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    WorkerResponse resp;
    auto req = parse_request(line);
    if (!req.ok()) {
      resp.ok = false;
      resp.error = req.status().message();
      out << encode_response(resp) << '\n' << std::flush;
      continue;
    }
    resp.op = req->op;
    if (req->op == "quit") return 0;
    if (req->op == "hello") {
      auto info = backend.info();
      if (!info.ok()) {
        resp.ok = false;
        resp.error = info.status().message();
      } else {
        resp.info = *info;
      }
    } else {
      resp.id = req->id;
      resp.result = backend.measure(req->candidate, req->options);
    }
    resp.restart = !backend.healthy();
    out << encode_response(resp) << '\n' << std::flush;
    if (resp.restart) return 3;
  }
  return 0;
}

}  // namespace gqaforge::tune
