// JSON value, strict recursive-descent parser and deterministic writer.
#include "core/json.h"

#include <cassert>
#include <charconv>
#include <cmath>
#include <limits>

namespace gqaforge {

const char* json_type_name(Json::Type type) {
  switch (type) {
    case Json::Type::kNull: return "null";
    case Json::Type::kBool: return "boolean";
    case Json::Type::kNumber: return "number";
    case Json::Type::kString: return "string";
    case Json::Type::kArray: return "array";
    case Json::Type::kObject: return "object";
  }
  return "unknown";
}

std::string json_number_text(double value) {
  if (!std::isfinite(value)) return "null";
  if (value == std::floor(value) && std::fabs(value) <= 9007199254740992.0) {
    if (value == 0) return "0";  // also folds -0
    return fmt::format("{}", static_cast<int64_t>(value));
  }
  // fmt's "{}" for double is the shortest round-trip representation and ignores the locale.
  return fmt::format("{}", value);
}

Json Json::object() {
  Json j;
  j.type_ = Type::kObject;
  return j;
}

Json Json::array() {
  Json j;
  j.type_ = Type::kArray;
  return j;
}

bool Json::as_bool() const {
  assert(is_bool());
  return bool_;
}
double Json::as_number() const {
  assert(is_number());
  return number_;
}
const std::string& Json::as_string() const {
  assert(is_string());
  return string_;
}
const Json::Array& Json::as_array() const {
  assert(is_array());
  return array_;
}
Json::Array& Json::as_array() {
  assert(is_array());
  return array_;
}
const Json::Object& Json::as_object() const {
  assert(is_object());
  return object_;
}

const Json* Json::find(std::string_view key) const {
  if (!is_object()) return nullptr;
  for (const auto& [k, v] : object_) {
    if (k == key) return &v;
  }
  return nullptr;
}

Json& Json::set(std::string_view key, Json value) {
  assert(is_object());
  for (auto& [k, v] : object_) {
    if (k == key) {
      v = std::move(value);
      return v;
    }
  }
  object_.emplace_back(std::string(key), std::move(value));
  return object_.back().second;
}

void Json::push_back(Json value) {
  assert(is_array());
  array_.push_back(std::move(value));
}

size_t Json::size() const {
  if (is_array()) return array_.size();
  if (is_object()) return object_.size();
  return 0;
}

namespace {

Status type_error(std::string_view key, const Json& found, const char* expected) {
  return invalid_argument("key '{}' is {} {}, expected {}", key,
                          found.type() == Json::Type::kArray || found.type() == Json::Type::kObject
                              ? "an"
                              : "a",
                          json_type_name(found.type()), expected);
}

}  // namespace

Result<double> Json::number_at(std::string_view key) const {
  const Json* v = find(key);
  if (v == nullptr) return invalid_argument("missing key '{}'", key);
  if (!v->is_number()) return type_error(key, *v, "a number");
  return v->number_;
}

Result<int64_t> Json::int_at(std::string_view key) const {
  GQF_ASSIGN_OR_RETURN(double value, number_at(key));
  if (value != std::floor(value) || std::fabs(value) > 9007199254740992.0) {
    return invalid_argument("key '{}' is {}, expected an integer", key, json_number_text(value));
  }
  return static_cast<int64_t>(value);
}

Result<std::string> Json::string_at(std::string_view key) const {
  const Json* v = find(key);
  if (v == nullptr) return invalid_argument("missing key '{}'", key);
  if (!v->is_string()) return type_error(key, *v, "a string");
  return v->string_;
}

Result<bool> Json::bool_at(std::string_view key) const {
  const Json* v = find(key);
  if (v == nullptr) return invalid_argument("missing key '{}'", key);
  if (!v->is_bool()) return type_error(key, *v, "a boolean");
  return v->bool_;
}

Result<const Json*> Json::array_at(std::string_view key) const {
  const Json* v = find(key);
  if (v == nullptr) return invalid_argument("missing key '{}'", key);
  if (!v->is_array()) return type_error(key, *v, "an array");
  return v;
}

Result<const Json*> Json::object_at(std::string_view key) const {
  const Json* v = find(key);
  if (v == nullptr) return invalid_argument("missing key '{}'", key);
  if (!v->is_object()) return type_error(key, *v, "an object");
  return v;
}

// ---------------------------------------------------------------------------------------------
// Parser

namespace {

constexpr int kMaxDepth = 256;

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  Result<Json> parse_document() {
    skip_whitespace();
    Json value;
    GQF_RETURN_IF_ERROR(parse_value(value, 0));
    skip_whitespace();
    if (pos_ != text_.size()) return error("unexpected text after the JSON value");
    return value;
  }

