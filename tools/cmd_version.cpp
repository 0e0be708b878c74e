// `gqaforge version`: prints the version and build commit.
#include <cstdio>

#include "core/build_info.h"
#include "tools/args.h"
#include "tools/commands.h"

namespace gqaforge::tools {
namespace {

CommandAction declare_version(CLI::App& app) {
  app.description("Prints the gqaforge version and the git commit it was built from.");
  return [](const Args&) {
    std::printf("gqaforge %s (%s)\n", gqaforge_version(), gqaforge_git_commit());
    return 0;
  };
}

}  // namespace
GQF_REGISTER_COMMAND("version", "print the version and build commit", 99, declare_version);
}  // namespace gqaforge::tools
