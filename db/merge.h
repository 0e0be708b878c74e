// Combining several measurement databases (one per GPU or host) into one file.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "db/database.h"

namespace gqaforge {

/// Merges the databases at `inputs` into the database at `out` (created if missing, else
/// added to). Every input is opened read-only and read completely before `out` is written,
/// and all of it goes in as one transaction: a bad input leaves `out` unchanged.
/// Environments are deduplicated by key, runs by uid (ids are remapped), measurements by
/// (env_key, problem, kernel_key), keeping the latest (see Database). An input that is the
/// same file as `out` is skipped.
Result<MergeStats> merge_databases(const std::string& out, const std::vector<std::string>& inputs);

}  // namespace gqaforge
