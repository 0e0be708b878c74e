// `gqaforge tune-worker` (hidden): the measurement child of `gqaforge tune`. Reads one JSON
// request per line on stdin and answers on stdout (autotune/worker_protocol.h); a kernel that
// faults or hangs takes only this process down, and the parent starts a new one.
#include <iostream>
#include <optional>

#include "backends/cpu/cpu_backend.h"
#include "backends/cuda/cuda_backend.h"
#include "autotune/synthetic_backend.h"
#include "autotune/worker_protocol.h"
#include "core/strings.h"
#include "tools/args.h"
#include "tools/commands.h"
#include "tools/problem_flags.h"
#include "tools/validators.h"

namespace gqaforge::tools {
namespace {

struct WorkerFlags {
  std::string backend = "cuda";
  int device = 0;
  uint64_t seed = 1;
  std::optional<std::string> synthetic_faults;
  bool real_faults = false;
};

int run_tune_worker(const WorkerFlags& flags) {
  std::unique_ptr<autotune::Backend> backend;
  if (flags.backend == "cpu") {
    backend = std::make_unique<cpu::CpuBackend>();
  } else if (flags.backend == "synthetic") {
    autotune::SyntheticOptions so;
    so.seed = flags.seed;
    so.real_faults = flags.real_faults;
    if (const std::optional<std::string>& f = flags.synthetic_faults) {
      auto rates = autotune::parse_fault_rates(*f);
      if (!rates.ok()) return report_failure(rates.status());
      so.fault_rates = *rates;
    }
    backend = std::make_unique<autotune::SyntheticBackend>(so);
  } else {
    backends::cuda::CudaBackendOptions co;
    co.device = flags.device;
    auto b = backends::cuda::CudaBackend::open(co);
    if (!b.ok()) {
      // Answer the parent's hello with the reason rather than vanishing.
      std::string line;
      while (std::getline(std::cin, line)) {
        autotune::WorkerResponse r;
        r.ok = false;
        r.error = b.status().message();
        std::cout << autotune::encode_response(r) << '\n' << std::flush;
      }
      return kFailure;
    }
    backend = std::move(*b);
  }
  return autotune::serve_worker(*backend, std::cin, std::cout);
}

CommandAction declare_tune_worker(CLI::App& app) {
  app.description("Internal: the measurement process of `gqaforge tune` (line-oriented JSON on stdin/stdout).");
  auto f = std::make_shared<WorkerFlags>();
  app.add_option("--backend", f->backend, "what to measure with")
      ->type_name("cuda|cpu|synthetic")
      ->default_str("cuda")
      ->check(one_of({"cuda", "cpu", "synthetic"}));
  add_device_flag(app, f->device);
  app.add_option("--seed", f->seed, "synthetic landscape seed")
      ->type_name("N")
      ->default_str("1")
      ->transform(integer_in(0));
  app.add_option("--synthetic-faults", f->synthetic_faults, "synthetic fault rates")->type_name("S=F,...");
  add_switch(app, "--real-faults", f->real_faults, "synthetic: abort on launch_failed, hang on timeout");
  return [f](const Args&) { return run_tune_worker(*f); };
}

}  // namespace
GQF_REGISTER_HIDDEN_COMMAND("tune-worker", "(internal) measurement process of gqaforge tune", 98, declare_tune_worker);
}  // namespace gqaforge::tools
