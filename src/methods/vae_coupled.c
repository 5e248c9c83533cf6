/* The coupled ISIR gradient estimator of Ruiz, Titsias, Cemgil & Doucet (UAI 2021) for the
 * VAE family (see include/sagd/vae.h, method "coupled").
 *
 * For each data point x of an update, with q = q_φ(· | x) the encoder and
 * w(u) = p(x, u; θ) / q(u):
 *  - ISIR kernel: from the state z, draw S - 1 proposals u_2..u_S ~ q, put u_1 = z, and move
 *    to u_J with J ~ Categorical(w(u_j) / Σ w); its invariant law is p(u | x; θ).
 *  - X_0, Y_0 ~ q independently; X_1..X_L by the kernel alone; then (X_t, Y_{t-L}) move
 *    together: the same S - 1 proposals, J_X and J_Y from a maximal coupling of the two
 *    index laws on the union of the atoms (X's state, Y's state, the shared proposals).
 *    They meet (τ = t) when both pick the same shared proposal, and stay together.
 *  - h_t = Σ_j w̄_j ∇θ f(θ; x, u_j) over step t's S weighted atoms (Rao-Blackwellised), and
 *      H = (1/(m-k+1)) [Σ_{t=k}^{m} h^X_t + Σ_{t=k+L}^{τ} v_t (h^X_t - h^Y_t)],
 *      v_t = ⌊(t-k)/L⌋ - ⌈max(L, t-m)/L⌉ + 1,
 *    unbiased for E[∇θ f(θ; x, u) | x] = -∇θ log p(x; θ). v_t counts the s in [k, m] whose
 *    telescoping sum h(X_s) + Σ_{j>=1} [h(X_{s+jL}) - h(Y_{s+(j-1)L})] has a term at t
 *    (Biswas, Jacob & Vanetti 2019); for L = 1 it is min(m-k+1, t-k). For L > 1 it is not
 *    min(m-k+1, ⌈(t-k)/L⌉): with that weight test_vae_coupled's means were 12 and 16 SE
 *    off (S = 4, k = 2, m = 5, L = 2, 20,000 estimates). The corrections run to τ - 1 and
 *    the one at τ is zero;
 *    1{t <= τ} is fixed before step t's resampling, so each term may be replaced by its
 *    expectation given step t's proposals.
 *  - A pair that has not met by tau_max stops there (biased; counted in the statistics);
 *    tau_max = m drops every correction (the plain ISIR average, biased: the tests' foil).
 * Every draw is on SAGD_STREAM_COUPLED at (data index, update t, ·): bit-identical on any
 * number of ranks. Each step is one generator forward and one backward over the rows of all
 * the part's points still running (S rows, plus Y's state while coupled). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sagd/error.h"
#include "vae_impl.h"

#define NO_ROW SIZE_MAX

int sagd_vae_coupled_alloc_(sagd_vae v) {
  sagd_vae_coupled_scratch_ *c = &v->cp;
  const size_t mp = v->maxpart, r = v->r;
  SAGD_CALLOC(c->x, mp * r, "coupled X states");
  SAGD_CALLOC(c->xe, mp * r, "coupled X noise");
  SAGD_CALLOC(c->y, mp * r, "coupled Y states");
  SAGD_CALLOC(c->ye, mp * r, "coupled Y noise");
  SAGD_CALLOC(c->lp, mp, "coupled log-joints");
  SAGD_CALLOC(c->coef, sagd_vae_max_rows(&v->opt, v->n), "coupled row coefficients");
  SAGD_CALLOC(c->lprow, sagd_vae_max_rows(&v->opt, v->n), "coupled row log-joints");
  SAGD_CALLOC(c->w, 4 * (v->opt.coupled.S + 1), "coupled weights");
  SAGD_CALLOC(c->row0, mp, "coupled row offsets");
  SAGD_CALLOC(c->tau, mp, "coupled meeting times");
  SAGD_CALLOC(c->meeting, v->nloc, "meeting times");
  for (size_t i = 0; i < v->nloc; i++) {
    c->meeting[i] = NAN;
  }
  return SAGD_OK;
}

void sagd_vae_coupled_free_(sagd_vae v) {
  sagd_vae_coupled_scratch_ *c = &v->cp;
  free(c->x);
  free(c->xe);
  free(c->y);
  free(c->ye);
  free(c->lp);
  free(c->coef);
  free(c->lprow);
  free(c->w);
  free(c->row0);
  free(c->tau);
  free(c->meeting);
  memset(c, 0, sizeof *c);
}

/* Normalised weights w[j] = exp(lw[j] - max) / Σ over n log-weights. */
static void softmax_(const double *lw, size_t n, double *w) {
  double mx = -INFINITY, s = 0;
  for (size_t j = 0; j < n; j++) {
    mx = lw[j] > mx ? lw[j] : mx;
  }
  for (size_t j = 0; j < n; j++) {
    w[j] = exp(lw[j] - mx);
    s += w[j];
  }
  for (size_t j = 0; j < n; j++) {
    w[j] /= s;
  }
}

