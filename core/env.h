// Settings read from the environment. Every variable is spelled GQAFORGE_<NAME>; the older
// GQF_<NAME> spelling of the calibration and benchmark settings is still read, with a one-time
// deprecation warning, so existing scripts keep working.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace gqaforge {

/// GQAFORGE_<name> when set and non-empty, else GQF_<name> (warning once per name on stderr),
/// else nullopt. `name` is the part after the prefix: env_setting("CAL_UNITS").
std::optional<std::string> env_setting(std::string_view name);

/// env_setting() read as a finite number; an unparsable value is an error naming the variable
/// and the value. nullopt when unset.
Result<std::optional<double>> env_number(std::string_view name);

}  // namespace gqaforge
