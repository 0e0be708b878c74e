// The project's layer over nlohmann-json: a non-throwing parse with line/column errors, the
// stable writer, and typed member reads.
#include "core/json.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstddef>
#include <iterator>
#include <limits>
#include <utility>
#include <vector>

namespace gqaforge {
namespace {

constexpr size_t kMaxDepth = 256;

// A `const char*` that records how far nlohmann's lexer has read. The SAX callbacks get no
// position, and the errors found there (a duplicate key, too deep a nesting) should still name
// one; the lexer never reads ahead of the token it has just reported.
class CountingIterator {
 public:
  using iterator_category = std::input_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;

  CountingIterator(const char* p, const char** reached) : p_(p), reached_(reached) {}
  reference operator*() const { return *p_; }
  CountingIterator& operator++() {
    *reached_ = ++p_;
    return *this;
  }
  CountingIterator operator++(int) {
    CountingIterator old = *this;
    ++*this;
    return old;
  }
  bool operator==(const CountingIterator& other) const { return p_ == other.p_; }

 private:
  const char* p_;
  const char** reached_;
};

// nlohmann words a syntax error "syntax error while parsing <context> - unexpected <token>;
// expected <token>", and a malformed token "... - <what is wrong>; last read: '<text>'...". Say
// what would have been accepted there instead, as someone editing the file needs it.
std::string describe(std::string_view what, const std::string& last_key) {
  constexpr std::string_view kSyntax = "syntax error while parsing ", kUnexpected = "unexpected ";
  // Drop "[json.exception.parse_error.101] parse error at line 1, column 6: "; the caller
  // names the position itself.
  if (const size_t tag = what.find("] "); what.starts_with("[json.exception.") && tag != std::string_view::npos) {
    what.remove_prefix(tag + 2);
  }
  if (const size_t colon = what.find(": "); what.starts_with("parse error") && colon != std::string_view::npos) {
    what.remove_prefix(colon + 2);
  }
  if (!what.starts_with(kSyntax)) return std::string(what);  // e.g. "number overflow parsing '1e999'"
  what.remove_prefix(kSyntax.size());
  const size_t dash = what.find(" - ");
  if (dash == std::string_view::npos) return std::string(what);
  const std::string_view context = what.substr(0, dash), detail = what.substr(dash + 3);
  // A malformed token: the lexer's words, without the text it quotes ("last read: '[tru'"),
  // which can start before the token; the position names the spot.
  if (!detail.starts_with(kUnexpected)) return std::string(detail.substr(0, detail.find("; last read: ")));
  std::string_view found = detail.substr(kUnexpected.size());
  found = found.substr(0, found.find("; expected "));
  if (context == "value") {
    if (detail.ends_with("; expected end of input")) return fmt::format("unexpected {} after the JSON value", found);
    return fmt::format("expected a value, found {}", found);
  }
  if (context == "array") return fmt::format("expected ',' or ']' in array, found {}", found);
  if (context == "object") return fmt::format("expected ',' or '}}' after object member, found {}", found);
  if (context == "object key") return fmt::format("expected a quoted key, found {}", found);
  if (context == "object separator") return fmt::format("expected ':' after key '{}', found {}", last_key, found);
  return std::string(detail);
}

// Builds the document from nlohmann's SAX events, refusing what RFC 8259 leaves open but the
// project's files must not contain (duplicate keys) and nesting that no file of ours needs.
class Builder : public Json::json_sax_t {
 public:
  Builder(std::string_view text, const char* const* reached) : text_(text), reached_(reached) {}

  Result<Json> result() && {
    if (!status_.ok()) return status_;
    return std::move(root_);
  }

  bool null() override { return add(Json()) != nullptr; }
  bool boolean(bool value) override { return add(value) != nullptr; }
  bool number_integer(number_integer_t value) override { return add(value) != nullptr; }
  bool number_unsigned(number_unsigned_t value) override { return add(value) != nullptr; }
  bool number_float(number_float_t value, const string_t& /*text*/) override { return add(value) != nullptr; }
  bool string(string_t& value) override { return add(std::move(value)) != nullptr; }
  bool binary(binary_t& /*value*/) override { return fail(offset() - 1, "binary values are not JSON"); }
  bool start_object(std::size_t /*elements*/) override { return open(Json::object()); }
  bool start_array(std::size_t /*elements*/) override { return open(Json::array()); }
  bool end_object() override { return close(); }
  bool end_array() override { return close(); }

