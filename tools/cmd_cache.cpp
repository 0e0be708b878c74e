// `gqaforge cache info|clear`: the on-disk compile cache.
#include <cstdio>

#include "runtime/compile_cache.h"
#include "tools/args.h"
#include "tools/commands.h"

namespace gqaforge::cli {
namespace {

int run_cache(const Args& args) {
  ArgParser p("gqaforge cache",
              "Shows or clears the compile cache ($GQAFORGE_CACHE_DIR, else $XDG_CACHE_HOME/gqaforge,\n"
              "else ~/.cache/gqaforge).");
  p.add_positional("action", "info or clear");
  if (int rc = p.parse(args); rc >= 0) return rc;
  std::string action = p.positionals()[0];
  rt::CompileCache cache;
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
  return usage_error("gqaforge cache: unknown action '" + action + "' (expected info or clear)");
}

}  // namespace
GQF_REGISTER_COMMAND("cache", "show or clear the compile cache", 40, run_cache);
}  // namespace gqaforge::cli
