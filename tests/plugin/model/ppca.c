/* An example plug-in: probabilistic PCA with one factor, whose MLE is known in closed form
 * (Tipping & Bishop 1999), built out of sagd's tree against its installed headers.
 *
 *   u_i ~ N(0, 1),   x_i | u_i ~ N(mu + w u_i, sigma^2 I_d),   theta = (mu[d], w[d], s),
 *   s = log sigma^2,  p = 2d + 1,  r = 1.
 *
 *   f(theta; x, u) = -log p(x, u; theta)
 *                  = u^2/2 + |e|^2 / (2 sigma^2) + (d/2) s + ((d + 1)/2) log(2 pi),
 *   e = x - mu - w u,
 *   grad_u f = u - w.e / sigma^2,   grad_mu f = -e / sigma^2,   grad_w f = -u e / sigma^2,
 *   df/ds = d/2 - |e|^2 / (2 sigma^2).
 *
 * Marginally x ~ N(mu, C), C = sigma^2 I + w w^T, so log p(x; theta) is closed form; the MLE
 * is mu = the sample mean, sigma^2 = the mean of the d - 1 smallest eigenvalues of the
 * sample covariance S, w = sqrt(lambda_1 - sigma^2) times the leading eigenvector (up to
 * sign). The test computes that MLE independently (numpy) and compares.
 *
 * plugin.params = d [, fail_at]: the dimension (default 3), and, for the test of a model
 * that fails, a data index whose potential returns an error. data.file: n*d numbers, one
 * point per row; otherwise data.n points are generated from mu = (1, -1, 0.5, 0, ...),
 * w = (2, 1, -1, 0.5, ...), sigma^2 = 0.5, keyed by (run.seed, run.replication). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <sagd/plugin.h>
#include <sagd/runfile.h>

typedef struct {
  size_t n, d;
  double *x;    /* n x d */
  long fail_at; /* -1: never */
} ppca;

static const double LOG_2PI = 1.8378770664093454836;

static int ppca_potential(void *vc, const double *theta, size_t i0, size_t nb, size_t C,
                          const double *xi, double *V, double *grad_xi) {
  const ppca *m = vc;
  const size_t d = m->d;
  const double *mu = theta, *w = theta + d, s2 = exp(theta[2 * d]);
  for (size_t q = 0; q < nb * C; q++) {
    const size_t i = i0 + q / C;
    SAGD_CHECK(m->fail_at < 0 || i != (size_t)m->fail_at, SAGD_ERR_NUMERIC,
               "potential not finite at data point %zu (plugin.params asked for it)", i);
    const double u = xi[q], *x = m->x + i * d;
    double ee = 0, we = 0;
    for (size_t j = 0; j < d; j++) {
      const double e = x[j] - mu[j] - w[j] * u;
      ee += e * e;
      we += w[j] * e;
    }
    if (V != NULL) {
      V[q] = 0.5 * u * u + 0.5 * ee / s2 + 0.5 * (double)d * theta[2 * d] +
             0.5 * (double)(d + 1) * LOG_2PI;
    }
    if (grad_xi != NULL) {
      grad_xi[q] = u - we / s2;
    }
  }
  return SAGD_OK;
}

static int ppca_grad_theta(void *vc, const double *theta, size_t i0, size_t nb, size_t C,
                           const double *xi, double *g) {
  const ppca *m = vc;
  const size_t d = m->d;
  const double *mu = theta, *w = theta + d, s2 = exp(theta[2 * d]);
  for (size_t q = 0; q < nb * C; q++) {
    const double u = xi[q], *x = m->x + (i0 + q / C) * d;
    double ee = 0;
    for (size_t j = 0; j < d; j++) {
      const double e = x[j] - mu[j] - w[j] * u;
      ee += e * e;
      g[j] -= e / s2;
      g[d + j] -= u * e / s2;
    }
    g[2 * d] += 0.5 * (double)d - 0.5 * ee / s2;
  }
  return SAGD_OK;
}

static void ppca_destroy(void *vc) {
  ppca *m = vc;
  free(m->x);
  free(m);
}

