// Tune worker protocol: encoding, parsing, and the worker loop.
#include "autotune/worker_protocol.h"

#include <cmath>
#include <cstddef>
#include <string>
#include <type_traits>
#include <variant>

namespace gqaforge::autotune {

using codegen::AttentionProblem;
using codegen::DeviceLimits;

namespace {

Result<int> int_field(const Json& j, std::string_view key) {
  GQF_ASSIGN_OR_RETURN(int64_t v, json_int_at(j, key));
  if (v < INT32_MIN || v > INT32_MAX) return invalid_argument("key '{}' value {} does not fit an int", key, v);
  return static_cast<int>(v);
}

// A plain struct the pipe carries field by field: each field's key and member, in the order
// the JSON object lists them. A bool travels as 0 or 1.
template <typename T>
struct PipeField {
  const char* key;
  std::variant<std::string T::*, int T::*, int64_t T::*, bool T::*> member;
};

template <typename T, std::size_t N>
Json fields_to_json(const T& value, const PipeField<T> (&fields)[N]) {
  Json j = Json::object();
  for (const PipeField<T>& f : fields) {
    std::visit(
        [&](auto member) {
          if constexpr (std::is_same_v<decltype(member), bool T::*>) {
            j[f.key] = value.*member ? 1 : 0;
          } else {
            j[f.key] = value.*member;
          }
        },
        f.member);
  }
  return j;
}

template <typename T, std::size_t N>
Result<T> fields_from_json(const Json& j, const PipeField<T> (&fields)[N]) {
  T value;
  for (const PipeField<T>& f : fields) {
    Status status = std::visit(
        [&](auto member) -> Status {
          using Member = decltype(member);
          if constexpr (std::is_same_v<Member, std::string T::*>) {
            GQF_ASSIGN_OR_RETURN(value.*member, json_string_at(j, f.key));
          } else if constexpr (std::is_same_v<Member, int64_t T::*>) {
            GQF_ASSIGN_OR_RETURN(value.*member, json_int_at(j, f.key));
          } else if constexpr (std::is_same_v<Member, int T::*>) {
            GQF_ASSIGN_OR_RETURN(value.*member, int_field(j, f.key));
          } else {
            GQF_ASSIGN_OR_RETURN(int flag, int_field(j, f.key));
            value.*member = flag != 0;
          }
          return ok_status();
        },
        f.member);
    GQF_RETURN_IF_ERROR(status);
  }
  return value;
}

constexpr PipeField<Environment> kEnvironmentFields[] = {
    {"gpu_name", &Environment::gpu_name},
    {"gpu_uuid", &Environment::gpu_uuid},
    {"sm_count", &Environment::sm_count},
    {"cc_major", &Environment::cc_major},
    {"cc_minor", &Environment::cc_minor},
    {"sm_clock_mhz", &Environment::sm_clock_mhz},
    {"mem_clock_mhz", &Environment::mem_clock_mhz},
    {"memory_bytes", &Environment::memory_bytes},
    {"driver_version", &Environment::driver_version},
    {"nvrtc_version", &Environment::nvrtc_version},
    {"codegen_version", &Environment::codegen_version},
    {"codegen_hash", &Environment::codegen_hash},
    {"gqaforge_commit", &Environment::gqaforge_commit},
    {"build_type", &Environment::build_type},
    {"host", &Environment::host},
};

constexpr PipeField<DeviceLimits> kLimitsFields[] = {
    {"cc_major", &DeviceLimits::cc_major},
    {"cc_minor", &DeviceLimits::cc_minor},
    {"sm_count", &DeviceLimits::sm_count},
    {"max_threads_per_block", &DeviceLimits::max_threads_per_block},
    {"max_shared_per_block_optin", &DeviceLimits::max_shared_per_block_optin},
    {"max_shared_per_sm", &DeviceLimits::max_shared_per_sm},
    {"max_registers_per_block", &DeviceLimits::max_registers_per_block},
    {"max_registers_per_sm", &DeviceLimits::max_registers_per_sm},
    {"max_threads_per_sm", &DeviceLimits::max_threads_per_sm},
    {"l2_bytes", &DeviceLimits::l2_bytes},
    {"has_wgmma", &DeviceLimits::has_wgmma},
    {"cpu_threads", &DeviceLimits::cpu_threads},
    {"cpu_vector_floats", &DeviceLimits::cpu_vector_floats},
};

}  // namespace

Json problem_to_json(const AttentionProblem& p) {
  Json j = Json::object();
  j["phase"] = codegen::phase_name(p.phase);
  j["n_q_heads"] = p.n_q_heads;
  j["n_kv_heads"] = p.n_kv_heads;
  j["head_dim"] = p.head_dim;
  j["dtype"] = codegen::dtype_name(p.dtype);
  j["causal"] = p.causal;
  j["batch"] = p.batch;
  j["q_len"] = p.q_len;
  j["kv_len"] = p.kv_len;
  return j;
}

Result<AttentionProblem> problem_from_json(const Json& j) {
  AttentionProblem p;
  GQF_ASSIGN_OR_RETURN(std::string phase, json_string_at(j, "phase"));
  GQF_ASSIGN_OR_RETURN(p.phase, codegen::parse_phase(phase));
  GQF_ASSIGN_OR_RETURN(p.n_q_heads, int_field(j, "n_q_heads"));
  GQF_ASSIGN_OR_RETURN(p.n_kv_heads, int_field(j, "n_kv_heads"));
  GQF_ASSIGN_OR_RETURN(p.head_dim, int_field(j, "head_dim"));
  GQF_ASSIGN_OR_RETURN(std::string dtype, json_string_at(j, "dtype"));
  GQF_ASSIGN_OR_RETURN(p.dtype, codegen::parse_dtype(dtype));
  GQF_ASSIGN_OR_RETURN(p.causal, json_bool_at(j, "causal"));
  GQF_ASSIGN_OR_RETURN(p.batch, json_int_at(j, "batch"));
  GQF_ASSIGN_OR_RETURN(p.q_len, json_int_at(j, "q_len"));
  GQF_ASSIGN_OR_RETURN(p.kv_len, json_int_at(j, "kv_len"));
  GQF_RETURN_IF_ERROR(p.validate());
  return p;
}

Json environment_to_json(const Environment& e) {
  return fields_to_json(e, kEnvironmentFields);
}

Result<Environment> environment_from_json(const Json& j) {
  return fields_from_json<Environment>(j, kEnvironmentFields);
}

Json limits_to_json(const DeviceLimits& l) {
  return fields_to_json(l, kLimitsFields);
}

Result<DeviceLimits> limits_from_json(const Json& j) {
  return fields_from_json<DeviceLimits>(j, kLimitsFields);
}

std::string encode_request(const WorkerRequest& r) {
  Json j = Json::object();
  j["op"] = r.op;
  if (r.op == "measure") {
    j["id"] = r.id;
    j["family"] = std::string(r.candidate.family->name());
    j["problem"] = problem_to_json(r.candidate.problem);
    j["config"] = r.candidate.config_text();
    j["kernel_key"] = r.candidate.kernel_key;
    // Seeds travel as decimal text: JSON numbers lose integers above 2^53.
    j["seed"] = std::to_string(r.options.seed);
    j["repetitions"] = r.options.repetitions;
    j["min_rep_ms"] = r.options.min_rep_ms;
  }
  return dump_json(j, -1);
}

Result<WorkerRequest> parse_request(std::string_view line) {
  GQF_ASSIGN_OR_RETURN(Json j, parse_json(line));
  if (!j.is_object()) return invalid_argument("worker request is not a JSON object");
  WorkerRequest r;
  GQF_ASSIGN_OR_RETURN(r.op, json_string_at(j, "op"));
  if (r.op == "hello" || r.op == "quit") return r;
  if (r.op != "measure") return invalid_argument("unknown worker op '{}' (expected hello, measure or quit)", r.op);
  GQF_ASSIGN_OR_RETURN(r.id, json_int_at(j, "id"));
  GQF_ASSIGN_OR_RETURN(std::string family, json_string_at(j, "family"));
  GQF_ASSIGN_OR_RETURN(r.candidate.family, codegen::find_family(family));
  GQF_ASSIGN_OR_RETURN(const Json* problem, json_object_at(j, "problem"));
  GQF_ASSIGN_OR_RETURN(r.candidate.problem, problem_from_json(*problem));
  // The canonical text names every field: the struct's defaults are never used.
  GQF_ASSIGN_OR_RETURN(std::string config, json_string_at(j, "config"));
  GQF_ASSIGN_OR_RETURN(r.candidate.config, r.candidate.family->parse(config, r.candidate.family->field_defaults()));
  GQF_ASSIGN_OR_RETURN(r.candidate.kernel_key, json_string_at(j, "kernel_key"));
  GQF_ASSIGN_OR_RETURN(std::string seed, json_string_at(j, "seed"));
  char* end = nullptr;
  r.options.seed = std::strtoull(seed.c_str(), &end, 10);
  if (seed.empty() || end == nullptr || *end != '\0')
    return invalid_argument("seed '{}' is not a decimal integer", seed);
  GQF_ASSIGN_OR_RETURN(r.options.repetitions, int_field(j, "repetitions"));
  GQF_ASSIGN_OR_RETURN(r.options.min_rep_ms, json_number_at(j, "min_rep_ms"));
  return r;
}

std::string encode_response(const WorkerResponse& r) {
  Json j = Json::object();
  j["op"] = r.op;
  j["ok"] = r.ok;
  if (!r.ok) {
    j["error"] = r.error;
    return dump_json(j, -1);
  }
  if (r.op == "hello") {
    j["env"] = environment_to_json(r.info.environment);
    j["limits"] = limits_to_json(r.info.limits);
    j["arch"] = r.info.arch;
  } else if (r.op == "measure") {
    const MeasureResult& m = r.result;
    j["id"] = r.id;
    j["status"] = measure_status_name(m.status);
    j["message"] = m.message;
    j["median_us"] = m.median_us;
    j["min_us"] = m.min_us;
    j["stddev_us"] = m.stddev_us;
    j["repetitions"] = m.repetitions;
    j["max_error"] = std::isfinite(m.max_error) ? m.max_error : 1e300;
    j["error_bound"] = m.error_bound;
  }
  j["restart"] = r.restart;
  return dump_json(j, -1);
}

Result<WorkerResponse> parse_response(std::string_view line) {
  GQF_ASSIGN_OR_RETURN(Json j, parse_json(line));
  if (!j.is_object()) return invalid_argument("worker response is not a JSON object");
  WorkerResponse r;
  GQF_ASSIGN_OR_RETURN(r.ok, json_bool_at(j, "ok"));
  if (const Json* op = json_find(j, "op"); op != nullptr && op->is_string()) r.op = op->get<std::string>();
  if (!r.ok) {
    GQF_ASSIGN_OR_RETURN(r.error, json_string_at(j, "error"));
    return r;
  }
  GQF_ASSIGN_OR_RETURN(r.restart, json_bool_at(j, "restart"));
  if (r.op == "hello") {
    GQF_ASSIGN_OR_RETURN(const Json* env, json_object_at(j, "env"));
    GQF_ASSIGN_OR_RETURN(r.info.environment, environment_from_json(*env));
    GQF_ASSIGN_OR_RETURN(const Json* limits, json_object_at(j, "limits"));
    GQF_ASSIGN_OR_RETURN(r.info.limits, limits_from_json(*limits));
    GQF_ASSIGN_OR_RETURN(r.info.arch, json_string_at(j, "arch"));
  } else if (r.op == "measure") {
    MeasureResult& m = r.result;
    GQF_ASSIGN_OR_RETURN(r.id, json_int_at(j, "id"));
    GQF_ASSIGN_OR_RETURN(std::string status, json_string_at(j, "status"));
    GQF_ASSIGN_OR_RETURN(m.status, status_from_name(status));
    GQF_ASSIGN_OR_RETURN(m.message, json_string_at(j, "message"));
    GQF_ASSIGN_OR_RETURN(m.median_us, json_number_at(j, "median_us"));
    GQF_ASSIGN_OR_RETURN(m.min_us, json_number_at(j, "min_us"));
    GQF_ASSIGN_OR_RETURN(m.stddev_us, json_number_at(j, "stddev_us"));
    GQF_ASSIGN_OR_RETURN(m.repetitions, int_field(j, "repetitions"));
    GQF_ASSIGN_OR_RETURN(m.max_error, json_number_at(j, "max_error"));
    GQF_ASSIGN_OR_RETURN(m.error_bound, json_number_at(j, "error_bound"));
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

}  // namespace gqaforge::autotune
