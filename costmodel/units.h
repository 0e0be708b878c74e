// The cost model's number formatting is the project's (core/units.h); these names keep the
// costmodel:: spelling working.
#pragma once

#include "core/units.h"

namespace gqaforge::costmodel {

using ::gqaforge::format_bytes;
using ::gqaforge::format_context;
using ::gqaforge::format_decimal;
using ::gqaforge::format_flops;
using ::gqaforge::format_percent;
using ::gqaforge::format_scale;
using ::gqaforge::format_si;
using ::gqaforge::format_time_us;

}  // namespace gqaforge::costmodel
