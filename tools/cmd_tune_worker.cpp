// `gqaforge tune-worker` (hidden): the measurement child of `gqaforge tune`. Reads one JSON
// request per line on stdin and answers on stdout (autotune/worker_protocol.h); a kernel that
// faults or hangs takes only this process down, and the parent starts a new one.
#include <iostream>

#include "backends/cuda/cuda_backend.h"
#include "autotune/synthetic_backend.h"
#include "autotune/worker_protocol.h"
#include "core/strings.h"
#include "tools/args.h"
#include "tools/commands.h"

namespace gqaforge::cli {
namespace {

int run_tune_worker(const Args& args) {
  ArgParser p("gqaforge tune-worker",
              "Internal: the measurement process of `gqaforge tune` (line-oriented JSON on stdin/stdout).");
  p.add_flag("backend", "cuda|synthetic", "what to measure with", "cuda");
  p.add_flag("device", "N", "CUDA device ordinal", "0");
  p.add_flag("seed", "N", "synthetic landscape seed", "1");
  p.add_flag("synthetic-faults", "S=F,...", "synthetic fault rates");
  p.add_switch("real-faults", "synthetic: abort on launch_failed, hang on timeout");
  if (int rc = p.parse(args); rc >= 0) return rc;
  auto device = parse_int(p.get("device", "0"));
  if (!device.ok() || *device < 0) return usage_error("--device '" + p.get("device") + "' is not an ordinal");
  auto seed = parse_int(p.get("seed", "1"));
  if (!seed.ok() || *seed < 0) return usage_error("--seed '" + p.get("seed") + "' is not a non-negative integer");
  std::unique_ptr<tune::Backend> backend;
  const std::string kind = p.get("backend", "cuda");
  if (kind == "synthetic") {
    tune::SyntheticOptions so;
    so.seed = static_cast<uint64_t>(*seed);
    so.real_faults = p.get_switch("real-faults");
    if (auto f = p.get_optional("synthetic-faults")) {
      auto rates = tune::parse_fault_rates(*f);
      if (!rates.ok()) return report_failure(rates.status());
      so.fault_rates = *rates;
    }
    backend = std::make_unique<tune::SyntheticBackend>(so);
  } else if (kind == "cuda") {
    tune::CudaBackendOptions co;
    co.device = static_cast<int>(*device);
    auto b = tune::CudaBackend::open(co);
    if (!b.ok()) {
      // Answer the parent's hello with the reason rather than vanishing.
      std::string line;
      while (std::getline(std::cin, line)) {
        tune::WorkerResponse r;
        r.ok = false;
        r.error = b.status().message();
        std::cout << tune::encode_response(r) << '\n' << std::flush;
      }
      return kFailure;
    }
    backend = std::move(*b);
  } else {
    return usage_error("--backend '" + kind + "' is not cuda or synthetic");
  }
  return tune::serve_worker(*backend, std::cin, std::cout);
}

}  // namespace
GQF_REGISTER_HIDDEN_COMMAND("tune-worker", "(internal) measurement process of gqaforge tune", 98, run_tune_worker);
}  // namespace gqaforge::cli
