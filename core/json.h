// JSON for loss models, presets, the worker pipe and the CLI's --json output. The value type is
// nlohmann-json's ordered_json (objects keep insertion order); what is the project's own sits
// here: a parser that never throws and names the line and column of an error, the writer's
// stable layout, and typed member reads whose errors name the key and the type found.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/status.h"

namespace gqaforge {

/// One JSON value. Build with nlohmann's API (`Json::object()`, `j["k"] = v`, `push_back`);
/// read untrusted documents with the accessors below, which return a Status instead of
/// throwing. Write with dump_json(), not Json::dump() (its layout and numbers differ).
using Json = nlohmann::ordered_json;

/// Parses a whole document (RFC 8259: no comments, no trailing commas, no NaN, no duplicate
/// keys, at most 256 levels of nesting). Errors name the line and column:
/// "line 3, column 7: expected ':' after key 'b', found number literal".
Result<Json> parse_json(std::string_view text);

/// Serialises the value. indent < 0: one line; otherwise pretty-printed with that many spaces
/// per level, arrays of scalars kept on one line, and a final '\n'. Numbers as json_number_text.
std::string dump_json(const Json& value, int indent = 2);

/// Shortest round-trip text for a double; integers up to 2^53 print without a fraction.
/// Non-finite values print as `null` (JSON has no NaN or infinity).
std::string json_number_text(double value);

/// Object member lookup; nullptr when absent or when `object` is not an object.
const Json* json_find(const Json& object, std::string_view key);

// Typed member access for readers of configuration files: clear errors naming the key and the
// type found ("missing key 'E'", "key 'E' is a string, expected a number").
Result<double> json_number_at(const Json& object, std::string_view key);
/// A number with no fraction that fits an int64 ("key 'n' is 2.5, expected an integer").
Result<int64_t> json_int_at(const Json& object, std::string_view key);
Result<std::string> json_string_at(const Json& object, std::string_view key);
Result<bool> json_bool_at(const Json& object, std::string_view key);
Result<const Json*> json_array_at(const Json& object, std::string_view key);
Result<const Json*> json_object_at(const Json& object, std::string_view key);

}  // namespace gqaforge
