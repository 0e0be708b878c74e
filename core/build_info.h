// Build provenance: version and git commit, compiled into one generated translation unit so
// a new commit relinks instead of rebuilding everything.
#pragma once

#include <string>

namespace gqaforge {

const char* gqaforge_version();
const char* gqaforge_git_commit();
/// "Release" or "Debug" (whether assertions are compiled out).
const char* gqaforge_build_type();
/// This machine's host name ("" if unknown).
std::string host_name();

}  // namespace gqaforge
