// Loss model evaluation and its JSON form.
#include "costmodel/loss_model.h"

#include <cmath>

#include "core/fs.h"
#include "core/units.h"
#include "costmodel/embedded_data.h"

namespace gqaforge::costmodel {
namespace {

constexpr const char* kFormat = "gqaforge-loss-model";
constexpr const char* kTerms[6] = {"1", "x", "y", "xx", "xy", "yy"};

double quadratic(const std::array<double, 6>& c, double x, double y) {
  return c[0] + c[1] * x + c[2] * y + c[3] * x * x + c[4] * x * y + c[5] * y * y;
}

Json optional_number(const std::optional<double>& v) {
  return v ? Json(*v) : Json();
}

Result<std::optional<double>> read_optional(const Json& obj, std::string_view key) {
  const Json* v = json_find(obj, key);
  if (v == nullptr || v->is_null()) return std::optional<double>();
  GQF_ASSIGN_OR_RETURN(double x, json_number_at(obj, key));
  return std::optional<double>(x);
}

Result<std::array<double, 6>> read_terms(const Json& obj, std::string_view key) {
  GQF_ASSIGN_OR_RETURN(const Json* arr, json_array_at(obj, key));
  if (arr->size() != 6) {
    return invalid_argument("key '{}' must list 6 coefficients (terms 1, x, y, xx, xy, yy), got {}", key, arr->size());
  }
  std::array<double, 6> out{};
  for (size_t i = 0; i < 6; ++i) {
    const Json& v = (*arr)[i];
    if (!v.is_number()) {
      return invalid_argument("key '{}' coefficient {} ('{}') is {}, expected a number", key, i, kTerms[i],
                              v.type_name());
    }
    out[i] = v.get<double>();
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

double PowerLaw::predict(double params) const {
  return std::pow(a / params, b) + e;
}

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

double HeadFactorLaw::factor(double n_heads, double n_kv_heads) const {
  return kappa + (1.0 - kappa) * std::pow(n_heads, -beta_q) * std::pow(n_kv_heads, -beta_kv);
}

double HeadFactorLaw::exponent(double n_heads, double n_kv_heads) const {
  return b + gamma_q * std::log2(n_heads) + gamma_kv * std::log2(n_kv_heads);
}

PowerLaw HeadFactorLaw::at(const HeadConfig& h) const {
  const double nh = static_cast<double>(h.n_heads), nkv = static_cast<double>(h.n_kv_heads);
  PowerLaw law;
  law.b = exponent(nh, nkv);
  law.a = a * std::pow(factor(nh, nkv), 1.0 / law.b);
  law.e = e;
  return law;
}

Status HeadFactorLaw::validate() const {
  if (!(a > 0) || !std::isfinite(a)) return invalid_argument("a = {} must be positive", a);
  if (!(b > 0) || !std::isfinite(b)) return invalid_argument("b = {} must be positive", b);
  if (!std::isfinite(e)) return invalid_argument("E = {} must be finite", e);
  if (!(kappa >= 0 && kappa < 1)) return invalid_argument("kappa = {} must be in [0, 1)", kappa);
  if (!(beta_q >= 0) || !std::isfinite(beta_q)) return invalid_argument("beta_q = {} must be >= 0", beta_q);
  if (!(beta_kv >= 0) || !std::isfinite(beta_kv)) return invalid_argument("beta_kv = {} must be >= 0", beta_kv);
  if (!(gamma_q >= 0) || !std::isfinite(gamma_q)) return invalid_argument("gamma_q = {} must be >= 0", gamma_q);
  if (!(gamma_kv >= 0) || !std::isfinite(gamma_kv)) return invalid_argument("gamma_kv = {} must be >= 0", gamma_kv);
  return ok_status();
}

Result<HeadFactorLaw> HeadFactorLaw::from_json(const Json& object, double e) {
  if (!object.is_object()) return invalid_argument("must be an object");
  HeadFactorLaw l;
  l.e = e;
  GQF_ASSIGN_OR_RETURN(l.a, json_number_at(object, "a"));
  GQF_ASSIGN_OR_RETURN(l.b, json_number_at(object, "b"));
  GQF_ASSIGN_OR_RETURN(l.kappa, json_number_at(object, "kappa"));
  GQF_ASSIGN_OR_RETURN(l.beta_q, json_number_at(object, "beta_q"));
  GQF_ASSIGN_OR_RETURN(l.beta_kv, json_number_at(object, "beta_kv"));
  GQF_ASSIGN_OR_RETURN(l.gamma_q, json_number_at(object, "gamma_q"));
  GQF_ASSIGN_OR_RETURN(l.gamma_kv, json_number_at(object, "gamma_kv"));
  GQF_RETURN_IF_ERROR(l.validate());
  return l;
}

Result<ValidRange> ValidRange::from_json(const Json& object) {
  if (!object.is_object()) return invalid_argument("must be an object");
  ValidRange r;
  GQF_ASSIGN_OR_RETURN(const Json* params, json_array_at(object, "params"));
  if (params->size() != 2 || !(*params)[0].is_number() || !(*params)[1].is_number()) {
    return invalid_argument("key 'params' must be [min, max] (max 0 = unbounded)");
  }
  r.min_params = (*params)[0].get<double>();
  r.max_params = (*params)[1].get<double>();
  if (!(r.min_params >= 0) || !(r.max_params >= 0) || (r.max_params > 0 && r.max_params < r.min_params)) {
    return invalid_argument("params [{}, {}] is not a range of non-negative counts", r.min_params, r.max_params);
  }
  GQF_ASSIGN_OR_RETURN(r.max_heads, json_int_at(object, "max_heads"));
  if (r.max_heads < 0) return invalid_argument("max_heads {} must be >= 0", r.max_heads);
  return r;
}

bool ValidRange::contains_params(double params) const {
  return params >= min_params && (max_params <= 0 || params <= max_params);
}

std::string ValidRange::describe() const {
  if (!bounded() && min_params <= 0) return "unbounded";
  std::string out = max_params > 0
                        ? fmt::format("N from {} to {} parameters", format_scale(min_params), format_scale(max_params))
                        : fmt::format("N from {} parameters", format_scale(min_params));
  if (max_heads > 0) out += fmt::format(", n_h up to {}", max_heads);
  return out;
}

double HeadCountLaw::predict(double n_heads) const {
  return a * std::pow(n_heads, b) + c;
}

Result<HeadCountLaw> HeadCountLaw::from_json(const Json& object) {
  if (!object.is_object()) return invalid_argument("must be an object");
  HeadCountLaw law;
  GQF_ASSIGN_OR_RETURN(law.label, json_string_at(object, "label"));
  GQF_ASSIGN_OR_RETURN(law.params, json_number_at(object, "params"));
  GQF_ASSIGN_OR_RETURN(law.context, json_number_at(object, "context"));
  GQF_ASSIGN_OR_RETURN(law.a, json_number_at(object, "a"));
  GQF_ASSIGN_OR_RETURN(law.b, json_number_at(object, "b"));
  GQF_ASSIGN_OR_RETURN(law.c, json_number_at(object, "c"));
  GQF_ASSIGN_OR_RETURN(law.se_a, read_optional(object, "se_a"));
  GQF_ASSIGN_OR_RETURN(law.se_b, read_optional(object, "se_b"));
  GQF_ASSIGN_OR_RETURN(law.se_c, read_optional(object, "se_c"));
  if (json_find(object, "r2")) {
    GQF_ASSIGN_OR_RETURN(law.r2, json_number_at(object, "r2"));
  }
  return law;
}

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

LossModel LossModel::from_head_factor(const HeadFactorLaw& law) {
  LossModel m;
  m.form_ = Form::kHeadFactor;
  m.shared_e_ = true;
  m.head_factor_ = law;
  return m;
}

double LossModel::irreducible_loss() const {
  switch (form_) {
    case Form::kParametric:
      return parametric_.e;
    case Form::kHeadFactor:
      return head_factor_.e;
    case Form::kTable:
      break;
  }
  return table_.empty() ? 0.0 : table_.front().second.e;
}

Result<PowerLaw> LossModel::law_for(const HeadConfig& h) const {
  if (h.n_heads <= 0 || h.n_kv_heads <= 0 || h.n_kv_heads > h.n_heads) {
    return invalid_argument("head configuration {} is invalid (need 0 < n_kv <= n_h)", h.to_string());
  }
  if (form_ == Form::kHeadFactor) return head_factor_.at(h);
  if (form_ == Form::kParametric) {
    PowerLaw law = parametric_.at(h);
    if (!(law.b > 0)) {
      return invalid_argument(
          "the parametric loss model gives exponent b = {} <= 0 at {}: "
          "outside its range",
          law.b, h.to_string());
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
  return not_found("the loss model has no law for heads {} (it has {})", h.to_string(), have.empty() ? "none" : have);
}

bool LossModel::covers(const HeadConfig& h) const {
  return law_for(h).ok();
}

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
  doc["format"] = kFormat;
  doc["version"] = 1;
  doc["description"] = description_;
  doc["law"] = "L(N; H) = (a_H / N)^b_H + E_H, N = non-embedding parameters";
  doc["context"] = context_;
  doc["form"] = form_ == Form::kTable ? "table" : (form_ == Form::kParametric ? "parametric" : "head-factor");
  doc["shared_E"] = shared_e_;
  if (form_ == Form::kHeadFactor) {
    doc["E"] = head_factor_.e;
    Json p = Json::object();
    p["law"] =
        "L(N; H) = f(H) (a / N)^b_H + E, f(H) = kappa + (1 - kappa) n_h^(-beta_q) n_kv^(-beta_kv), "
        "b_H = b + gamma_q log2 n_h + gamma_kv log2 n_kv";
    p["a"] = head_factor_.a;
    p["b"] = head_factor_.b;
    p["kappa"] = head_factor_.kappa;
    p["beta_q"] = head_factor_.beta_q;
    p["beta_kv"] = head_factor_.beta_kv;
    p["gamma_q"] = head_factor_.gamma_q;
    p["gamma_kv"] = head_factor_.gamma_kv;
    doc["head_factor"] = p;
  } else if (form_ == Form::kParametric) {
    doc["E"] = parametric_.e;
    Json p = Json::object();
    Json terms = Json::array();
    for (const char* t : kTerms) terms.push_back(t);
    p["variables"] = "x = log2(n_h), y = log2(n_kv)";
    p["terms"] = terms;
    Json la = Json::array(), b = Json::array();
    for (double v : parametric_.log_a) la.push_back(v);
    for (double v : parametric_.b) b.push_back(v);
    p["log_a"] = la;
    p["b"] = b;
    doc["parametric"] = p;
  } else {
    if (shared_e_ && !table_.empty()) doc["E"] = table_.front().second.e;
    Json laws = Json::array();
    for (const auto& [h, law] : table_) {
      Json e = Json::object();
      e["n_h"] = h.n_heads;
      e["n_kv"] = h.n_kv_heads;
      e["a"] = law.a;
      e["b"] = law.b;
      e["E"] = law.e;
      if (law.se_a || law.se_b || law.se_e) {
        e["se_a"] = optional_number(law.se_a);
        e["se_b"] = optional_number(law.se_b);
        e["se_E"] = optional_number(law.se_e);
      }
      laws.push_back(e);
    }
    doc["laws"] = laws;
  }
  if (range_.bounded() || range_.min_params > 0) {
    Json r = Json::object();
    Json params = Json::array();
    params.push_back(range_.min_params);
    params.push_back(range_.max_params);
    r["params"] = params;
    r["max_heads"] = range_.max_heads;
    doc["valid_range"] = r;
  }
  if (!head_laws_.empty()) {
    Json arr = Json::array();
    for (const HeadCountLaw& hl : head_laws_) {
      Json e = Json::object();
      e["label"] = hl.label;
      e["params"] = hl.params;
      e["context"] = hl.context;
      e["a"] = hl.a;
      e["b"] = hl.b;
      e["c"] = hl.c;
      if (hl.se_a || hl.se_b || hl.se_c) {
        e["se_a"] = optional_number(hl.se_a);
        e["se_b"] = optional_number(hl.se_b);
        e["se_c"] = optional_number(hl.se_c);
      }
      if (hl.r2 != 0) e["r2"] = hl.r2;
      arr.push_back(e);
    }
    doc["head_laws"] = arr;
  }
  if (notes_.is_structured() && !notes_.empty()) doc["notes"] = notes_;
  return doc;
}

Result<LossModel> LossModel::from_json(const Json& doc) {
  if (!doc.is_object()) return invalid_argument("a loss model must be a JSON object");
  GQF_ASSIGN_OR_RETURN(std::string format, json_string_at(doc, "format"));
  if (format != kFormat) return invalid_argument("format '{}' is not '{}'", format, kFormat);
  GQF_ASSIGN_OR_RETURN(int64_t version, json_int_at(doc, "version"));
  if (version != 1) return invalid_argument("unsupported loss-model version {} (expected 1)", version);
  GQF_ASSIGN_OR_RETURN(std::string form, json_string_at(doc, "form"));
  LossModel m;
  if (const Json* d = json_find(doc, "description"); d && d->is_string()) m.description_ = d->get<std::string>();
  if (json_find(doc, "context")) {
    GQF_ASSIGN_OR_RETURN(m.context_, json_number_at(doc, "context"));
    if (!(m.context_ > 0)) return invalid_argument("context {} must be positive", m.context_);
  }
  if (form == "head-factor") {
    m.form_ = Form::kHeadFactor;
    m.shared_e_ = true;
    GQF_ASSIGN_OR_RETURN(m.head_factor_.e, json_number_at(doc, "E"));
    GQF_ASSIGN_OR_RETURN(const Json* p, json_object_at(doc, "head_factor"));
    auto law = HeadFactorLaw::from_json(*p, m.head_factor_.e);
    if (!law.ok()) return law.status().with_context("head_factor");
    m.head_factor_ = *law;
  } else if (form == "parametric") {
    m.form_ = Form::kParametric;
    m.shared_e_ = true;
    GQF_ASSIGN_OR_RETURN(m.parametric_.e, json_number_at(doc, "E"));
    GQF_ASSIGN_OR_RETURN(const Json* p, json_object_at(doc, "parametric"));
    auto la = read_terms(*p, "log_a");
    if (!la.ok()) return la.status().with_context("parametric");
    auto b = read_terms(*p, "b");
    if (!b.ok()) return b.status().with_context("parametric");
    m.parametric_.log_a = *la;
    m.parametric_.b = *b;
    if (!std::isfinite(m.parametric_.e)) return invalid_argument("E = {} must be finite", m.parametric_.e);
  } else if (form == "table") {
    m.form_ = Form::kTable;
    GQF_ASSIGN_OR_RETURN(m.shared_e_, json_bool_at(doc, "shared_E"));
    GQF_ASSIGN_OR_RETURN(const Json* laws, json_array_at(doc, "laws"));
    if (laws->size() == 0) return invalid_argument("key 'laws' is empty: a table model needs at least one law");
    for (size_t i = 0; i < laws->size(); ++i) {
      const Json& e = (*laws)[i];
      std::string where = fmt::format("laws[{}]", i);
      if (!e.is_object()) return invalid_argument("{} must be an object", where);
      HeadConfig h;
      PowerLaw law;
      auto fill = [&]() -> Status {
        GQF_ASSIGN_OR_RETURN(h.n_heads, json_int_at(e, "n_h"));
        GQF_ASSIGN_OR_RETURN(h.n_kv_heads, json_int_at(e, "n_kv"));
        GQF_ASSIGN_OR_RETURN(law.a, json_number_at(e, "a"));
        GQF_ASSIGN_OR_RETURN(law.b, json_number_at(e, "b"));
        GQF_ASSIGN_OR_RETURN(law.e, json_number_at(e, "E"));
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
    return invalid_argument("form '{}' is not 'table', 'head-factor' or 'parametric'", form);
  }
  if (const Json* r = json_find(doc, "valid_range")) {
    auto range = ValidRange::from_json(*r);
    if (!range.ok()) return range.status().with_context("valid_range");
    m.range_ = *range;
  }
  if (const Json* hl = json_find(doc, "head_laws")) {
    if (!hl->is_array()) return invalid_argument("key 'head_laws' must be an array");
    for (size_t i = 0; i < hl->size(); ++i) {
      auto law = HeadCountLaw::from_json((*hl)[i]);
      if (!law.ok()) return law.status().with_context(fmt::format("head_laws[{}]", i));
      m.head_laws_.push_back(*law);
    }
  }
  if (const Json* notes = json_find(doc, "notes")) m.notes_ = *notes;
  return m;
}

Result<LossModel> LossModel::parse(std::string_view text, const std::string& source) {
  auto doc = parse_json(text);
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
