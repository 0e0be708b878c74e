// The flags several commands share, declared once: the problem flags of the kernel subcommands
// (--phase --heads --head-dim --dtype --batch --q-len --kv-len; `tune` takes comma lists of
// them) and the measurement database (--db, default $GQAFORGE_DB).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "autotune/grid.h"
#include "codegen/problem.h"
#include "tools/args.h"

namespace gqaforge::tools {

/// The values as given (validated by the parse); absent ones keep their defaults.
struct ProblemFlags {
  std::string phase = "decode";
  std::string heads = "32:8";
  std::string head_dim = "128";
  std::string dtype = "bf16";
  std::string batch = "1";
  std::optional<std::string> q_len;  // default: 1 for decode; 4k (one problem) or = kv-len (tune)
  std::string kv_len = "4k";
};

/// One problem (emit, compile, check, bench) or comma lists of each value (tune's grid).
enum class ProblemForm { kOne, kLists };

void add_problem_flags(CLI::App& app, ProblemFlags& flags, ProblemForm form);

/// The problem of kOne flags, with `causal`, validated; errors name the bad value.
Result<codegen::AttentionProblem> problem_from_flags(const ProblemFlags& flags, bool causal);

/// The lists of kLists flags, as tune's grid (its masks and buckets left at their defaults).
Result<autotune::ProblemGrid> problem_lists_from_flags(const ProblemFlags& flags);

/// --causal, --config and (`with_family`) --family of the kernel subcommands.
struct KernelFlags {
  bool causal = false;
  std::string config;  // "" = the heuristic default
  std::string family;  // "" = the problem's phase
};
void add_kernel_flags(CLI::App& app, KernelFlags& flags, bool with_family = true);

/// --causal of one problem (the switch add_kernel_flags declares, for commands without --config).
void add_causal_flag(CLI::App& app, bool& causal);

/// --backend cuda|cpu: where check and bench run the kernel (cpu: the CPU backend module).
CLI::Option* add_backend_flag(CLI::App& app, std::string& backend);

/// --device N: a CUDA device ordinal (default 0).
CLI::Option* add_device_flag(CLI::App& app, int& device);

/// --db FILE: the measurement database, default $GQAFORGE_DB, else ./gqaforge.sqlite.
CLI::Option* add_database_flag(CLI::App& app, std::string& path, const std::string& help = "measurement database");

}  // namespace gqaforge::tools
