// The subcommand registry of the gqaforge CLI. Each subcommand lives in its own cmd_<name>.cpp
// and registers itself with GQF_REGISTER_COMMAND; main.cpp dispatches by name.
#pragma once

#include <string>
#include <vector>

namespace gqaforge::cli {

using Args = std::vector<std::string>;

// The ceilings throughputs are reported against (measured on the H200, docs/h200.md).
inline constexpr double kDecodeCeilingTBps = 4.58;   // decode K/V read
inline constexpr double kGemmCeilingTflops = 790.0;  // dense bf16 GEMM

struct Command {
  const char* name;
  const char* summary;
  int order;  // position in `gqaforge --help`
  int (*run)(const Args& args);
  bool hidden = false;  // internal: runs, but is not listed in `gqaforge --help`
};

/// All registered subcommands, sorted by `order` (hidden ones included).
std::vector<Command> commands();

struct CommandRegistrar {
  explicit CommandRegistrar(const Command& command);
};

}  // namespace gqaforge::cli

/// Registers `fn` as subcommand `name` (a string literal) of the CLI.
#define GQF_REGISTER_COMMAND(name, summary, order, fn) \
  static ::gqaforge::cli::CommandRegistrar gqf_registrar_##fn({name, summary, order, fn})

/// Registers an internal subcommand, not listed in `gqaforge --help` (e.g. tune's worker process).
#define GQF_REGISTER_HIDDEN_COMMAND(name, summary, order, fn) \
  static ::gqaforge::cli::CommandRegistrar gqf_registrar_##fn({name, summary, order, fn, true})
