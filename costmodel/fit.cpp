// Levenberg-Marquardt and the small dense linear algebra it needs.
#include "costmodel/fit.h"

#include <cmath>
#include <limits>

namespace gqaforge::costmodel {
namespace {

using Matrix = std::vector<std::vector<double>>;

bool cholesky(Matrix& a) {
  size_t n = a.size();
  for (size_t j = 0; j < n; ++j) {
    double d = a[j][j];
    for (size_t k = 0; k < j; ++k) d -= a[j][k] * a[j][k];
    if (!(d > 0) || !std::isfinite(d)) return false;
    a[j][j] = std::sqrt(d);
    for (size_t i = j + 1; i < n; ++i) {
      double s = a[i][j];
      for (size_t k = 0; k < j; ++k) s -= a[i][k] * a[j][k];
      a[i][j] = s / a[j][j];
    }
  }
  return true;
}

void cholesky_solve(const Matrix& l, std::vector<double>& b) {
  size_t n = l.size();
  for (size_t i = 0; i < n; ++i) {
    double s = b[i];
    for (size_t k = 0; k < i; ++k) s -= l[i][k] * b[k];
    b[i] = s / l[i][i];
  }
  for (size_t i = n; i-- > 0;) {
    double s = b[i];
    for (size_t k = i + 1; k < n; ++k) s -= l[k][i] * b[k];
    b[i] = s / l[i][i];
  }
}

double sum_squares(const std::vector<double>& r) {
  double s = 0;
  for (double v : r) s += v * v;
  return s;
}

bool all_finite(const std::vector<double>& r) {
  for (double v : r) {
    if (!std::isfinite(v)) return false;
  }
  return true;
}

Matrix jacobian(const ResidualFn& f, const std::vector<double>& p, size_t m, double rel_step) {
  size_t n = p.size();
  Matrix j(m, std::vector<double>(n, 0.0));
  std::vector<double> plus(m), minus(m);
  for (size_t c = 0; c < n; ++c) {
    double h = rel_step * std::max(1.0, std::fabs(p[c]));
    std::vector<double> q = p;
    q[c] = p[c] + h;
    f(q, plus);
    q[c] = p[c] - h;
    f(q, minus);
    for (size_t r = 0; r < m; ++r) j[r][c] = (plus[r] - minus[r]) / (2 * h);
  }
  return j;
}

}  // namespace

bool solve_spd(Matrix a, std::vector<double>& b) {
  if (!cholesky(a)) return false;
  cholesky_solve(a, b);
  return true;
}

bool invert_spd(const Matrix& a, Matrix& inverse) {
  Matrix l = a;
  if (!cholesky(l)) return false;
  size_t n = a.size();
  inverse.assign(n, std::vector<double>(n, 0.0));
  for (size_t c = 0; c < n; ++c) {
    std::vector<double> e(n, 0.0);
    e[c] = 1.0;
    cholesky_solve(l, e);
    for (size_t r = 0; r < n; ++r) inverse[r][c] = e[r];
  }
  return true;
}

bool linear_least_squares(const Matrix& x, const std::vector<double>& y, std::vector<double>& coefficients) {
  if (x.empty()) return false;
  size_t n = x.front().size();
  Matrix ata(n, std::vector<double>(n, 0.0));
  std::vector<double> aty(n, 0.0);
  for (size_t r = 0; r < x.size(); ++r) {
    for (size_t i = 0; i < n; ++i) {
      aty[i] += x[r][i] * y[r];
      for (size_t j = 0; j < n; ++j) ata[i][j] += x[r][i] * x[r][j];
    }
  }
  // Tiny ridge relative to the diagonal keeps near-collinear designs solvable.
  for (size_t i = 0; i < n; ++i) ata[i][i] *= 1.0 + 1e-12;
  coefficients = aty;
  return solve_spd(ata, coefficients);
}

Result<LmResult> levenberg_marquardt(const ResidualFn& f, size_t m, std::vector<double> p, const LmOptions& o) {
  size_t n = p.size();
  if (n == 0) return invalid_argument("nothing to fit: no parameters");
  if (m < n) return invalid_argument("{} data points cannot determine {} parameters", m, n);
  LmResult out;
  std::vector<double> r(m);
  f(p, r);
  if (!all_finite(r)) return invalid_argument("the model is not finite at the initial parameters");
  double cost = sum_squares(r);
  double lambda = o.initial_damping;
  for (int it = 0; it < o.max_iterations; ++it) {
    out.iterations = it + 1;
    Matrix j = jacobian(f, p, m, o.jacobian_step);
    Matrix jtj(n, std::vector<double>(n, 0.0));
    std::vector<double> jtr(n, 0.0);
    for (size_t row = 0; row < m; ++row) {
      for (size_t a = 0; a < n; ++a) {
        jtr[a] += j[row][a] * r[row];
        for (size_t b = 0; b < n; ++b) jtj[a][b] += j[row][a] * j[row][b];
      }
    }
    bool improved = false;
    for (int attempt = 0; attempt < 30 && !improved; ++attempt) {
      Matrix damped = jtj;
      for (size_t a = 0; a < n; ++a) damped[a][a] += lambda * std::max(jtj[a][a], 1e-30);
      std::vector<double> delta(n);
      for (size_t a = 0; a < n; ++a) delta[a] = -jtr[a];
      if (!solve_spd(damped, delta)) {
        lambda *= 10;
        continue;
      }
      std::vector<double> q(n);
      double step = 0, scale = 0;
      for (size_t a = 0; a < n; ++a) {
        q[a] = p[a] + delta[a];
        step += delta[a] * delta[a];
        scale += p[a] * p[a];
      }
      std::vector<double> rq(m);
      f(q, rq);
      double cq = all_finite(rq) ? sum_squares(rq) : std::numeric_limits<double>::infinity();
      if (cq < cost) {
        double rel = (cost - cq) / std::max(cost, 1e-300);
        p = q;
        r = rq;
        cost = cq;
        lambda = std::max(lambda / 10, 1e-15);
        improved = true;
        if (std::sqrt(step) <= o.step_tolerance * (std::sqrt(scale) + o.step_tolerance) || rel < o.cost_tolerance) {
          out.converged = true;
        }
      } else {
        lambda *= 10;
        if (std::sqrt(step) <= o.step_tolerance * (std::sqrt(scale) + o.step_tolerance)) {
          out.converged = true;  // no further progress possible at this resolution
          break;
        }
      }
    }
    if (!improved || out.converged) {
      out.converged = true;
      break;
    }
  }
  out.params = p;
  out.residuals = r;
  out.rss = cost;
  // Covariance at the solution: s^2 (J^T J)^-1.
  Matrix j = jacobian(f, p, m, o.jacobian_step);
  Matrix jtj(n, std::vector<double>(n, 0.0));
  for (size_t row = 0; row < m; ++row)
    for (size_t a = 0; a < n; ++a)
      for (size_t b = 0; b < n; ++b) jtj[a][b] += j[row][a] * j[row][b];
  double dof = static_cast<double>(m) - static_cast<double>(n);
  double s2 = dof > 0 ? cost / dof : std::numeric_limits<double>::quiet_NaN();
  out.std_errors.assign(n, std::numeric_limits<double>::quiet_NaN());
  Matrix inv;
  if (invert_spd(jtj, inv)) {
    out.covariance = inv;
    for (size_t a = 0; a < n; ++a) {
      for (size_t b = 0; b < n; ++b) out.covariance[a][b] *= s2;
      out.std_errors[a] = std::sqrt(std::max(0.0, out.covariance[a][a]));
    }
  }
  return out;
}

}  // namespace gqaforge::costmodel
