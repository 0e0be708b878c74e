// `gqaforge library info` and `library diff`: what a library holds and how two differ, as
// tables or JSON (tools/cmd_library_show.cpp). Declared here for cmd_library.cpp's registry.
#pragma once

#include <string>

#include "codegen/problem.h"
#include "library/contents.h"

namespace gqaforge::tools {

struct InfoFlags {
  std::string file;
  bool wide = false, json = false;
};
int run_info(const InfoFlags& flags);

struct DiffFlags {
  std::string a, b;
  bool wide = false, json = false;
};
int run_diff(const DiffFlags& flags);

/// "batch 5-16, kv_len 16385-65536" (prefill adds q_len).
std::string bucket_label(const library::Entry& entry, codegen::Phase phase);
/// Where the bucket was measured: "b16 kv32k" (prefill adds q).
std::string tuned_point(const library::Entry& entry, codegen::Phase phase);

}  // namespace gqaforge::tools
