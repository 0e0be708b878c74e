// Build provenance: version and git commit, compiled into one generated translation unit so
// a new commit relinks instead of rebuilding everything.
#pragma once

namespace gqaforge {

const char* gqaforge_version();
const char* gqaforge_git_commit();

}  // namespace gqaforge