/* The index j < n with cumulative mass (of p, total `tot`) first above u·tot; the last one
 * with positive mass if rounding leaves u·tot beyond the sum. */
static size_t pick_(const double *p, size_t n, double tot, double u) {
  double target = u * tot, c = 0;
  size_t last = 0;
  for (size_t j = 0; j < n; j++) {
    if (p[j] > 0) {
      last = j;
      c += p[j];
      if (c > target) {
        return j;
      }
    }
  }
  return last;
}

/* One row of a step: the generator's input u (r) and its ε, into the batch at `row`. */
static void put_row_(sagd_vae v, size_t row, const double *u, const double *e) {
  memcpy(v->u + row * v->r, u, v->r * sizeof(double));
  memcpy(v->eps + row * v->r, e, v->r * sizeof(double));
}

/* The coupled estimate of Σ_q H_q over the part [a, e) into blk + X_N (added to). */
static int coupled_part_(sagd_vae v, const double *theta, const double *phi, uint64_t t, size_t a,
                         size_t e, double *blk) {
  const sagd_vae_coupled_options *o = &v->opt.coupled;
  sagd_vae_coupled_scratch_ *c = &v->cp;
  const size_t m = e - a, r = v->r, p = v->p, S = o->S;
  const uint64_t k = o->k, mm = o->m, L = o->L, cap = o->tau_max;
  const double cst = 1.0 / (double)(mm - k + 1);
  SAGD_CALL(sagd_vae_encode_(v, phi, a, m));
  sagd_vae_part_sigma_(v, m);
  for (size_t q = 0; q < m; q++) { /* X_0 and Y_0 from the encoder */
    const double *mu = v->eo + q * 2 * r, *sig = v->sig + q * r;
    sagd_rng_normals(v->rng, v->opt.key, SAGD_STREAM_COUPLED, (uint64_t)(a + q), t, 0, r,
                     c->xe + q * r);
    sagd_rng_normals(v->rng, v->opt.key, SAGD_STREAM_COUPLED, (uint64_t)(a + q), t, 1, r,
                     c->ye + q * r);
    for (size_t j = 0; j < r; j++) {
      c->x[q * r + j] = mu[j] + sig[j] * c->xe[q * r + j];
      c->y[q * r + j] = mu[j] + sig[j] * c->ye[q * r + j];
    }
    c->tau[q] = 0;
    c->lp[q] = NAN;
  }
  double *wx = c->w, *wy = wx + S + 1, *mn = wy + S + 1, *lwb = mn + S + 1;
  for (uint64_t s = 1;; s++) {
    /* the batch of step s: per running point its X state, S - 1 proposals, and Y's state
     * while the pair is coupled and has not met */
    size_t rows = 0;
    for (size_t q = 0; q < m; q++) {
      const int open = c->tau[q] == 0 && s <= cap; /* not met, not stopped */
      if (!(s <= mm || open)) {
        c->row0[q] = NO_ROW;
        continue;
      }
      const double *mu = v->eo + q * 2 * r, *sig = v->sig + q * r;
      c->row0[q] = rows;
      put_row_(v, rows, c->x + q * r, c->xe + q * r);
      double *pe = v->eps + (rows + 1) * r;
      sagd_rng_normals(v->rng, v->opt.key, SAGD_STREAM_COUPLED, (uint64_t)(a + q), t, 2 * s,
                       (S - 1) * r, pe);
      for (size_t i = 0; i < (S - 1) * r; i++) {
        v->u[(rows + 1) * r + i] = mu[i % r] + sig[i % r] * pe[i];
      }
      rows += S;
      if (open && s > L) {
        put_row_(v, rows, c->y + q * r, c->ye + q * r);
        rows++;
      }
    }
    if (rows == 0) {
      break;
    }
    SAGD_CALL(sagd_mlp_forward(v->gen, theta, rows, v->u, v->h));
    int any = 0;
    for (size_t q = 0; q < m; q++) {
      const size_t r0 = c->row0[q];
      if (r0 == NO_ROW) {
        continue;
      }
      const double *x = v->x + (a - v->i_begin + q) * p;
      const double slv = sagd_vae_sum_logvar_(v, q);
      const int coupled = c->tau[q] == 0 && s <= cap && s > L;
      for (size_t j = 0; j < S + (size_t)coupled; j++) {
        lwb[j] = sagd_vae_log_weight_(v, r0 + j, x, slv, &c->lprow[r0 + j]);
        SAGD_CHECK(isfinite(lwb[j]), SAGD_ERR_NUMERIC,
                   "coupled: non-finite importance weight for data point %zu at step %llu", a + q,
                   (unsigned long long)s);
      }
      softmax_(lwb, S, wx); /* X's atoms: rows r0 (its state) .. r0 + S - 1 */
      double *cf = c->coef + r0;
      for (size_t j = 0; j < S + (size_t)coupled; j++) {
        cf[j] = 0;
      }
      if (s >= k && s <= mm) {
        for (size_t j = 0; j < S; j++) {
          cf[j] += cst * wx[j];
        }
      }
      double u3[3];
      sagd_rng_uniforms(v->rng, v->opt.key, SAGD_STREAM_COUPLED, (uint64_t)(a + q), t, 2 * s + 1, 3,
                        u3);
      size_t jx, jy = 0;
      if (!coupled) {
        jx = pick_(wx, S, 1.0, u3[0]);
      } else {
        /* Y's atoms: its state (row r0 + S, put at index 0) and the shared proposals */
        lwb[0] = lwb[S];
        softmax_(lwb, S, wy);
        if (s >= k + L) {
          /* v_s = #{j >= 1 : k <= s - jL <= m} = ⌊(s-k)/L⌋ - ⌈max(L, s-m)/L⌉ + 1 */
          const uint64_t hi = (s - k) / L, lo = s > mm + L ? (s - mm + L - 1) / L : 1;
          const double cs = cst * (double)(hi >= lo ? hi - lo + 1 : 0);
          for (size_t j = 0; j < S; j++) {
            cf[j] += cs * wx[j];
          }
          cf[S] -= cs * wy[0];
          for (size_t j = 1; j < S; j++) {
            cf[j] -= cs * wy[j];
          }
        }
        /* maximal coupling: the overlap is on the shared proposals only */
        double om = 0;
        mn[0] = 0;
        for (size_t j = 1; j < S; j++) {
          mn[j] = wx[j] < wy[j] ? wx[j] : wy[j];
          om += mn[j];
        }
        double rx = wx[0], ry = wy[0];
        for (size_t j = 1; j < S; j++) {
          rx += wx[j] - mn[j];
          ry += wy[j] - mn[j];
        }
        if (u3[0] < om || !(rx > 0) || !(ry > 0)) {
          jx = jy = pick_(mn, S, om, u3[1]);
          c->tau[q] = s;
        } else {
          for (size_t j = 1; j < S; j++) { /* the residuals, in place */
            wx[j] -= mn[j];
            wy[j] -= mn[j];
          }
          jx = pick_(wx, S, rx, u3[1]);
          jy = pick_(wy, S, ry, u3[2]);
        }
      }
      for (size_t j = 0; j < S + (size_t)coupled; j++) {
        any |= cf[j] != 0;
      }
      /* the moves: X to its atom; Y to its own (index 0: its state stays) */
      const size_t xr = r0 + jx;
      c->lp[q] = c->lprow[xr]; /* the log-joint of X's new state */
      memcpy(c->x + q * r, v->u + xr * r, r * sizeof(double));
      memcpy(c->xe + q * r, v->eps + xr * r, r * sizeof(double));
      if (coupled && jy != 0) {
        const size_t yr = r0 + jy;
        memcpy(c->y + q * r, v->u + yr * r, r * sizeof(double));
        memcpy(c->ye + q * r, v->eps + yr * r, r * sizeof(double));
      }
    }
    if (any) { /* Σ_rows coef ∇θ f: the likelihood's gradients in dh, scaled */
      for (size_t i = 0; i < rows; i++) {
        const double f = c->coef[i];
        for (size_t j = 0; j < v->w; j++) {
          v->dh[i * v->w + j] *= f;
        }
      }
      SAGD_CALL(sagd_mlp_backward(v->gen, theta, rows, v->dh, blk + X_N, NULL));
    }
  }
  double obj = 0;
  for (size_t q = 0; q < m; q++) {
    const int capped = c->tau[q] == 0; /* stopped at tau_max without meeting */
    const uint64_t tau = capped ? cap : c->tau[q];
    c->sum_tau += tau;
    c->ncapped += (uint64_t)capped;
    c->meeting[a - v->i_begin + q] = (double)tau;
    obj += c->lp[q];
  }
  blk[X_OBJ] += obj;
  blk[X_PTS] += (double)m;
  return SAGD_OK;
}

