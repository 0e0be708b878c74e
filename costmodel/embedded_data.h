// Data files embedded into the binary at build time (presets, the default loss model), so
// `gqaforge cost` and `gqaforge search` work without the source tree.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

namespace gqaforge::costmodel {

/// Contents of data/<name> as it was at build time ("presets/models.json"), or nullopt.
std::optional<std::string_view> embedded_file(std::string_view name);

/// Names of all embedded files, in build order.
std::vector<std::string_view> embedded_file_names();

}  // namespace gqaforge::costmodel