  bool key(string_t& key) override {
    if (open_.back()->contains(key)) return fail(string_start(offset() - 1), fmt::format("duplicate key '{}'", key));
    key_ = std::move(key);
    return true;
  }

  bool parse_error(std::size_t position, const std::string& /*last_token*/, const Json::exception& ex) override {
    return fail(token_start(position), describe(ex.what(), key_));
  }

 private:
  size_t offset() const { return static_cast<size_t>(*reached_ - text_.data()); }

  // Where the token that the lexer has just finished starts. `position` counts the characters
  // read, the end of input included; the lexer reads a number or a literal to its last
  // character (or the one that is wrong) and a string to its closing quote.
  size_t token_start(size_t position) const {
    if (position == 0) return 0;
    if (position > text_.size()) return text_.size();  // the end of input
    size_t i = position - 1;
    if (text_[i] == '"') return string_start(i);
    auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.'; };
    while (i > 0 && word(text_[i]) && word(text_[i - 1])) --i;
    return i;
  }

  // The opening quote of the string that closes at `closing`: an unescaped quote cannot occur
  // inside a string.
  size_t string_start(size_t closing) const {
    size_t i = closing;
    while (i > 0) {
      --i;
      size_t backslashes = 0;
      while (backslashes < i && text_[i - 1 - backslashes] == '\\') ++backslashes;
      if (text_[i] == '"' && backslashes % 2 == 0) break;
    }
    return i;
  }

