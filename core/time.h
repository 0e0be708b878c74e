// Wall-clock timestamps as rows and runs record them.
#pragma once

#include <string>

namespace gqaforge {

/// The current UTC time, ISO-8601 to the second: "2025-01-31T12:00:00Z".
std::string utc_timestamp();

}  // namespace gqaforge
