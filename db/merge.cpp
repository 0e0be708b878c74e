// merge_databases: read every input read-only, then one transaction into the output.
#include "db/merge.h"

#include <filesystem>

namespace gqaforge {
namespace {

// True when `a` and `b` name the same existing file.
bool same_file(const std::string& a, const std::string& b) {
  std::error_code ec;
  return std::filesystem::equivalent(a, b, ec) && !ec;
}

}  // namespace

Result<MergeStats> merge_databases(const std::string& out, const std::vector<std::string>& inputs) {
  if (inputs.empty())
    return invalid_argument("nothing to merge into '{}': no input databases", out);
  std::vector<DbContents> parts;
  parts.reserve(inputs.size());
  for (const std::string& input : inputs) {
    if (same_file(input, out)) continue;
    GQF_ASSIGN_OR_RETURN(std::unique_ptr<Database> db, Database::open(input, OpenMode::kReadOnly));
    GQF_ASSIGN_OR_RETURN(DbContents contents, db->contents());
    parts.push_back(std::move(contents));
  }
  GQF_ASSIGN_OR_RETURN(std::unique_ptr<Database> target, Database::open(out, OpenMode::kReadWrite));
  return target->merge(parts);
}

}  // namespace gqaforge
