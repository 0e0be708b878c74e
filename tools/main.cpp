// gqaforge: entry point of the command-line tool. Dispatches to the registered subcommands.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>

#include <fmt/format.h>

#include "core/build_info.h"
#include "core/log.h"
#include "tools/args.h"
#include "tools/commands.h"

namespace gqaforge::cli {
namespace {

std::vector<Command>& registry() {
  static std::vector<Command> list;
  return list;
}

void print_help() {
  std::printf("usage: gqaforge <command> [flags]\n\n"
              "Generates, compiles, tunes and benchmarks grouped-query attention kernels, and\n"
              "searches for cost-optimal attention configurations.\n\ncommands:\n");
  size_t width = 0;
  for (const Command& c : commands()) {
    if (!c.hidden) width = std::max(width, std::strlen(c.name));
  }
  for (const Command& c : commands()) {
    if (!c.hidden) std::printf("  %-*s  %s\n", static_cast<int>(width), c.name, c.summary);
  }
  std::printf("\n`gqaforge <command> --help` describes a command's flags. Exit status: 0 success, 1 failure\n"
              "while working (I/O, device, compile), 2 bad usage or input, 3 a kernel gave a wrong result.\n");
}

}  // namespace

CommandRegistrar::CommandRegistrar(const Command& command) { registry().push_back(command); }

std::vector<Command> commands() {
  std::vector<Command> list = registry();
  std::sort(list.begin(), list.end(), [](const Command& a, const Command& b) { return a.order < b.order; });
  return list;
}

}  // namespace gqaforge::cli

int main(int argc, char** argv) {
  using namespace gqaforge::cli;
  (void)gqaforge::log_threshold();  // reads GQAFORGE_LOG now, warning about a value it does not know
  if (argc < 2) {
    print_help();
    return kUsageError;
  }
  std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    print_help();
    return 0;
  }
  if (name == "--version") {
    std::printf("gqaforge %s (%s)\n", gqaforge::gqaforge_version(), gqaforge::gqaforge_git_commit());
    return 0;
  }
  Args args(argv + 2, argv + argc);
  for (const Command& c : commands()) {
    if (name == c.name) return c.run(args);
  }
  return usage_error(fmt::format("unknown command '{}' (see gqaforge --help)", name));
}
