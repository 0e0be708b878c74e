// Preset loading: strict JSON with errors naming the file, the entry and the field.
#include "costmodel/presets.h"

#include <algorithm>

#include "core/strings.h"
#include "costmodel/costs.h"
#include "costmodel/embedded_data.h"

namespace gqaforge::costmodel {
namespace {

constexpr const char* kPresetFiles[] = {"presets/paper-shapes.json", "presets/models.json"};

Result<int64_t> positive_int(const Json& obj, std::string_view key) {
  GQF_ASSIGN_OR_RETURN(int64_t v, json_int_at(obj, key));
  if (v <= 0) return invalid_argument("key '{}' must be positive, got {}", key, v);
  return v;
}

// Optional member with a default.
template <typename T, typename Getter>
Result<T> optional_member(const Json& obj, std::string_view key, T fallback, Getter get) {
  if (json_find(obj, key) == nullptr) return fallback;
  return get(obj, key);
}

}  // namespace

Result<Presets> Presets::bundled() {
  Presets p;
  for (const char* file : kPresetFiles) {
    auto text = embedded_file(file);
    if (!text) return internal_error("embedded data file '{}' is missing from the build", file);
    GQF_RETURN_IF_ERROR(p.add_document(*text, std::string("<embedded>/") + file));
  }
  return p;
}

Status Presets::add_model(const Json& e, const std::string& where) {
  ModelShape s;
  GQF_ASSIGN_OR_RETURN(s.name, json_string_at(e, "name"));
  std::string ctx = fmt::format("{} model '{}'", where, s.name);
  auto fill = [&]() -> Status {
    GQF_ASSIGN_OR_RETURN(s.layers, positive_int(e, "layers"));
    GQF_ASSIGN_OR_RETURN(s.hidden, positive_int(e, "hidden"));
    GQF_ASSIGN_OR_RETURN(s.n_heads, positive_int(e, "heads"));
    GQF_ASSIGN_OR_RETURN(s.n_kv_heads, positive_int(e, "kv_heads"));
    GQF_ASSIGN_OR_RETURN(s.head_dim, positive_int(e, "head_dim"));
    GQF_ASSIGN_OR_RETURN(s.ffn, positive_int(e, "ffn"));
    GQF_ASSIGN_OR_RETURN(s.vocab, positive_int(e, "vocab"));
    GQF_ASSIGN_OR_RETURN(s.tied_embeddings, json_bool_at(e, "tied"));
    auto get_bool = [](const Json& o, std::string_view k) { return json_bool_at(o, k); };
    auto get_int = [](const Json& o, std::string_view k) { return json_int_at(o, k); };
    GQF_ASSIGN_OR_RETURN(s.qkv_bias, optional_member<bool>(e, "qkv_bias", false, get_bool));
    GQF_ASSIGN_OR_RETURN(int64_t m, optional_member<int64_t>(e, "ffn_matrices", 3, get_int));
    s.ffn_matrices = static_cast<int>(m);
    return s.validate();
  };
  GQF_RETURN_IF_ERROR_CTX(fill(), ctx);
  for (const ModelShape& existing : models_) {
    if (to_lower(existing.name) == to_lower(s.name)) {
      return invalid_argument("{}: duplicate preset name '{}'", where, s.name);
    }
  }
  models_.push_back(std::move(s));
  return ok_status();
}

Status Presets::add_document(std::string_view text, const std::string& source) {
  auto parsed = parse_json(text);
  if (!parsed.ok()) return parsed.status().with_context(source);
  const Json& doc = *parsed;
  if (!doc.is_object()) return invalid_argument("{}: a presets file must be a JSON object", source);
  auto check = [&]() -> Status {
    GQF_ASSIGN_OR_RETURN(std::string format, json_string_at(doc, "format"));
    if (format != "gqaforge-presets") {
      return invalid_argument("format '{}' is not 'gqaforge-presets'", format);
    }
    GQF_ASSIGN_OR_RETURN(int64_t version, json_int_at(doc, "version"));
    if (version != 1) return invalid_argument("unsupported presets version {} (expected 1)", version);
    return ok_status();
  };
  GQF_RETURN_IF_ERROR_CTX(check(), source);

  if (const Json* table = json_find(doc, "aspect_table")) {
    if (!table->is_array() || table->size() < 2) {
      return invalid_argument("{}: 'aspect_table' must be an array of at least 2 shapes", source);
    }
    int64_t head_dim = 64, vocab = 50304;
    if (const Json* d = json_find(doc, "defaults")) {
      if (json_find(*d, "head_dim")) {
        GQF_ASSIGN_OR_RETURN(head_dim, json_int_at(*d, "head_dim"));
      }
      if (json_find(*d, "vocab")) {
        GQF_ASSIGN_OR_RETURN(vocab, json_int_at(*d, "vocab"));
      }
    }
    std::vector<AspectPoint> rows;
    for (size_t i = 0; i < table->size(); ++i) {
      const Json& e = (*table)[i];
      std::string ctx = fmt::format("{}: aspect_table[{}]", source, i);
      if (!e.is_object()) return invalid_argument("{} must be an object", ctx);
      AspectPoint p;
      auto fill = [&]() -> Status {
        GQF_ASSIGN_OR_RETURN(p.name, json_string_at(e, "name"));
        GQF_ASSIGN_OR_RETURN(p.label, json_string_at(e, "label"));
        GQF_ASSIGN_OR_RETURN(int64_t layers, positive_int(e, "layers"));
        GQF_ASSIGN_OR_RETURN(int64_t hidden, positive_int(e, "hidden"));
        if (hidden % head_dim != 0) {
          return invalid_argument("hidden {} is not a multiple of head_dim {}", hidden, head_dim);
        }
        p.layers = static_cast<double>(layers);
        p.hidden = static_cast<double>(hidden);
        double heads = p.hidden / static_cast<double>(head_dim);
        p.params = formula_params(p.layers, p.hidden, heads, heads, static_cast<double>(head_dim));
        return ok_status();
      };
      GQF_RETURN_IF_ERROR_CTX(fill(), ctx);
      rows.push_back(p);
      // Each paper shape is also a preset model: MHA with d / d_h heads, the paper's FFN size.
      ModelShape s;
      s.name = p.name;
      s.layers = static_cast<int64_t>(p.layers);
      s.hidden = static_cast<int64_t>(p.hidden);
      s.n_heads = s.n_kv_heads = s.hidden / head_dim;
      s.head_dim = head_dim;
      s.ffn = paper_ffn_size(s.hidden);
      s.vocab = vocab;
      s.tied_embeddings = true;
      models_.push_back(s);
    }
    std::sort(rows.begin(), rows.end(), [](const AspectPoint& a, const AspectPoint& b) { return a.params < b.params; });
    for (size_t i = 1; i < rows.size(); ++i) {
      if (rows[i].params == rows[i - 1].params) {
        return invalid_argument("{}: aspect table shapes '{}' and '{}' have the same size", source, rows[i - 1].name,
                                rows[i].name);
      }
    }
    aspect_ = std::move(rows);
  }
  if (const Json* models = json_find(doc, "models")) {
    if (!models->is_array()) return invalid_argument("{}: 'models' must be an array", source);
    for (size_t i = 0; i < models->size(); ++i) {
      const Json& e = (*models)[i];
      std::string where = fmt::format("{}: models[{}]", source, i);
      if (!e.is_object()) return invalid_argument("{} must be an object", where);
      GQF_RETURN_IF_ERROR(add_model(e, where));
    }
  }
  return ok_status();
}

Result<ModelShape> Presets::find(std::string_view name) const {
  std::string want = to_lower(name);
  for (const ModelShape& s : models_) {
    if (to_lower(s.name) == want) return s;
  }
  std::string known;
  for (const ModelShape& s : models_) {
    if (!known.empty()) known += ", ";
    known += s.name;
  }
  return not_found("unknown model preset '{}' (known: {})", name, known);
}

}  // namespace gqaforge::costmodel
