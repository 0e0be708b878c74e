// `gqaforge tune`: autotunes the attention kernels of a grid of head configurations, head
// dims, batch sizes and lengths (or times the linear layers' GEMMs with --linear) and records
// every try in the measurement database. All flags are validated before the database is
// opened, so bad input exits 2 with one error line and leaves the database untouched.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <optional>

#include "backends/cpu/cpu_backend.h"
#include "backends/cuda/cuda_backend.h"
#include "autotune/grid.h"
#include "autotune/linear.h"
#include "autotune/linear_tuner.h"
#include "autotune/searcher.h"
#include "autotune/synthetic_backend.h"
#include "autotune/tuner.h"
#include "autotune/worker_backend.h"
#include "core/interrupt.h"
#include "core/strings.h"
#include "core/table.h"
#include "core/units.h"
#include "costmodel/presets.h"
#include "db/database.h"
#include "tools/args.h"
#include "tools/commands.h"
#include "tools/cpu_commands.h"
#include "tools/json_output.h"
#include "tools/problem_flags.h"
#include "tools/validators.h"

namespace gqaforge::tools {
namespace {

/// The flags as given (their syntax checked by the parse).
struct TuneFlags {
  ProblemFlags problem;
  std::string causal = "yes";
  bool buckets = false;
  std::string strategy = "guided";
  int64_t budget = 0;
  std::optional<double> time_budget_s;
  int64_t patience = 0;
  uint64_t seed = 1;
  int remeasure = 3;
  std::optional<int> repetitions;
  int compile_batch = 8;
  std::string db;
  std::optional<std::string> shard;
  std::string backend = "cuda";
  std::optional<std::string> isolation;
  int device = 0;
  double measure_timeout_s = 120, compile_timeout_s = 300;
  std::optional<std::string> synthetic_faults;
  bool real_faults = false, retry_failed = false, linear = false;
  std::optional<std::string> model, gemm;
  std::string tokens = "1,16,4k";
  bool quiet = false, wide = false, json = false;
};

/// Everything the flags say, validated.
struct TunePlan {
  std::vector<codegen::AttentionProblem> problems;
  std::vector<autotune::GemmShape> gemms;  // --linear
  autotune::TuneOptions options;
  std::string backend = "cuda";
  bool worker = true;
  int device = 0;
  double measure_timeout_s = 120;
  double compile_timeout_s = 300;
  autotune::SyntheticOptions synthetic;
  std::string db_path;
};

/// The linear layers' dims of a model: the one place a ModelShape becomes the tuner's input.
autotune::LinearDims linear_dims(const costmodel::ModelShape& s) {
  return {s.hidden, s.n_heads * s.head_dim, s.n_kv_heads * s.head_dim, s.ffn, s.vocab};
}

Result<TunePlan> plan_from_flags(const TuneFlags& f, const Args& args) {
  TunePlan plan;
  autotune::TuneOptions& o = plan.options;
  o.strategy = f.strategy;
  o.budget = f.budget;
  if (f.time_budget_s) o.time_budget_s = *f.time_budget_s;
  o.patience = f.patience;
  o.seed = f.seed;
  o.batch_size = f.compile_batch;
  o.remeasure_top = f.remeasure;
  if (f.repetitions) o.measure.repetitions = *f.repetitions;
  if (f.shard) {
    auto shard = autotune::parse_shard(*f.shard);
    if (!shard.ok()) return invalid_argument("--shard: {}", shard.status().message());
    o.shard = *shard;
  }
  o.show_progress = !f.quiet;
  o.command_line = "gqaforge";
  for (const std::string& a : args) o.command_line += " " + a;

  plan.backend = f.backend;
  const std::string isolation = f.isolation.value_or(plan.backend == "synthetic" ? "none" : "worker");
  plan.worker = isolation == "worker";
  plan.device = f.device;
  plan.measure_timeout_s = f.measure_timeout_s;
  plan.compile_timeout_s = f.compile_timeout_s;
  if (f.synthetic_faults) {
    auto rates = autotune::parse_fault_rates(*f.synthetic_faults);
    if (!rates.ok()) return invalid_argument("--synthetic-faults: {}", rates.status().message());
    plan.synthetic.fault_rates = *rates;
  }
  plan.synthetic.seed = o.seed;
  plan.synthetic.real_faults = f.real_faults;
  if (plan.synthetic.real_faults && (plan.backend != "synthetic" || !plan.worker)) {
    // In-process, a real fault aborts or hangs the tuner itself.
    return invalid_argument(
        "--real-faults needs --backend synthetic with --isolation worker (got --backend {}, "
        "--isolation {})",
        plan.backend, isolation);
  }
  o.retry_failed = f.retry_failed;
  plan.db_path = f.db;
  if (plan.db_path.empty()) return invalid_argument("--db is empty");

  if (f.linear) {
    if (!f.model && !f.gemm) return invalid_argument("--linear needs --model NAME[,NAME] or --gemm MxNxK[,...]");
    if (f.gemm) {
      auto shapes = autotune::parse_gemm_list(*f.gemm);
      if (!shapes.ok()) return invalid_argument("--gemm: {}", shapes.status().message());
      plan.gemms = *shapes;
    }
    if (f.model) {
      GQF_ASSIGN_OR_RETURN(std::vector<int64_t> tokens, parse_count_list(f.tokens));
      GQF_ASSIGN_OR_RETURN(costmodel::Presets presets, costmodel::Presets::bundled());
      for (const std::string& raw : split(*f.model, ',')) {
        auto shape = presets.find(trim(raw));
        if (!shape.ok()) return invalid_argument("--model: {}", shape.status().message());
        for (int64_t t : tokens) {
          for (autotune::GemmShape& g : autotune::model_gemms(linear_dims(*shape), t)) {
            g.name = shape->name + " " + g.name;
            plan.gemms.push_back(g);
          }
        }
      }
    }
    plan.gemms = autotune::unique_gemms(plan.gemms);
    return plan;
  }

  // Attention problems: the grid of the lists.
  GQF_ASSIGN_OR_RETURN(autotune::ProblemGrid grid, problem_lists_from_flags(f.problem));
  grid.causal = f.causal == "both" ? std::vector<bool>{true, false} : std::vector<bool>{f.causal == "yes"};
  grid.buckets = f.buckets;
  GQF_ASSIGN_OR_RETURN(plan.problems, autotune::grid_problems(grid));
  return plan;
}

std::string self_executable() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string("gqaforge");
}

Result<std::unique_ptr<autotune::Backend>> make_backend(const TunePlan& plan) {
  backends::cuda::CudaBackendOptions cuda;
  cuda.device = plan.device;
  cuda.compile_timeout_s = plan.compile_timeout_s;
  if (!plan.worker) {
    if (plan.backend == "cpu") return std::unique_ptr<autotune::Backend>(new cpu::CpuBackend());
    if (plan.backend == "synthetic")
      return std::unique_ptr<autotune::Backend>(new autotune::SyntheticBackend(plan.synthetic));
    GQF_ASSIGN_OR_RETURN(auto b, backends::cuda::CudaBackend::open(cuda));
    return std::unique_ptr<autotune::Backend>(std::move(b));
  }
  autotune::WorkerOptions w;
  w.command = {self_executable(), "tune-worker",
               "--backend",       plan.backend,
               "--device",        std::to_string(plan.device),
               "--seed",          std::to_string(plan.synthetic.seed)};
  if (plan.backend == "synthetic") {
    if (!plan.synthetic.fault_rates.empty()) {
      w.command.push_back("--synthetic-faults");
      w.command.push_back(autotune::format_fault_rates(plan.synthetic.fault_rates));
    }
    if (plan.synthetic.real_faults) w.command.push_back("--real-faults");
  }
  w.measure_timeout_s = plan.measure_timeout_s;
  autotune::WorkerBackend::LocalFactory local;
  if (plan.backend == "cpu") {
    // Keys and compiles in this process (objects land in the shared object cache), gates and
    // timings in the worker, which loads them from there.
    w.target = codegen::Target::kCpu;
    local = [](const autotune::BackendInfo&) -> Result<std::unique_ptr<autotune::Backend>> {
      return std::unique_ptr<autotune::Backend>(new cpu::CpuBackend());
    };
  } else if (plan.backend == "synthetic") {
    autotune::SyntheticOptions so = plan.synthetic;
    local = [so](const autotune::BackendInfo&) -> Result<std::unique_ptr<autotune::Backend>> {
      return std::unique_ptr<autotune::Backend>(new autotune::SyntheticBackend(so));
    };
  } else {
    local = [cuda](const autotune::BackendInfo& info) -> Result<std::unique_ptr<autotune::Backend>> {
      GQF_ASSIGN_OR_RETURN(auto b, backends::cuda::CudaBackend::compile_only(info, cuda));
      return std::unique_ptr<autotune::Backend>(std::move(b));
    };
  }
  return std::unique_ptr<autotune::Backend>(new autotune::WorkerBackend(w, local));
}

/// The heuristic default's time over the winner's, when both were timed.
std::optional<double> speedup_vs_default(const autotune::ProblemOutcome& o) {
  if (!o.best || !o.default_row || o.default_row->status != MeasureStatus::kOk) return std::nullopt;
  if (o.default_row->median_us <= 0 || o.best->median_us <= 0) return std::nullopt;
  return o.default_row->median_us / o.best->median_us;
}

// `cpu`: the host's rates in GB/s and GFLOP/s, without the H200's ceilings.
void print_table(const autotune::TuneReport& report, bool wide, bool cpu) {
  TextTable t;
  t.add_column("problem", TextTable::kLeft);
  t.add_column("tries");
  t.add_column("best");
  t.add_column("throughput");
  t.add_column("of ceiling", TextTable::kRight, 1);
  t.add_column("vs default");
  t.add_column("best config", TextTable::kLeft, 2);
  for (const autotune::ProblemOutcome& o : report.problems) {
    const std::string name = o.problem.name();
    if (o.skipped_by_shard) {
      t.add_row({name, "-", "another shard"});
      continue;
    }
    // Every try of the search, the ones whose stored result a resume reused included.
    const std::string tries = fmt::format("{}", o.tried + o.skipped);
    if (!o.best) {
      const char* why = o.stop_reason == "interrupted"                           ? "(interrupted: resume)"
                        : o.stop_reason.find("time budget") != std::string::npos ? "(time budget: resume)"
                                                                                 : "(no passing variant)";
      t.add_row({name, tries, "-", "-", "-", "-", why});
      continue;
    }
    const MeasurementRecord& b = *o.best;
    std::string throughput, ceiling;
    if (cpu) {
      throughput = cpu_rate_text(o.problem.phase == codegen::Phase::kDecode, b.tbps, b.tflops);
      ceiling = "-";
    } else if (o.problem.phase == codegen::Phase::kDecode) {
      throughput = fmt::format("{:.2f} TB/s", b.tbps);
      ceiling = format_percent(b.tbps / kDecodeCeilingTBps);
    } else {
      throughput = fmt::format("{:.0f} TFLOP/s", b.tflops);
      ceiling = format_percent(b.tflops / kGemmCeilingTflops);
    }
    std::string speedup = "-";
    if (const std::optional<double> s = speedup_vs_default(o)) {
      speedup = fmt::format("{:.2f}x", *s);
    } else if (o.default_row && o.default_row->status != MeasureStatus::kOk) {
      speedup = fmt::format("dflt {}", measure_status_name(o.default_row->status));
    }
    t.add_row({name, tries, format_time_us(b.median_us), throughput, ceiling, speedup, b.config});
  }
  std::printf("\n%s", t.render(wide ? 0 : kDefaultTableWidth).c_str());
  std::map<std::string, int64_t> totals;
  for (const autotune::ProblemOutcome& o : report.problems) {
    for (const auto& [s, n] : o.by_status) totals[s] += n;
  }
  std::string line;
  for (const auto& [s, n] : totals) line += fmt::format("{}{} {}", line.empty() ? "" : ", ", n, s);
  std::printf("\ntries by status: %s\n", line.empty() ? "none" : line.c_str());
  if (report.compile_cpu_s == 0 && report.compile_cache_hits == 0) {
    // The synthetic backend compiles nothing; say so instead of a kernel count.
    std::printf("time: %s wall, %s measuring (gate + timing), nothing compiled\n",
                format_duration(report.wall_s).c_str(), format_duration(report.measure_s).c_str());
  } else {
    std::printf(
        "time: %s wall, %s measuring (gate + timing), %s CPU compiling %lld kernel(s) (%lld compile cache "
        "hit(s))\n",
        format_duration(report.wall_s).c_str(), format_duration(report.measure_s).c_str(),
        format_duration(report.compile_cpu_s).c_str(), static_cast<long long>(report.kernels_compiled),
        static_cast<long long>(report.compile_cache_hits));
  }
  int64_t reused = 0;
  std::map<std::string, std::vector<std::string>> stopped;  // reason -> problems
  for (const autotune::ProblemOutcome& o : report.problems) {
    reused += o.skipped;
    if (!o.stop_reason.empty()) stopped[o.stop_reason].push_back(o.problem.name());
  }
  if (reused > 0) {
    std::printf("resumed: %lld tries came from earlier runs' rows (not measured again)\n",
                static_cast<long long>(reused));
  }
  for (const auto& [reason, names] : stopped) {
    if (names.size() == 1) {
      std::printf("%s: stopped: %s\n", names[0].c_str(), reason.c_str());
    } else {
      std::printf("stopped: %s (%zu problems)\n", reason.c_str(), names.size());
    }
  }
  if (report.time_budget_hit) std::printf("the time budget ended the sweep; run the same command again to resume\n");
  if (report.interrupted)
    std::printf("interrupted: every finished try is stored; run the same command again to resume\n");
}

Json record_json(const MeasurementRecord& r) {
  Json j = Json::object();
  j["config"] = r.config;
  j["kernel_key"] = r.kernel_key;
  j["status"] = measure_status_name(r.status);
  j["median_us"] = r.status == MeasureStatus::kOk ? Json(r.median_us) : Json();
  j["tbps"] = r.tbps > 0 ? Json(r.tbps) : Json();
  j["tflops"] = r.tflops > 0 ? Json(r.tflops) : Json();
  j["measured_at"] = r.measured_at;
  return j;
}

/// The `--json` document of a sweep (docs/json-output.md, `tune`).
Json tune_json(const TunePlan& plan, const autotune::TuneReport& report) {
  Json doc = json_document("tune");
  Json settings = Json::object();
  settings["strategy"] = plan.options.strategy;
  settings["budget"] = plan.options.budget;
  settings["time_budget_s"] = plan.options.time_budget_s > 0 ? Json(plan.options.time_budget_s) : Json();
  settings["shard"] = plan.options.shard.label();
  settings["retry_failed"] = plan.options.retry_failed;
  settings["backend"] = plan.backend;
  settings["database"] = plan.db_path;
  doc["settings"] = std::move(settings);
  doc["env_key"] = report.env_key;
  doc["run_id"] = report.run_id;
  Json problems = Json::array();
  for (const autotune::ProblemOutcome& o : report.problems) {
    Json p = Json::object();
    p["problem"] = o.problem.name();
    p["family"] = o.family;
    p["another_shard"] = o.skipped_by_shard;
    p["space_points"] = o.space_points;
    p["valid_points"] = o.valid_points;
    p["tries"] = o.tried + o.skipped;
    p["measured"] = o.tried;
    p["reused"] = o.skipped;
    p["waited"] = o.waited;
    Json by_status = Json::object();
    for (const auto& [status, n] : o.by_status) by_status[status] = n;
    p["by_status"] = std::move(by_status);
    p["best"] = o.best ? record_json(*o.best) : Json();
    p["default"] = o.default_row ? record_json(*o.default_row) : Json();
    const std::optional<double> speedup = speedup_vs_default(o);
    p["speedup_vs_default"] = speedup ? Json(*speedup) : Json();
    p["stop_reason"] = o.stop_reason.empty() ? Json() : Json(o.stop_reason);
    problems.push_back(std::move(p));
  }
  doc["problems"] = std::move(problems);
  Json time = Json::object();
  time["wall_s"] = report.wall_s;
  time["measure_s"] = report.measure_s;
  time["compile_cpu_s"] = report.compile_cpu_s;
  time["kernels_compiled"] = report.kernels_compiled;
  time["compile_cache_hits"] = report.compile_cache_hits;
  doc["time"] = std::move(time);
  doc["time_budget_hit"] = report.time_budget_hit;
  doc["interrupted"] = report.interrupted;
  return doc;
}

int run_linear(const TunePlan& plan) {
  // The device first: without one the database is not even created.
  backends::cuda::CudaBackendOptions cuda;
  cuda.device = plan.device;
  auto backend = backends::cuda::CudaBackend::open(cuda);
  if (!backend.ok()) return report_failure(backend.status());
  auto db = db::Database::open(plan.db_path);
  if (!db.ok()) return report_failure(db.status());
  autotune::LinearTuneOptions options;
  options.measure = plan.options.winner_measure;
  options.show_progress = plan.options.show_progress;
  options.command_line = plan.options.command_line;
  std::printf("%-28s %8s %8s %8s %10s %12s %8s\n", "gemm", "M", "N", "K", "us", "TFLOP/s", "ceiling");
  install_interrupt_handlers();
  auto print_row = [](const autotune::GemmShape& g, const MeasurementRecord& row) {
    if (row.status != MeasureStatus::kOk) {
      std::printf("%-28s %8ld %8ld %8ld  %s: %s\n", g.name.c_str(), long(g.m), long(g.n), long(g.k),
                  measure_status_name(row.status), row.message.c_str());
      return row.message.find("libcublasLt") == std::string::npos;  // absent: every shape would fail
    }
    std::printf("%-28s %8ld %8ld %8ld %10.2f %12.1f %7.1f%%\n", g.name.c_str(), long(g.m), long(g.n), long(g.k),
                row.median_us, row.tflops, 100 * row.tflops / kGemmCeilingTflops);
    return true;
  };
  auto report = autotune::tune_linear(**backend, **db, plan.gemms, options, print_row);
  if (!report.ok()) return report_failure(report.status());
  return report->failures == 0 ? 0 : kFailure;
}

int run_tune(const TuneFlags& f, const Args& args) {
  auto plan = plan_from_flags(f, args);
  if (!plan.ok()) return report_failure(plan.status());
  if (plan->gemms.empty() && plan->problems.empty()) return usage_error("nothing to tune");

  if (!plan->gemms.empty()) return run_linear(*plan);

  // Start the backend (and its worker) before touching the database: a machine without a
  // usable device fails here and leaves no file behind.
  auto backend = make_backend(*plan);
  if (!backend.ok()) return report_failure(backend.status());
  if (auto info = (*backend)->info(); !info.ok()) return report_failure(info.status());
  std::error_code size_error;
  const bool fresh =
      !std::filesystem::exists(plan->db_path) || std::filesystem::file_size(plan->db_path, size_error) == 0;
  auto db = db::Database::open(plan->db_path);
  if (!db.ok()) return report_failure(db.status());
  // Only a new or empty file becomes a database; say so, since a typo in --db would otherwise
  // go unnoticed (an existing file of anything else is refused above).
  if (fresh) std::fprintf(stderr, "gqaforge: created the measurement database '%s'\n", plan->db_path.c_str());
  const bool json = f.json;
  // With --json, stdout carries the document alone.
  std::fprintf(json ? stderr : stdout, "tuning %zu problem(s), strategy %s%s, database %s\n", plan->problems.size(),
               plan->options.strategy.c_str(),
               plan->options.shard.count > 1 ? (", shard " + plan->options.shard.label()).c_str() : "",
               plan->db_path.c_str());
  std::fflush(stdout);
  // SIGINT/SIGTERM stop the sweep between tries (a second one ends the process at once).
  install_interrupt_handlers();
  autotune::Tuner tuner(**backend, **db, plan->options);
  auto report = tuner.run(plan->problems);
  if (!report.ok()) return report_failure(report.status());
  if (json) {
    print_json(tune_json(*plan, *report));
  } else {
    print_table(*report, f.wide, plan->backend == "cpu");
  }
  if (!(*db)->sink_status().ok()) return report_failure((*db)->sink_status());
  if (report->interrupted) return 128 + (interrupt_signal() != 0 ? interrupt_signal() : SIGINT);
  return 0;
}

CommandAction declare_tune(CLI::App& app) {
  app.description(
      "Autotunes attention kernels: for every problem of the grid, searches the kernel family's config "
      "space, gates every variant for correctness, times it, and records every try (with its status) in "
      "the measurement database; the winners are re-measured and marked best. Running the same command "
      "again resumes (measured variants are skipped). With --linear, times the bf16 GEMMs of model "
      "presets or explicit shapes with cuBLASLt.");
  auto f = std::make_shared<TuneFlags>();
  add_problem_flags(app, f->problem, ProblemForm::kLists);
  app.add_option("--causal", f->causal, "prefill mask (decode is always causal)")
      ->type_name("yes|no|both")
      ->default_str("yes")
      ->check(one_of({"yes", "no", "both"}));
  add_switch(app, "--buckets", f->buckets, "tune the representatives of the batch/kv-len buckets covering the lists");
  app.add_option("--strategy", f->strategy, "exhaustive, random or guided")
      ->type_name("NAME")
      ->default_str("guided")
      ->check(one_of(std::vector<std::string>(std::begin(autotune::kStrategies), std::end(autotune::kStrategies))));
  app.add_option("--budget", f->budget, "tries per problem (random: the sample size); 0 = no limit")
      ->type_name("N")
      ->default_str("0")
      ->transform(integer_in(0));
  app.add_option("--time-budget", f->time_budget_s, "wall time of the whole sweep, e.g. 10m")
      ->type_name("DURATION")
      ->transform(duration());
  app.add_option("--patience", f->patience, "stop a problem after K tries without improvement; 0 = off")
      ->type_name("K")
      ->default_str("0")
      ->transform(integer_in(0));
  app.add_option("--seed", f->seed, "random sampling and correctness-gate inputs")
      ->type_name("N")
      ->default_str("1")
      ->transform(integer_in(0));
  app.add_option("--remeasure", f->remeasure, "winners re-measured before the best is marked")
      ->type_name("N")
      ->default_str("3")
      ->transform(integer_in(1, 100));
  app.add_option("--repetitions", f->repetitions, "timed repetitions per try (winners get the full protocol)")
      ->type_name("N")
      ->default_str(std::to_string(autotune::TuneOptions{}.measure.repetitions))
      ->transform(integer_in(1, 10000));
  app.add_option("--compile-batch", f->compile_batch, "variants compiled while the previous batch is measured")
      ->type_name("N")
      ->default_str("8")
      ->transform(integer_in(1, 1024));
  add_database_flag(app, f->db);
  app.add_option("--shard", f->shard, "measure only slice I of N of the sweep (0-based)")->type_name("I/N");
  app.add_option("--backend", f->backend,
                 "where to measure (cpu: generated CPU kernels on this host; synthetic: a deterministic model)")
      ->type_name("cuda|cpu|synthetic")
      ->default_str("cuda")
      ->check(one_of({"cuda", "cpu", "synthetic"}));
  app.add_option("--isolation", f->isolation, "measure in a restartable child process")
      ->type_name("worker|none")
      ->default_str("worker for cuda and cpu")
      ->check(one_of({"worker", "none"}));
  add_device_flag(app, f->device);
  app.add_option("--measure-timeout", f->measure_timeout_s, "per variant, in the worker")
      ->type_name("DURATION")
      ->default_str("120s")
      ->transform(duration());
  app.add_option("--compile-timeout", f->compile_timeout_s, "per variant")
      ->type_name("DURATION")
      ->default_str("300s")
      ->transform(duration());
  app.add_option("--synthetic-faults", f->synthetic_faults,
                 "synthetic backend: fraction of variants per failure status")
      ->type_name("S=F,...");
  add_switch(app, "--real-faults", f->real_faults, "synthetic backend in a worker: crash and hang for real");
  add_switch(app, "--retry-failed", f->retry_failed,
             "resume measures launch_failed and timeout rows again (default: reuse every stored row)");
  add_switch(app, "--linear", f->linear, "time linear-layer GEMMs with cuBLASLt instead of attention");
  app.add_option("--model", f->model, "--linear: model presets whose QKV, O, FFN and LM-head GEMMs to time")
      ->type_name("LIST");
  app.add_option("--tokens", f->tokens, "--linear with --model: token counts M")
      ->type_name("LIST")
      ->default_str("1,16,4k")
      ->check(positive_count_list());
  app.add_option("--gemm", f->gemm, "--linear: explicit MxNxK shapes")->type_name("LIST");
  add_switch(app, "--quiet", f->quiet, "no progress bar");
  add_switch(app, "--wide", f->wide, "every column of the summary, however wide");
  add_switch(app, "--json", f->json, "print the summary as JSON (docs/json-output.md)");
  return [f](const Args& args) { return run_tune(*f, args); };
}

}  // namespace
GQF_REGISTER_COMMAND("tune", "autotune kernels and record every try in the database", 45, declare_tune);
}  // namespace gqaforge::tools