  bool fail(size_t index, std::string_view what) {
    size_t line = 1, column = 1;
    for (size_t i = 0; i < index && i < text_.size(); ++i) {
      if (text_[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    status_ = invalid_argument("line {}, column {}: {}", line, column, what);
    return false;
  }

  // Places a value in the innermost open container (or as the document). Pointers to open
  // containers stay valid: only the innermost one grows.
  Json* add(Json value) {
    if (open_.empty()) {
      root_ = std::move(value);
      return &root_;
    }
    Json& parent = *open_.back();
    if (parent.is_array()) {
      parent.push_back(std::move(value));
      return &parent.back();
    }
    return &(parent[key_] = std::move(value));
  }

  bool open(Json container) {
    if (open_.size() == kMaxDepth) return fail(offset() - 1, fmt::format("nesting deeper than {} levels", kMaxDepth));
    open_.push_back(add(std::move(container)));
    return true;
  }

  bool close() {
    open_.pop_back();
    return true;
  }

  std::string_view text_;
  const char* const* reached_;
  Json root_;
  std::vector<Json*> open_;
  std::string key_;
  Status status_;
};

std::string quoted(const std::string& s) {
  // nlohmann's escaping (control characters as \u00xx, UTF-8 kept); invalid UTF-8 becomes
  // U+FFFD so that the output is always valid JSON.
  return Json(s).dump(-1, ' ', false, Json::error_handler_t::replace);
}

bool is_scalar(const Json& v) {
  return !v.is_array() && !v.is_object();
}

void write_value(std::string& out, const Json& v, int indent, int level) {
  auto newline = [&](int lvl) {
    if (indent < 0) return;
    out += '\n';
    out.append(static_cast<size_t>(indent * lvl), ' ');
  };
  switch (v.type()) {
    case Json::value_t::number_integer:
      out += fmt::format("{}", v.get<int64_t>());
      return;
    case Json::value_t::number_unsigned:
      out += fmt::format("{}", v.get<uint64_t>());
      return;
    case Json::value_t::number_float:
      out += json_number_text(v.get<double>());
      return;
    case Json::value_t::string:
      out += quoted(v.get_ref<const std::string&>());
      return;
    case Json::value_t::array: {
      if (v.empty()) {
        out += "[]";
        return;
      }
      // Arrays of scalars stay on one line: coefficient lists and table rows read better.
      const bool flat = std::all_of(v.begin(), v.end(), is_scalar);
      out += '[';
      bool first = true;
      for (const Json& e : v) {
        if (!first) out += flat && indent >= 0 ? ", " : ",";
        first = false;
        if (!flat) newline(level + 1);
        write_value(out, e, indent, level + 1);
      }
      if (!flat) newline(level);
      out += ']';
      return;
    }
    case Json::value_t::object: {
      if (v.empty()) {
        out += "{}";
        return;
      }
      out += '{';
      bool first = true;
      for (const auto& [key, member] : v.items()) {
        if (!first) out += ',';
        first = false;
        newline(level + 1);
        out += quoted(key);
        out += indent < 0 ? ":" : ": ";
        write_value(out, member, indent, level + 1);
      }
      newline(level);
      out += '}';
      return;
    }
    default:
      out += v.dump();
      return;  // null and booleans
  }
}

Status type_error(std::string_view key, const Json& found, const char* expected) {
  return invalid_argument("key '{}' is {} {}, expected {}", key, found.is_structured() ? "an" : "a", found.type_name(),
                          expected);
}

Result<const Json*> member(const Json& object, std::string_view key) {
  const Json* v = json_find(object, key);
  if (v == nullptr) return invalid_argument("missing key '{}'", key);
  return v;
}

}  // namespace

Result<Json> parse_json(std::string_view text) {
  const char* reached = text.data();
  Builder builder(text, &reached);
  // The builder's status says how it went (every failure passes through one of its callbacks).
  static_cast<void>(Json::sax_parse(CountingIterator(text.data(), &reached),
                                    CountingIterator(text.data() + text.size(), &reached), &builder));
  return std::move(builder).result();
}

std::string dump_json(const Json& value, int indent) {
  std::string out;
  write_value(out, value, indent, 0);
  if (indent >= 0) out += '\n';
  return out;
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

const Json* json_find(const Json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

Result<double> json_number_at(const Json& object, std::string_view key) {
  GQF_ASSIGN_OR_RETURN(const Json* v, member(object, key));
  if (!v->is_number()) return type_error(key, *v, "a number");
  return v->get<double>();
}

Result<int64_t> json_int_at(const Json& object, std::string_view key) {
  GQF_ASSIGN_OR_RETURN(const Json* v, member(object, key));
  if (!v->is_number()) return type_error(key, *v, "a number");
  if (v->is_number_unsigned()) {
    const uint64_t u = v->get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return invalid_argument("key '{}' is {}, expected an integer", key, u);
    }
    return static_cast<int64_t>(u);
  }
  if (v->is_number_integer()) return v->get<int64_t>();
  // A number written with a fraction or exponent is fine when it is a whole, exact value.
  const double value = v->get<double>();
  if (value != std::floor(value) || std::fabs(value) > 9007199254740992.0) {
    return invalid_argument("key '{}' is {}, expected an integer", key, json_number_text(value));
  }
  return static_cast<int64_t>(value);
}

Result<std::string> json_string_at(const Json& object, std::string_view key) {
  GQF_ASSIGN_OR_RETURN(const Json* v, member(object, key));
  if (!v->is_string()) return type_error(key, *v, "a string");
  return v->get<std::string>();
}

Result<bool> json_bool_at(const Json& object, std::string_view key) {
  GQF_ASSIGN_OR_RETURN(const Json* v, member(object, key));
  if (!v->is_boolean()) return type_error(key, *v, "a boolean");
  return v->get<bool>();
}

Result<const Json*> json_array_at(const Json& object, std::string_view key) {
  GQF_ASSIGN_OR_RETURN(const Json* v, member(object, key));
  if (!v->is_array()) return type_error(key, *v, "an array");
  return v;
}

Result<const Json*> json_object_at(const Json& object, std::string_view key) {
  GQF_ASSIGN_OR_RETURN(const Json* v, member(object, key));
  if (!v->is_object()) return type_error(key, *v, "an object");
  return v;
}

}  // namespace gqaforge
