// Combining several measurement databases (one per GPU or host) into one file.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "db/database.h"

namespace gqaforge::db {

/// Merges the databases at `inputs` into the database at `out` (created if missing, else
/// added to). Every input is opened read-only and checked completely (Database::
/// check_contents) before `out` is opened or created, so a bad input leaves `out` unchanged
/// (and uncreated). The rows are then streamed from the same snapshot of each input, never all
/// in memory, and written in short batches (Database::merge): a tuner writing `out` meanwhile
/// loses nothing, and a merge interrupted part-way is completed by running it again.
/// Environments are deduplicated by key, runs by uid (ids are remapped), measurements by
/// (env_key, problem, kernel_key), keeping the latest (see Database); a row `out` already holds
/// is counted unchanged and not rewritten. An input that is the same file as `out` is skipped.
Result<MergeStats> merge_databases(const std::string& out, const std::vector<std::string>& inputs);

}  // namespace gqaforge::db