 private:
  Status error(std::string_view what) const {
    size_t line = 1, column = 1;
    for (size_t i = 0; i < pos_ && i < text_.size(); ++i) {
      if (text_[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    return invalid_argument("line {}, column {}: {}", line, column, what);
  }

  std::string describe_here() const {
    if (pos_ >= text_.size()) return "end of input";
    char c = text_[pos_];
    if (static_cast<unsigned char>(c) < 0x20) return fmt::format("control character 0x{:02x}", static_cast<int>(c));
    return fmt::format("'{}'", c);
  }

  void skip_whitespace() {
    while (pos_ < text_.size() &&
           (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  bool consume_literal(std::string_view word) {
    if (text_.substr(pos_, word.size()) == word) {
      pos_ += word.size();
      return true;
    }
    return false;
  }

  Status parse_value(Json& out, int depth) {
    if (depth > kMaxDepth) return error("nesting deeper than 256 levels");
    if (pos_ >= text_.size()) return error("expected a value, found end of input");
    char c = text_[pos_];
    switch (c) {
      case '{': return parse_object(out, depth);
      case '[': return parse_array(out, depth);
      case '"': {
        std::string s;
        GQF_RETURN_IF_ERROR(parse_string(s));
        out = Json(std::move(s));
        return ok_status();
      }
      case 't':
        if (consume_literal("true")) { out = Json(true); return ok_status(); }
        break;
      case 'f':
        if (consume_literal("false")) { out = Json(false); return ok_status(); }
        break;
      case 'n':
        if (consume_literal("null")) { out = Json(); return ok_status(); }
        break;
      default:
        if (c == '-' || (c >= '0' && c <= '9')) return parse_number(out);
    }
    return error(fmt::format("expected a value, found {}", describe_here()));
  }

  Status parse_number(Json& out) {
    size_t start = pos_;
    auto digit = [&](size_t i) { return i < text_.size() && text_[i] >= '0' && text_[i] <= '9'; };
    if (text_[pos_] == '-') ++pos_;
    if (!digit(pos_)) return error("expected a digit in number");
    if (text_[pos_] == '0') {
      ++pos_;
      if (digit(pos_)) return error("leading zeros are not allowed in numbers");
    } else {
      while (digit(pos_)) ++pos_;
    }
    if (pos_ < text_.size() && text_[pos_] == '.') {
      ++pos_;
      if (!digit(pos_)) return error("expected a digit after the decimal point");
      while (digit(pos_)) ++pos_;
    }
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
      if (!digit(pos_)) return error("expected a digit in the exponent");
      while (digit(pos_)) ++pos_;
    }
    double value = 0;
    auto [ptr, ec] = std::from_chars(text_.data() + start, text_.data() + pos_, value);
    if (ec == std::errc::result_out_of_range || !std::isfinite(value)) {
      size_t keep = pos_;
      pos_ = start;
      Status s = error(fmt::format("number '{}' is out of range", text_.substr(start, keep - start)));
      pos_ = keep;
      return s;
    }
    if (ec != std::errc() || ptr != text_.data() + pos_) return error("malformed number");
    out = Json(value);
    return ok_status();
  }

  Status parse_hex4(uint32_t& code) {
    if (pos_ + 4 > text_.size()) return error("truncated \\u escape");
    code = 0;
    for (int i = 0; i < 4; ++i) {
      char h = text_[pos_++];
      code <<= 4;
      if (h >= '0' && h <= '9') code |= static_cast<uint32_t>(h - '0');
      else if (h >= 'a' && h <= 'f') code |= static_cast<uint32_t>(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F') code |= static_cast<uint32_t>(h - 'A' + 10);
      else return error("invalid hex digit in \\u escape");
    }
    return ok_status();
  }

  static void append_utf8(std::string& s, uint32_t cp) {
    if (cp < 0x80) {
      s += static_cast<char>(cp);
    } else if (cp < 0x800) {
      s += static_cast<char>(0xC0 | (cp >> 6));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      s += static_cast<char>(0xE0 | (cp >> 12));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      s += static_cast<char>(0xF0 | (cp >> 18));
      s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  Status parse_string(std::string& out) {
    ++pos_;  // opening quote
    while (true) {
      if (pos_ >= text_.size()) return error("unterminated string");
      char c = text_[pos_];
      if (c == '"') {
        ++pos_;
        return ok_status();
      }
      if (static_cast<unsigned char>(c) < 0x20) {
        return error(fmt::format("{} inside a string (escape it)", describe_here()));
      }
      if (c != '\\') {
        out += c;
        ++pos_;
        continue;
      }
      ++pos_;
      if (pos_ >= text_.size()) return error("unterminated escape sequence");
      char e = text_[pos_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          uint32_t cp = 0;
          GQF_RETURN_IF_ERROR(parse_hex4(cp));
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (!consume_literal("\\u")) return error("unpaired UTF-16 high surrogate");
            uint32_t low = 0;
            GQF_RETURN_IF_ERROR(parse_hex4(low));
            if (low < 0xDC00 || low > 0xDFFF) return error("invalid UTF-16 low surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return error("unpaired UTF-16 low surrogate");
          }
          append_utf8(out, cp);
          break;
        }
        default:
          --pos_;
          return error(fmt::format("invalid escape '\\{}'", e));
      }
    }
  }

  Status parse_array(Json& out, int depth) {
    ++pos_;  // '['
    out = Json::array();
    skip_whitespace();
    if (pos_ < text_.size() && text_[pos_] == ']') {
      ++pos_;
      return ok_status();
    }
    while (true) {
      skip_whitespace();
      Json element;
      GQF_RETURN_IF_ERROR(parse_value(element, depth + 1));
      out.push_back(std::move(element));
      skip_whitespace();
      if (pos_ < text_.size() && text_[pos_] == ',') {
        ++pos_;
        skip_whitespace();
        if (pos_ < text_.size() && text_[pos_] == ']') return error("trailing comma in array");
        continue;
      }
      if (pos_ < text_.size() && text_[pos_] == ']') {
        ++pos_;
        return ok_status();
      }
      return error(fmt::format("expected ',' or ']' in array, found {}", describe_here()));
    }
  }

  Status parse_object(Json& out, int depth) {
    ++pos_;  // '{'
    out = Json::object();
    skip_whitespace();
    if (pos_ < text_.size() && text_[pos_] == '}') {
      ++pos_;
      return ok_status();
    }
    while (true) {
      skip_whitespace();
      if (pos_ >= text_.size() || text_[pos_] != '"') {
        return error(fmt::format("expected a quoted key, found {}", describe_here()));
      }
      size_t key_pos = pos_;
      std::string key;
      GQF_RETURN_IF_ERROR(parse_string(key));
      if (out.find(key) != nullptr) {
        pos_ = key_pos;
        return error(fmt::format("duplicate key '{}'", key));
      }
      skip_whitespace();
      if (pos_ >= text_.size() || text_[pos_] != ':') {
        return error(fmt::format("expected ':' after key '{}', found {}", key, describe_here()));
      }
      ++pos_;
      skip_whitespace();
      Json value;
      GQF_RETURN_IF_ERROR(parse_value(value, depth + 1));
      out.set(key, std::move(value));
      skip_whitespace();
      if (pos_ < text_.size() && text_[pos_] == ',') {
        ++pos_;
        skip_whitespace();
        if (pos_ < text_.size() && text_[pos_] == '}') return error("trailing comma in object");
        continue;
      }
      if (pos_ < text_.size() && text_[pos_] == '}') {
        ++pos_;
        return ok_status();
      }
      return error(fmt::format("expected ',' or '}}' after object member, found {}", describe_here()));
    }
  }

  std::string_view text_;
  size_t pos_ = 0;
};

void write_string(std::string& out, const std::string& s) {
  out += '"';
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<int>(c));
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

void write_value(std::string& out, const Json& v, int indent, int level) {
  auto newline = [&](int lvl) {
    if (indent < 0) return;
    out += '\n';
    out.append(static_cast<size_t>(indent * lvl), ' ');
  };
  switch (v.type()) {
    case Json::Type::kNull: out += "null"; return;
    case Json::Type::kBool: out += v.as_bool() ? "true" : "false"; return;
    case Json::Type::kNumber: out += json_number_text(v.as_number()); return;
    case Json::Type::kString: write_string(out, v.as_string()); return;
    case Json::Type::kArray: {
      const auto& a = v.as_array();
      if (a.empty()) { out += "[]"; return; }
      // Arrays of scalars stay on one line: coefficient lists and table rows read better.
      bool flat = true;
      for (const Json& e : a) flat = flat && !e.is_array() && !e.is_object();
      out += '[';
      for (size_t i = 0; i < a.size(); ++i) {
        if (i > 0) out += flat || indent < 0 ? (indent < 0 ? "," : ", ") : ",";
        if (!flat) newline(level + 1);
        write_value(out, a[i], indent, level + 1);
      }
      if (!flat) newline(level);
      out += ']';
      return;
    }
    case Json::Type::kObject: {
      const auto& o = v.as_object();
      if (o.empty()) { out += "{}"; return; }
      out += '{';
      for (size_t i = 0; i < o.size(); ++i) {
        if (i > 0) out += ',';
        newline(level + 1);
        write_string(out, o[i].first);
        out += indent < 0 ? ":" : ": ";
        write_value(out, o[i].second, indent, level + 1);
      }
      newline(level);
      out += '}';
      return;
    }
  }
}

}  // namespace

Result<Json> Json::parse(std::string_view text) { return Parser(text).parse_document(); }

std::string Json::dump(int indent) const {
  std::string out;
  write_value(out, *this, indent, 0);
  if (indent >= 0) out += '\n';
  return out;
}

}  // namespace gqaforge
