// A small, strict JSON value type: parser with line/column errors and a writer with stable
// (insertion) key order and locale-independent number formatting. Used for loss models,
// presets and reports; not a general-purpose high-performance JSON library.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace gqaforge {

/// One JSON value. Objects keep their keys in insertion order (the writer emits them in that
/// order, so output is stable), and the parser rejects duplicate keys.
class Json {
 public:
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };
  using Array = std::vector<Json>;
  using Object = std::vector<std::pair<std::string, Json>>;

  Json() = default;  // null
  Json(std::nullptr_t) {}  // NOLINT(implicit)
  Json(bool value) : type_(Type::kBool), bool_(value) {}  // NOLINT(implicit)
  Json(double value) : type_(Type::kNumber), number_(value) {}  // NOLINT(implicit)
  Json(int value) : Json(static_cast<double>(value)) {}  // NOLINT(implicit)
  Json(int64_t value) : Json(static_cast<double>(value)) {}  // NOLINT(implicit)
  Json(const char* value) : type_(Type::kString), string_(value) {}  // NOLINT(implicit)
  Json(std::string value) : type_(Type::kString), string_(std::move(value)) {}  // NOLINT(implicit)
  Json(Array value) : type_(Type::kArray), array_(std::move(value)) {}  // NOLINT(implicit)

  /// An empty object (`{}`).
  static Json object();
  /// An empty array (`[]`).
  static Json array();

  /// Parses a whole document (RFC 8259: no comments, no trailing commas, no NaN). Errors name
  /// the line and column: "line 3, column 7: expected ',' or '}' after object member".
  static Result<Json> parse(std::string_view text);

  /// Serialises the value. indent < 0: one line; otherwise pretty-printed with that many
  /// spaces per level. Numbers use the shortest text that reads back to the same double.
  std::string dump(int indent = 2) const;

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::kNull; }
  bool is_bool() const { return type_ == Type::kBool; }
  bool is_number() const { return type_ == Type::kNumber; }
  bool is_string() const { return type_ == Type::kString; }
  bool is_array() const { return type_ == Type::kArray; }
  bool is_object() const { return type_ == Type::kObject; }

  /// Accessors; calling one on a value of another type is a programmer error (asserts).
  bool as_bool() const;
  double as_number() const;
  const std::string& as_string() const;
  const Array& as_array() const;
  const Object& as_object() const;
  Array& as_array();

  /// Object member lookup; nullptr when absent or when this is not an object.
  const Json* find(std::string_view key) const;
  /// Sets (replacing) an object member, keeping the original position of an existing key.
  Json& set(std::string_view key, Json value);
  /// Appends to an array.
  void push_back(Json value);
  /// Number of elements (array) or members (object); 0 otherwise.
  size_t size() const;

  // Typed member access for readers of configuration files: clear errors naming the key and
  // the type found ("key 'E' is a string, expected a number").
  Result<double> number_at(std::string_view key) const;
  Result<int64_t> int_at(std::string_view key) const;
  Result<std::string> string_at(std::string_view key) const;
  Result<bool> bool_at(std::string_view key) const;
  Result<const Json*> array_at(std::string_view key) const;
  Result<const Json*> object_at(std::string_view key) const;

 private:
  Type type_ = Type::kNull;
  bool bool_ = false;
  double number_ = 0;
  std::string string_;
  Array array_;
  Object object_;
};

/// Name of a JSON type for messages ("number", "object").
const char* json_type_name(Json::Type type);

/// Shortest round-trip text for a double; integers up to 2^53 print without a fraction.
/// Non-finite values print as `null` (JSON has no NaN or infinity).
std::string json_number_text(double value);

}  // namespace gqaforge
