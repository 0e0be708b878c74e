// The tune worker protocol: the parent and a `gqaforge tune-worker` child exchange one JSON
// object per line over the child's stdin/stdout (logs go to stderr).
//
//   parent -> worker                                        worker -> parent
//   {"op":"hello"}                                          {"op":"hello","ok":true,"env":{...},
//                                                             "limits":{...},"arch":"sm_90a"}
//   {"op":"measure","id":7,"family":"decode",               {"op":"measure","id":7,"ok":true,
//    "problem":{...},"config":"block_n=64,...",              "status":"ok","message":"",
//    "kernel_key":"ab12...","seed":42,"repetitions":0,       "median_us":..,"min_us":..,"stddev_us":..,
//    "min_rep_ms":0}                                         "repetitions":15,"max_error":..,
//                                                            "error_bound":..,"restart":false}
//   {"op":"quit"}                                           (exits 0)
//
// A request the worker cannot parse gets {"ok":false,"error":"..."}. "restart":true means the
// device context is no longer usable: the worker exits after answering and the parent starts
// a new one. A worker that dies or stops answering is killed and restarted by the parent, and
// the variant it was measuring is recorded as launch_failed or timeout.
#pragma once

#include <cstdint>
#include <istream>
#include <ostream>
#include <string>
#include <string_view>

#include "autotune/backend.h"
#include "core/json.h"

namespace gqaforge::autotune {

struct WorkerRequest {
  std::string op;  // "hello" | "measure" | "quit"
  int64_t id = 0;
  Candidate candidate;     // measure only
  MeasureOptions options;  // measure only
};

struct WorkerResponse {
  std::string op;
  int64_t id = 0;
  bool ok = true;  // false: the request was malformed (see error)
  std::string error;
  MeasureResult result;  // measure
  BackendInfo info;      // hello
  bool restart = false;  // the worker exits after this answer
};

std::string encode_request(const WorkerRequest& request);
Result<WorkerRequest> parse_request(std::string_view line);
std::string encode_response(const WorkerResponse& response);
Result<WorkerResponse> parse_response(std::string_view line);

// JSON forms of the pieces (exposed for tests).
Json problem_to_json(const codegen::AttentionProblem& p);
Result<codegen::AttentionProblem> problem_from_json(const Json& j);
Json environment_to_json(const Environment& e);
Result<Environment> environment_from_json(const Json& j);
Json limits_to_json(const codegen::DeviceLimits& l);
Result<codegen::DeviceLimits> limits_from_json(const Json& j);

/// The worker's loop: answers requests from `in` on `out` with `backend` until "quit", end of
/// input, or an unhealthy backend. Returns the process exit status (0, or 3 after a fault).
int serve_worker(Backend& backend, std::istream& in, std::ostream& out);

}  // namespace gqaforge::autotune
