/* Held-out scoring of a VAE's generator: importance-sampling estimates of log p(x; θ) with the
 * encoder as proposal (see sagd_vae_is_loglik in include/sagd/vae.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sagd/error.h"
#include "sagd/nn.h"
#include "sagd/rng.h"
#include "sagd/vae.h"

typedef struct {
  double *eo, *u, *h, *lw, *eps, *sig;
  sagd_rng_gsl rng;
} score_scratch_;

static void scratch_free_(score_scratch_ *w) {
  free(w->eo);
  free(w->u);
  free(w->h);
  free(w->lw);
  free(w->eps);
  free(w->sig);
  sagd_rng_gsl_destroy(&w->rng);
}

/* One point: log (1/S) Σ_s w_s over S samples drawn in chunks of `cap` rows (the same chunks
 * whatever the rank), the log-weights kept for one log-sum-exp at the end. */
static int point_(sagd_mlp gen, const double *theta, const sagd_likelihood_type *lik,
                  sagd_rng_key key, uint64_t t, const double *x, const double *eo, size_t gi,
                  size_t S, size_t cap, score_scratch_ *w, double *ll) {
  const size_t r = sagd_mlp_in(gen), wd = sagd_mlp_out(gen), p = wd / lik->outputs;
  const double *mu = eo, *lv = eo + r;
  double slv = 0, *sig = w->sig;
  for (size_t j = 0; j < r; j++) {
    slv += lv[j];
    sig[j] = exp(0.5 * lv[j]); /* once per point, not per sample */
  }
  const double cst = lik->constant(p);
  for (size_t s0 = 0; s0 < S; s0 += cap) {
    const size_t nb = S - s0 < cap ? S - s0 : cap;
    for (size_t q = 0; q < nb; q++) {
      double *eps = w->eps + q * r, *u = w->u + q * r;
      sagd_rng_normals(w->rng, key, SAGD_STREAM_REPARAM, (uint64_t)gi, t, s0 + q, r, eps);
      for (size_t j = 0; j < r; j++) {
        u[j] = mu[j] + sig[j] * eps[j];
      }
    }
    SAGD_CALL(sagd_mlp_forward(gen, theta, nb, w->u, w->h));
    for (size_t q = 0; q < nb; q++) {
      double rec = 0, uu = 0, ee = 0;
      lik->nll_row(w->h + q * wd, x, p, 1.0, &rec, NULL);
      for (size_t j = 0; j < r; j++) {
        uu += w->u[q * r + j] * w->u[q * r + j];
        ee += w->eps[q * r + j] * w->eps[q * r + j];
      }
      /* log p(x|u) + log N(u; 0, I) - log q(u|x): the 2π terms cancel */
      w->lw[s0 + q] = -rec - cst - 0.5 * uu + 0.5 * slv + 0.5 * ee;
    }
  }
  double mx = -INFINITY;
  for (size_t s = 0; s < S; s++) {
    mx = w->lw[s] > mx ? w->lw[s] : mx;
  }
  SAGD_CHECK(isfinite(mx), SAGD_ERR_NUMERIC,
             "importance-sampling log-likelihood: non-finite weights for point %zu", gi);
  double sw = 0;
  for (size_t s = 0; s < S; s++) {
    sw += exp(w->lw[s] - mx);
  }
  *ll = mx + log(sw / (double)S);
  return SAGD_OK;
}

int sagd_vae_is_loglik(sagd_mlp gen, sagd_mlp enc, const double *theta, const double *phi,
                       const sagd_likelihood_type *lik, sagd_rng_key key, uint64_t t,
                       const double *x, size_t m, size_t i0, size_t S, double *ll) {
  SAGD_CHECK(gen != NULL && enc != NULL && theta != NULL && phi != NULL && ll != NULL,
             SAGD_ERR_ARG, "sagd_vae_is_loglik: networks, parameters and output must be given");
  SAGD_CHECK(S >= 1, SAGD_ERR_ARG, "importance-sampling log-likelihood: S = %zu samples, "
             "expected >= 1", S);
  lik = lik != NULL ? lik : &sagd_likelihood_gaussian;
  const size_t r = sagd_mlp_in(gen), wd = sagd_mlp_out(gen), p = wd / lik->outputs;
  SAGD_CHECK(wd % lik->outputs == 0 && sagd_mlp_in(enc) == p && sagd_mlp_out(enc) == 2 * r,
             SAGD_ERR_ARG,
             "importance-sampling log-likelihood: encoder %zu -> %zu for a generator %zu -> "
             "%zu (%zu outputs per coordinate, likelihood %s): expected %zu -> %zu",
             sagd_mlp_in(enc), sagd_mlp_out(enc), r, wd, lik->outputs, lik->name, p, 2 * r);
  if (m == 0) {
    return SAGD_OK;
  }
  const size_t cap = sagd_mlp_max_batch(gen) < S ? sagd_mlp_max_batch(gen) : S;
  score_scratch_ w = {0};
  int rc = SAGD_OK;
  w.eo = malloc(2 * r * sizeof(double));
  w.u = malloc(cap * r * sizeof(double));
  w.eps = malloc(cap * r * sizeof(double));
  w.h = malloc(cap * wd * sizeof(double));
  w.lw = malloc(S * sizeof(double));
  w.sig = malloc(r * sizeof(double));
  if (w.eo == NULL || w.u == NULL || w.eps == NULL || w.h == NULL || w.lw == NULL ||
      w.sig == NULL) {
    rc = sagd_error_set(SAGD_ERR_MEM, __FILE__, __LINE__, __func__,
                        "cannot allocate the scratch of an importance-sampling estimate "
                        "(%zu samples)",
                        S);
    goto done;
  }
  SAGD_TRY(rc, done, sagd_rng_gsl_create(&w.rng));
  SAGD_TRY(rc, done, sagd_mlp_prepare(gen, theta));
  SAGD_TRY(rc, done, sagd_mlp_prepare(enc, phi));
  /* one point at a time (the encoder too): every GEMM has the same shape on any rank */
  for (size_t q = 0; q < m; q++) {
    SAGD_TRY(rc, done, sagd_mlp_forward(enc, phi, 1, x + q * p, w.eo));
    SAGD_TRY(rc, done, point_(gen, theta, lik, key, t, x + q * p, w.eo, i0 + q, S, cap, &w,
                              &ll[q]));
  }
done:
  scratch_free_(&w);
  return rc == SAGD_OK ? SAGD_OK : sagd_error_trace(rc, __FILE__, __LINE__, __func__);
}
