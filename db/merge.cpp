// merge_databases: check every input read-only inside one snapshot each, then stream them into
// the output in batches.
#include "db/merge.h"

#include <filesystem>

namespace gqaforge::db {
namespace {

// True when `a` and `b` name the same existing file.
bool same_file(const std::string& a, const std::string& b) {
  std::error_code ec;
  return std::filesystem::equivalent(a, b, ec) && !ec;
}

}  // namespace

Result<MergeStats> merge_databases(const std::string& out, const std::vector<std::string>& inputs) {
  if (inputs.empty()) return invalid_argument("nothing to merge into '{}': no input databases", out);
  std::vector<std::unique_ptr<Database>> sources;
  sources.reserve(inputs.size());
  for (const std::string& input : inputs) {
    if (same_file(input, out)) continue;
    GQF_ASSIGN_OR_RETURN(std::unique_ptr<Database> db, Database::open(input, OpenMode::kReadOnly));
    // The rows checked here are the rows written below: one snapshot per input for both.
    GQF_RETURN_IF_ERROR(db->begin_snapshot());
    GQF_RETURN_IF_ERROR(db->check_contents());
    sources.push_back(std::move(db));
  }
  GQF_ASSIGN_OR_RETURN(std::unique_ptr<Database> target, Database::open(out, OpenMode::kReadWrite));
  std::vector<Database*> pointers;
  for (const auto& db : sources) pointers.push_back(db.get());
  return target->merge_from(pointers);
}

}  // namespace gqaforge::db
