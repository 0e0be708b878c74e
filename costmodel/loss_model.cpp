// Loss model evaluation and its JSON form.
#include "costmodel/loss_model.h"

#include <cmath>

#include "core/fs.h"
#include "costmodel/embedded_data.h"

namespace gqaforge::costmodel {
namespace {

constexpr const char* kFormat = "gqaforge-loss-model";
constexpr const char* kTerms[6] = {"1", "x", "y", "xx", "xy", "yy"};

double quadratic(const std::array<double, 6>& c, double x, double y) {
  return c[0] + c[1] * x + c[2] * y + c[3] * x * x + c[4] * x * y + c[5] * y * y;
}

Json optional_number(const std::optional<double>& v) { return v ? Json(*v) : Json(); }

Result<std::optional<double>> read_optional(const Json& obj, std::string_view key) {
  const Json* v = obj.find(key);
  if (v == nullptr || v->is_null()) return std::optional<double>();
  GQF_ASSIGN_OR_RETURN(double x, obj.number_at(key));
  return std::optional<double>(x);
}

Result<std::array<double, 6>> read_terms(const Json& obj, std::string_view key) {
  GQF_ASSIGN_OR_RETURN(const Json* arr, obj.array_at(key));
  if (arr->size() != 6) {
    return invalid_argument("key '{}' must list 6 coefficients (terms 1, x, y, xx, xy, yy), got {}",
                            key, arr->size());
  }
  std::array<double, 6> out{};
  for (size_t i = 0; i < 6; ++i) {
    const Json& v = arr->as_array()[i];
    if (!v.is_number()) {
      return invalid_argument("key '{}' coefficient {} ('{}') is {}, expected a number", key, i,
                              kTerms[i], json_type_name(v.type()));
    }
    out[i] = v.as_number();
  }
  return out;
}

Status check_law(const PowerLaw& law, const std::string& where) {
  if (!(law.a > 0) || !std::isfinite(law.a)) return invalid_argument("{}: a = {} must be positive", where, law.a);
  if (!(law.b > 0) || !std::isfinite(law.b)) return invalid_argument("{}: b = {} must be positive", where, law.b);
  if (!std::isfinite(law.e)) return invalid_argument("{}: E = {} must be finite", where, law.e);
  return ok_status();
}

}  // namespace

double PowerLaw::predict(double params) const { return std::pow(a / params, b) + e; }

Result<double> PowerLaw::required_params(double target_loss) const {
  if (!(target_loss > e)) {
    return invalid_argument(
        "target loss {} is not above the irreducible loss E = {}: L(N) = (a/N)^b + E only "
        "approaches E as N grows, so no model size reaches it",
        target_loss, e);
  }
  return a / std::pow(target_loss - e, 1.0 / b);
}

PowerLaw ParametricLaw::at(const HeadConfig& h) const {
  double x = std::log2(static_cast<double>(h.n_heads));
  double y = std::log2(static_cast<double>(h.n_kv_heads));
  PowerLaw law;
  law.a = std::exp(quadratic(log_a, x, y));
  law.b = quadratic(b, x, y);
  law.e = e;
  return law;
}

double HeadCountLaw::predict(double n_heads) const { return a * std::pow(n_heads, b) + c; }

LossModel LossModel::from_table(std::vector<std::pair<HeadConfig, PowerLaw>> laws, bool shared_e) {
  LossModel m;
  m.form_ = Form::kTable;
  m.shared_e_ = shared_e;
  m.table_ = std::move(laws);
  return m;
}

LossModel LossModel::from_parametric(const ParametricLaw& law) {
  LossModel m;
  m.form_ = Form::kParametric;
  m.shared_e_ = true;
  m.parametric_ = law;
  return m;
}

Result<PowerLaw> LossModel::law_for(const HeadConfig& h) const {
  if (h.n_heads <= 0 || h.n_kv_heads <= 0 || h.n_kv_heads > h.n_heads) {
    return invalid_argument("head configuration {} is invalid (need 0 < n_kv <= n_h)", h.to_string());
  }
  if (form_ == Form::kParametric) {
    PowerLaw law = parametric_.at(h);
    if (!(law.b > 0)) {
      return invalid_argument("the parametric loss model gives exponent b = {} <= 0 at {}: "
                              "outside its range", law.b, h.to_string());
    }
    return law;
  }
  for (const auto& [config, law] : table_) {
    if (config == h) return law;
  }
  std::string have;
  for (const auto& entry : table_) {
    if (!have.empty()) have += " ";
    have += entry.first.to_string();
  }
  return not_found("the loss model has no law for heads {} (it has {})", h.to_string(),
                   have.empty() ? "none" : have);
}

bool LossModel::covers(const HeadConfig& h) const { return law_for(h).ok(); }

Result<double> LossModel::predict(double params, const HeadConfig& h) const {
  if (!(params > 0)) return invalid_argument("parameter count {} must be positive", params);
  GQF_ASSIGN_OR_RETURN(PowerLaw law, law_for(h));
  return law.predict(params);
}

Result<double> LossModel::required_params(double target_loss, const HeadConfig& h) const {
  GQF_ASSIGN_OR_RETURN(PowerLaw law, law_for(h));
  auto n = law.required_params(target_loss);
  if (!n.ok()) return n.status().with_context(fmt::format("heads {}", h.to_string()));
  return n;
}

Json LossModel::to_json() const {
  Json doc = Json::object();
  doc.set("format", kFormat);
  doc.set("version", 1);
  doc.set("description", description_);
  doc.set("law", "L(N; H) = (a_H / N)^b_H + E_H, N = non-embedding parameters");
  doc.set("context", context_);
  doc.set("form", form_ == Form::kTable ? "table" : "parametric");
  doc.set("shared_E", shared_e_);
  if (form_ == Form::kParametric) {
    doc.set("E", parametric_.e);
    Json p = Json::object();
    Json terms = Json::array();
    for (const char* t : kTerms) terms.push_back(t);
    p.set("variables", "x = log2(n_h), y = log2(n_kv)");
    p.set("terms", terms);
    Json la = Json::array(), b = Json::array();
    for (double v : parametric_.log_a) la.push_back(v);
    for (double v : parametric_.b) b.push_back(v);
    p.set("log_a", la);
    p.set("b", b);
    doc.set("parametric", p);
  } else {
    if (shared_e_ && !table_.empty()) doc.set("E", table_.front().second.e);
    Json laws = Json::array();
    for (const auto& [h, law] : table_) {
      Json e = Json::object();
      e.set("n_h", h.n_heads);
      e.set("n_kv", h.n_kv_heads);
      e.set("a", law.a);
      e.set("b", law.b);
      e.set("E", law.e);
      if (law.se_a || law.se_b || law.se_e) {
        e.set("se_a", optional_number(law.se_a));
        e.set("se_b", optional_number(law.se_b));
        e.set("se_E", optional_number(law.se_e));
      }
      laws.push_back(e);
    }
    doc.set("laws", laws);
  }
  if (!head_laws_.empty()) {
    Json arr = Json::array();
    for (const HeadCountLaw& hl : head_laws_) {
      Json e = Json::object();
      e.set("label", hl.label);
      e.set("params", hl.params);
      e.set("context", hl.context);
      e.set("a", hl.a);
      e.set("b", hl.b);
      e.set("c", hl.c);
      if (hl.se_a || hl.se_b || hl.se_c) {
        e.set("se_a", optional_number(hl.se_a));
        e.set("se_b", optional_number(hl.se_b));
        e.set("se_c", optional_number(hl.se_c));
      }
      if (hl.r2 != 0) e.set("r2", hl.r2);
      arr.push_back(e);
    }
    doc.set("head_laws", arr);
  }
  if (notes_.size() > 0) doc.set("notes", notes_);
  return doc;
}

Result<LossModel> LossModel::from_json(const Json& doc) {
  if (!doc.is_object()) return invalid_argument("a loss model must be a JSON object");
  GQF_ASSIGN_OR_RETURN(std::string format, doc.string_at("format"));
  if (format != kFormat) return invalid_argument("format '{}' is not '{}'", format, kFormat);
  GQF_ASSIGN_OR_RETURN(int64_t version, doc.int_at("version"));
  if (version != 1) return invalid_argument("unsupported loss-model version {} (expected 1)", version);
  GQF_ASSIGN_OR_RETURN(std::string form, doc.string_at("form"));
  LossModel m;
  if (const Json* d = doc.find("description"); d && d->is_string()) m.description_ = d->as_string();
  if (doc.find("context")) {
    GQF_ASSIGN_OR_RETURN(m.context_, doc.number_at("context"));
    if (!(m.context_ > 0)) return invalid_argument("context {} must be positive", m.context_);
  }
  if (form == "parametric") {
    m.form_ = Form::kParametric;
    m.shared_e_ = true;
    GQF_ASSIGN_OR_RETURN(m.parametric_.e, doc.number_at("E"));
    GQF_ASSIGN_OR_RETURN(const Json* p, doc.object_at("parametric"));
    auto la = read_terms(*p, "log_a");
    if (!la.ok()) return la.status().with_context("parametric");
    auto b = read_terms(*p, "b");
    if (!b.ok()) return b.status().with_context("parametric");
    m.parametric_.log_a = *la;
    m.parametric_.b = *b;
    if (!std::isfinite(m.parametric_.e)) return invalid_argument("E = {} must be finite", m.parametric_.e);
  } else if (form == "table") {
    m.form_ = Form::kTable;
    GQF_ASSIGN_OR_RETURN(m.shared_e_, doc.bool_at("shared_E"));
    GQF_ASSIGN_OR_RETURN(const Json* laws, doc.array_at("laws"));
    if (laws->size() == 0) return invalid_argument("key 'laws' is empty: a table model needs at least one law");
    for (size_t i = 0; i < laws->size(); ++i) {
      const Json& e = laws->as_array()[i];
      std::string where = fmt::format("laws[{}]", i);
      if (!e.is_object()) return invalid_argument("{} must be an object", where);
      HeadConfig h;
      PowerLaw law;
      auto fill = [&]() -> Status {
        GQF_ASSIGN_OR_RETURN(h.n_heads, e.int_at("n_h"));
        GQF_ASSIGN_OR_RETURN(h.n_kv_heads, e.int_at("n_kv"));
        GQF_ASSIGN_OR_RETURN(law.a, e.number_at("a"));
        GQF_ASSIGN_OR_RETURN(law.b, e.number_at("b"));
        GQF_ASSIGN_OR_RETURN(law.e, e.number_at("E"));
        GQF_ASSIGN_OR_RETURN(law.se_a, read_optional(e, "se_a"));
        GQF_ASSIGN_OR_RETURN(law.se_b, read_optional(e, "se_b"));
        GQF_ASSIGN_OR_RETURN(law.se_e, read_optional(e, "se_E"));
        if (h.n_heads <= 0 || h.n_kv_heads <= 0 || h.n_kv_heads > h.n_heads) {
          return invalid_argument("heads ({},{}) are invalid (need 0 < n_kv <= n_h)", h.n_heads, h.n_kv_heads);
        }
        return check_law(law, "law");
      };
      GQF_RETURN_IF_ERROR_CTX(fill(), where);
      for (const auto& existing : m.table_) {
        if (existing.first == h) return invalid_argument("{}: duplicate law for heads {}", where, h.to_string());
      }
      m.table_.emplace_back(h, law);
    }
  } else {
    return invalid_argument("form '{}' is not 'table' or 'parametric'", form);
  }
  if (const Json* hl = doc.find("head_laws")) {
    if (!hl->is_array()) return invalid_argument("key 'head_laws' must be an array");
    for (size_t i = 0; i < hl->size(); ++i) {
      const Json& e = hl->as_array()[i];
      HeadCountLaw law;
      auto fill = [&]() -> Status {
        if (!e.is_object()) return invalid_argument("must be an object");
        GQF_ASSIGN_OR_RETURN(law.label, e.string_at("label"));
        GQF_ASSIGN_OR_RETURN(law.params, e.number_at("params"));
        GQF_ASSIGN_OR_RETURN(law.context, e.number_at("context"));
        GQF_ASSIGN_OR_RETURN(law.a, e.number_at("a"));
        GQF_ASSIGN_OR_RETURN(law.b, e.number_at("b"));
        GQF_ASSIGN_OR_RETURN(law.c, e.number_at("c"));
        GQF_ASSIGN_OR_RETURN(law.se_a, read_optional(e, "se_a"));
        GQF_ASSIGN_OR_RETURN(law.se_b, read_optional(e, "se_b"));
        GQF_ASSIGN_OR_RETURN(law.se_c, read_optional(e, "se_c"));
        if (e.find("r2")) { GQF_ASSIGN_OR_RETURN(law.r2, e.number_at("r2")); }
        return ok_status();
      };
      GQF_RETURN_IF_ERROR_CTX(fill(), fmt::format("head_laws[{}]", i));
      m.head_laws_.push_back(law);
    }
  }
  if (const Json* notes = doc.find("notes")) m.notes_ = *notes;
  return m;
}

Result<LossModel> LossModel::parse(std::string_view text, const std::string& source) {
  auto doc = Json::parse(text);
  if (!doc.ok()) return doc.status().with_context(source);
  auto model = from_json(*doc);
  if (!model.ok()) return model.status().with_context(source);
  return model;
}

Result<LossModel> LossModel::load(const std::filesystem::path& path) {
  GQF_ASSIGN_OR_RETURN(std::string text, read_file(path));
  return parse(text, path.string());
}

Result<LossModel> LossModel::bundled_default() {
  auto text = embedded_file("loss-model-default.json");
  if (!text) return internal_error("embedded data file 'loss-model-default.json' is missing from the build");
  return parse(*text, "<embedded>/loss-model-default.json");
}

}  // namespace gqaforge::costmodel
