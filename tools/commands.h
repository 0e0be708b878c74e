// The subcommand registry of the gqaforge CLI. Each subcommand lives in its own cmd_<name>.cpp
// and registers itself with GQF_REGISTER_COMMAND; main.cpp makes each one a CLI11 subcommand.
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace gqaforge::tools {

/// The whole command line after the program name ("tune", "--heads", "8:1", ...).
using Args = std::vector<std::string>;
/// Runs a command after a successful parse, given the command line, and returns the exit status.
using CommandAction = std::function<int(const Args& args)>;

// The ceilings throughputs are reported against (measured on the H200, docs/h200.md).
inline constexpr double kDecodeCeilingTBps = 4.58;   // decode K/V read
inline constexpr double kGemmCeilingTflops = 790.0;  // dense bf16 GEMM

struct Command {
  const char* name;
  const char* summary;
  int order;  // position in `gqaforge --help`
  /// Declares the command's flags on its subcommand `app` and returns what runs it; the flag
  /// values live in the action's captures.
  CommandAction (*declare)(CLI::App& app);
  bool hidden = false;  // internal: runs, but is not listed in `gqaforge --help`
};

/// All registered subcommands, sorted by `order` (hidden ones included).
std::vector<Command> commands();

/// Parses `args` (the command line after "gqaforge") and runs the command it names; returns
/// the exit status. `demo` runs `search` through it.
int run_gqaforge(const Args& args);

/// The action of a declare function whose flags `flags` holds: runs `run` on them.
template <typename Flags>
CommandAction action(std::shared_ptr<Flags> flags, int (*run)(const Flags&)) {
  return [flags, run](const Args&) { return run(*flags); };
}

/// One subcommand of a command group (`db`, `library`): its name, its line in the group's help
/// and the function that declares its flags.
struct Subcommand {
  const char* name;
  const char* summary;
  CommandAction (*declare)(CLI::App& app);
};

/// Declares `subcommands` on the group `app` (the command `group`), a hidden `help` that prints
/// the group's help, and a footer pointing at each subcommand's --help. The action runs the
/// subcommand that was parsed; without one it is a usage error listing them.
CommandAction declare_group(CLI::App& app, const std::string& group, std::span<const Subcommand> subcommands);

struct CommandRegistrar {
  explicit CommandRegistrar(const Command& command);
};

}  // namespace gqaforge::tools

/// Registers `declare` as subcommand `name` (a string literal) of the CLI.
#define GQF_REGISTER_COMMAND(name, summary, order, declare) \
  static ::gqaforge::tools::CommandRegistrar gqf_registrar_##declare({name, summary, order, declare})

/// Registers an internal subcommand, not listed in `gqaforge --help` (e.g. tune's worker process).
#define GQF_REGISTER_HIDDEN_COMMAND(name, summary, order, declare) \
  static ::gqaforge::tools::CommandRegistrar gqf_registrar_##declare({name, summary, order, declare, true})
