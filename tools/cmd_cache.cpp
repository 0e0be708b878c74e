// `gqaforge cache info|clear`: the on-disk compile cache.
#include <cstdio>
#include <memory>

#include "runtime/compile_cache.h"
#include "tools/args.h"
#include "tools/commands.h"
#include "tools/validators.h"

namespace gqaforge::tools {
namespace {

int run_cache(const std::string& action) {
  runtime::CompileCache cache;
  if (action == "info") {
    auto info = cache.info();
    if (!info.ok()) return report_failure(info.status());
    std::printf("cache    %s\nentries  %lld\nbytes    %lld\n", cache.dir().c_str(),
                static_cast<long long>(info->entries), static_cast<long long>(info->bytes));
    return 0;
  }
  if (action == "clear") {
    auto removed = cache.clear();
    if (!removed.ok()) return report_failure(removed.status());
    std::printf("removed %lld entries from %s\n", static_cast<long long>(*removed), cache.dir().c_str());
    return 0;
  }
  return report_failure(internal_error("cache action '{}' passed the parse", action));
}

CommandAction declare_cache(CLI::App& app) {
  app.description(
      "Shows or clears the compile cache ($GQAFORGE_CACHE_DIR, else $XDG_CACHE_HOME/gqaforge, "
      "else ~/.cache/gqaforge).");
  auto action = std::make_shared<std::string>();
  app.add_option("action", *action, "info or clear")->required()->check(one_of({"info", "clear"}));
  return [action](const Args&) { return run_cache(*action); };
}

}  // namespace
GQF_REGISTER_COMMAND("cache", "show or clear the compile cache", 40, declare_cache);
}  // namespace gqaforge::tools
