// gqaforge: entry point of the command-line tool. Every registered command is a CLI11
// subcommand of one app; the parsed one runs.
#include <algorithm>
#include <cstdio>
#include <string>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/build_info.h"
#include "core/log.h"
#include "tools/args.h"
#include "tools/commands.h"

namespace gqaforge::tools {
namespace {

std::vector<Command>& registry() {
  static std::vector<Command> list;
  return list;
}

}  // namespace

CommandRegistrar::CommandRegistrar(const Command& command) {
  registry().push_back(command);
}

std::vector<Command> commands() {
  std::vector<Command> list = registry();
  std::sort(list.begin(), list.end(), [](const Command& a, const Command& b) { return a.order < b.order; });
  return list;
}

CommandAction declare_group(CLI::App& app, const std::string& group, std::span<const Subcommand> subcommands) {
  std::vector<std::pair<CLI::App*, CommandAction>> subs;
  std::vector<std::string> names;
  for (const Subcommand& s : subcommands) {
    CLI::App* sub = add_command(app, s.name, s.summary);
    subs.emplace_back(sub, s.declare(*sub));
    names.emplace_back(s.name);
  }
  CLI::App* help = add_command(app, "help", "the same as --help", /*hidden=*/true);
  // After the subcommands: they inherit the footer of their parent at creation.
  app.footer(fmt::format("`gqaforge {} <subcommand> --help` describes its flags.", group));
  const std::string missing =
      fmt::format("{}: missing subcommand ({}; see gqaforge {} --help)", group, fmt::join(names, ", "), group);
  return [subs, help, &app, group, missing](const Args& args) {
    for (const auto& [sub, run] : subs) {
      if (sub->parsed()) return run(args);
    }
    if (help->parsed()) {
      const std::string text = app.get_formatter()->make_help(&app, "gqaforge " + group, CLI::AppFormatMode::Normal);
      std::fputs(text.c_str(), stdout);
      return 0;
    }
    return usage_error(missing);
  };
}

int run_gqaforge(const Args& args) {
  CLI::App app(
      "Generates, compiles, tunes and benchmarks grouped-query attention kernels, and searches for "
      "cost-optimal attention configurations.",
      "gqaforge");
  configure_root(app);
  std::vector<std::pair<CLI::App*, CommandAction>> actions;
  CLI::App* help = nullptr;
  try {
    app.set_version_flag("--version", fmt::format("gqaforge {} ({})", gqaforge_version(), gqaforge_git_commit()),
                         "print the version and build commit");
    for (const Command& c : commands()) {
      CLI::App* sub = add_command(app, c.name, c.summary, c.hidden);
      actions.emplace_back(sub, c.declare(*sub));
    }
    help = add_command(app, "help", "the same as --help", /*hidden=*/true);
    // Set last: subcommands inherit the footer of their parent at creation.
    app.footer(
        "`gqaforge <command> --help` describes a command's flags. Exit status: 0 success, 1 failure "
        "while working (I/O, device, compile), 2 bad usage or input, 3 a kernel gave a wrong result.");
    std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 takes them last first
    app.parse(reversed);
  } catch (const CLI::Error& e) {
    return parse_error_status(app, e);
  }
  for (const auto& [sub, run] : actions) {
    if (sub->parsed()) return run(args);
  }
  // The root's own help (app.help() would describe the parsed `help` subcommand).
  std::fputs(app.get_formatter()->make_help(&app, app.get_name(), CLI::AppFormatMode::Normal).c_str(), stdout);
  return help->parsed() ? 0 : kUsageError;  // without a command, the help is a usage error
}

}  // namespace gqaforge::tools

int main(int argc, char** argv) {
  (void)gqaforge::log_threshold();  // reads GQAFORGE_LOG now, warning about a value it does not know
  return gqaforge::tools::run_gqaforge(gqaforge::tools::Args(argv + 1, argv + argc));
}