static int configured_(sagd_vae v) {
  return sagd_vae_method_ready_(v->cp.meeting != NULL, "coupled", "coupled.S", v->opt.coupled.S, 2);
}

static int grad_coupled_(sagd_vae v, const double *theta, const double *phi, uint64_t t,
                         double *g_theta, double *g_phi, sagd_vae_stats *stats) {
  (void)g_phi;
  SAGD_CALL(configured_(v));
  v->cp.sum_tau = v->cp.ncapped = 0;
  sagd_vae_stats st;
  SAGD_CALL(sagd_vae_run_parts_(v, theta, phi, t, 0, coupled_part_, g_theta, NULL, &st, 1.0));
  uint64_t cnt[2] = {v->cp.sum_tau, v->cp.ncapped}; /* integers: an exact, ordered sum */
  SAGD_CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, cnt, 2, MPI_UINT64_T, MPI_SUM, v->comm));
  st.meeting = (double)cnt[0] / st.points;
  st.capped = (double)cnt[1];
  if (stats != NULL) {
    *stats = st;
  }
  return SAGD_OK;
}

static int start_coupled_(sagd_vae v, const double *theta, const double *phi) {
  (void)theta;
  (void)phi;
  SAGD_CALL(configured_(v));
  for (size_t i = 0; i < v->nloc; i++) {
    v->cp.meeting[i] = NAN;
  }
  return SAGD_OK;
}

