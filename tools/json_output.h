// `--json` output of the CLI: every document is one JSON object that starts with
// "schema_version" (kJsonSchemaVersion, raised on any incompatible change) and "command".
// The schemas are documented in docs/json-output.md.
#pragma once

#include "core/json.h"

namespace gqaforge::tools {

inline constexpr int kJsonSchemaVersion = 1;

/// {"schema_version": 1, "command": "<command>"}, to which the command adds its members.
Json json_document(const char* command);
/// Prints the document (pretty-printed, '\n'-terminated) on stdout.
void print_json(const Json& doc);

}  // namespace gqaforge::tools