static int ppca_open(const sagd_plugin_args *a, void **ctx, size_t *n, size_t *r, size_t *p) {
  double dd = a->nparams >= 1 ? a->params[0] : 3;
  SAGD_CHECK(a->nparams <= 2, SAGD_ERR_CONFIG,
             "plugin.params has %zu values: expected d [, fail_at]", a->nparams);
  SAGD_CHECK(dd >= 1 && dd <= 64 && dd == floor(dd), SAGD_ERR_CONFIG,
             "plugin.params[0] = %g: expected the dimension d, an integer in [1, 64]", dd);
  ppca *m = calloc(1, sizeof *m);
  SAGD_CHECK(m != NULL, SAGD_ERR_MEM, "cannot allocate the ppca context");
  m->d = (size_t)dd;
  m->fail_at = a->nparams >= 2 ? (long)a->params[1] : -1;
  if (a->data_file[0] != '\0') {
    size_t count = 0;
    SAGD_CALL(sagd_read_text_data(a->data_file, &m->x, &count));
    SAGD_CHECK(count % m->d == 0 && count > 0, SAGD_ERR_DATA,
               "data.file = '%s' holds %zu numbers: expected n rows of d = %zu", a->data_file,
               count, m->d);
    m->n = count / m->d;
  } else {
    m->n = a->n;
    m->x = calloc(m->n * m->d, sizeof(double));
    SAGD_CHECK(m->x != NULL, SAGD_ERR_MEM, "cannot allocate %zu x %zu data", m->n, m->d);
    sagd_rng_gsl rng = NULL;
    SAGD_CALL(sagd_rng_gsl_create(&rng));
    double *z = malloc((m->d + 1) * sizeof(double));
    SAGD_CHECK(z != NULL, SAGD_ERR_MEM, "cannot allocate a draw");
    for (size_t i = 0; i < m->n; i++) { /* point i: a pure function of (key, i) */
      sagd_rng_normals(rng, a->key, SAGD_STREAM_DATA, i, 0, 0, m->d + 1, z);
      for (size_t j = 0; j < m->d; j++) {
        const double mu = j == 0 ? 1 : j == 1 ? -1 : j == 2 ? 0.5 : 0;
        const double w = j == 0 ? 2 : j == 1 ? 1 : j == 2 ? -1 : 0.5;
        m->x[i * m->d + j] = mu + w * z[0] + sqrt(0.5) * z[1 + j];
      }
    }
    free(z);
    sagd_rng_gsl_destroy(&rng);
  }
  *ctx = m;
  *n = m->n;
  *r = 1;
  *p = 2 * m->d + 1;
  return SAGD_OK;
}

static int ppca_defaults(void *vc, double *theta0, double *lower, double *upper) {
  const ppca *m = vc;
  for (size_t j = 0; j < 2 * m->d + 1; j++) {
    theta0[j] = j < m->d ? 0 : j < 2 * m->d ? 0.5 : 0; /* w = 0 is a saddle: start off it */
    lower[j] = j < 2 * m->d ? -100 : -20;
    upper[j] = j < 2 * m->d ? 100 : 20;
  }
  return SAGD_OK;
}

static int ppca_data(void *vc, const double **x, size_t *d) {
  const ppca *m = vc;
  *x = m->x;
  *d = m->d;
  return SAGD_OK;
}

/* log N(x; mu, sigma^2 I + w w^T): det C = sigma^(2(d-1)) (sigma^2 + |w|^2),
 * C^-1 = (I - w w^T / (sigma^2 + |w|^2)) / sigma^2. */
static int ppca_loglik(void *vc, const double *theta, size_t i0, size_t i1, double *ll) {
  const ppca *m = vc;
  const size_t d = m->d;
  const double *mu = theta, *w = theta + d, s = theta[2 * d], s2 = exp(s);
  double ww = 0;
  for (size_t j = 0; j < d; j++) {
    ww += w[j] * w[j];
  }
  const double a = s2 + ww, logdet = (double)(d - 1) * s + log(a);
  double sum = 0;
  for (size_t i = i0; i < i1; i++) {
    double yy = 0, wy = 0;
    for (size_t j = 0; j < d; j++) {
      const double y = m->x[i * d + j] - mu[j];
      yy += y * y;
      wy += w[j] * y;
    }
    sum += -0.5 * ((double)d * LOG_2PI + logdet + (yy - wy * wy / a) / s2);
  }
  *ll = sum;
  return SAGD_OK;
}

static const sagd_plugin ppca_plugin = {
    SAGD_PLUGIN_ABI_VERSION,
    "ppca",
    "probabilistic PCA, one factor: x = mu + w u + sigma eps (closed-form MLE)",
    {"ppca", ppca_potential, ppca_grad_theta, ppca_destroy, NULL},
    ppca_open,
    ppca_defaults,
    ppca_data,
    ppca_loglik,
};

#ifndef PPCA_NO_ENTRY /* the test builds a copy without the entry point */
const sagd_plugin *sagd_plugin_entry(void) {
#ifdef PPCA_ABI /* ... and one that claims another ABI version */
  static sagd_plugin other;
  other = ppca_plugin;
  other.abi_version = PPCA_ABI;
  return &other;
#else
  return &ppca_plugin;
#endif
}
#endif