static const sagd_config_key key_S_ = {
    "coupled",
    "S",
    SAGD_CFG_INT,
    "10",
    SAGD_CFG_AT_LEAST_1,
    "coupled: proposals per ISIR step from the encoder, the chain's state included (>= 2)",
    0};
static const sagd_config_key key_k_ = {
    "coupled",
    "k",
    SAGD_CFG_INT,
    "1",
    SAGD_CFG_AT_LEAST_1,
    "coupled: first step averaged by the unbiased estimator (1 <= k <= coupled.m)",
    0};
static const sagd_config_key key_m_ = {"coupled",
                                       "m",
                                       SAGD_CFG_INT,
                                       "1",
                                       SAGD_CFG_AT_LEAST_1,
                                       "coupled: last step averaged by the estimator",
                                       0};
static const sagd_config_key key_L_ = {"coupled",
                                       "L",
                                       SAGD_CFG_INT,
                                       "1",
                                       SAGD_CFG_AT_LEAST_1,
                                       "coupled: lag between the two coupled chains",
                                       0};
static const sagd_config_key key_tau_max_ = {
    "coupled",
    "tau_max",
    SAGD_CFG_INT,
    "1000",
    SAGD_CFG_AT_LEAST_1,
    "coupled: cap on the meeting time (>= coupled.m); a pair stopped there gives a biased "
    "estimate and is counted (trace capped)",
    0};
static const sagd_config_key *const coupled_keys_[] = {&key_S_, &key_k_,       &key_m_,
                                                       &key_L_, &key_tau_max_, NULL};

const sagd_vae_method_type sagd_vae_method_coupled = {.name = "coupled",
                                                      .label = "Coupled",
                                                      .trains_encoder = 0,
                                                      .start = start_coupled_,
                                                      .gradient = grad_coupled_,
                                                      .keys = coupled_keys_};
