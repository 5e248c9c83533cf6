/* The coupled ISIR estimator (method coupled) is unbiased for -∇θ log p(x; θ)/n, and the
 * check can tell a biased estimator:
 *  (a) the 1-D deconvolution VAE of the other tests (exact gradient: central differences of
 *      the Gauss-Hermite log-likelihood), and
 *  (b) probabilistic PCA, x = W u + b + e, u ~ N(0, I_2), e ~ N(0, I_3) (a linear generator
 *      and the Gaussian likelihood; closed-form gradient of log N(x; b, W Wᵀ + I)).
 * At a fixed (θ, φ), R independent estimates (update t = 1..R: fresh draws each time); the
 * check is |mean - exact| <= 3 SE in every component (SE = sample sd / sqrt(R)). For an
 * unbiased estimator with P components each check fails with probability 0.27%, so all pass
 * with probability about 1 - 0.0027 P (P = 13 and 9 here: 96% and 98%; the draws are
 * counter-based, so the outcome for this seed is fixed). The same check on IWAE (k = S) and
 * SAGD (K = S Langevin steps) at a comparable budget, and on coupled with every correction
 * dropped (tau_max = m: the plain ISIR average), must find components outside 3 SE: the test
 * would see a bias of that size. Prints the table. Usage: test_vae_coupled [R] (default
 * 10000). */
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <mpi.h>
#include <stdio.h>

#include "fixture.h"

typedef struct {
  sagd_vae v;
  const double *theta, *phi;
  size_t pt, pp;
} target_;

typedef struct {
  const char *what;
  size_t outside; /* components outside 3 SE */
  double worst;   /* max |mean - exact| / SE */
  double tau;     /* mean meeting time (coupled) */
  double capped;  /* capped pairs per estimate */
} row_;

static row_ rows_[32];
static size_t nrows_;

/* Mean and SE of R estimates against exact[pt]; one table row. */
static size_t check_(const target_ *tg, const sagd_vae_method_type *m, size_t R,
                     const double *exact, const char *what) {
  const size_t pt = tg->pt;
  double *g = calloc(pt, sizeof(double)), *s1 = calloc(pt, sizeof(double));
  double *s2 = calloc(pt, sizeof(double)), *gp = calloc(tg->pp, sizeof(double));
  double tau = 0, capped = 0;
  REQUIRE_OK(m->start(tg->v, tg->theta, tg->phi));
  for (size_t k = 0; k < R; k++) {
    sagd_vae_stats st;
    REQUIRE_OK(m->gradient(tg->v, tg->theta, tg->phi, 1 + k, g, gp, &st));
    tau += st.meeting;
    capped += st.capped;
    for (size_t j = 0; j < pt; j++) {
      s1[j] += g[j];
      s2[j] += g[j] * g[j];
    }
  }
  row_ *row = &rows_[nrows_++];
  *row = (row_){what, 0, 0, tau / (double)R, capped / (double)R};
  for (size_t j = 0; j < pt; j++) {
    double mean = s1[j] / (double)R;
    double var = (s2[j] - (double)R * mean * mean) / (double)(R - 1);
    double se = sqrt(fmax(var, 0) / (double)R);
    double z = fabs(mean - exact[j]) / se;
    row->worst = fmax(row->worst, z);
    row->outside += !(z <= 3);
  }
  free(g);
  free(gp);
  free(s1);
  free(s2);
  return row->outside;
}

static void print_table_(size_t R) {
  printf("\n%zu estimates each; a component is outside when |mean - exact| > 3 SE\n", R);
  printf(
      "| estimator | components outside 3 SE | max |mean - exact|/SE | mean tau | "
      "capped/update |\n|---|---:|---:|---:|---:|\n");
  for (size_t i = 0; i < nrows_; i++) {
    const row_ *r = &rows_[i];
    char tau[32] = "-";
    if (isfinite(r->tau)) {
      snprintf(tau, sizeof tau, "%.3f", r->tau);
    }
    printf("| %s | %zu | %.2f | %s | %.3g |\n", r->what, r->outside, r->worst, tau, r->capped);
  }
}

static sagd_vae_coupled_options coupled_opts_(size_t S, uint64_t tau_max) {
  sagd_vae_coupled_options c = {.S = S, .k = 1, .m = 1, .L = 1, .tau_max = tau_max};
  return c;
}

/* The general lag-L estimator: S = 4, k = 2, m = 5, L = 2. */
static const sagd_vae_coupled_options lagged_ = {.S = 4, .k = 2, .m = 5, .L = 2, .tau_max = 1000};

/* (a) the 1-D deconvolution VAE */
static void deconv_(size_t R) {
  const size_t S = 10;
  sagd_vae_options o = vae_test_options();
  o.coupled = coupled_opts_(S, 1000);
  o.iwae_k = S;
  o.K = S;
  o.delta = 0.1;
  vae_fixture f;
  vae_fixture_make(&f, MPI_COMM_WORLD, 20, 4, &o);
  double *exact = calloc(f.pt, sizeof(double));
  const double h = 1e-5; /* central differences of the quadrature: error ~1e-10 */
  for (size_t j = 0; j < f.pt; j++) {
    double keep = f.theta[j], lp, lm;
    f.theta[j] = keep + h;
    REQUIRE_OK(sagd_vae_loglik(f.v, f.theta, 64, &lp));
    f.theta[j] = keep - h;
    REQUIRE_OK(sagd_vae_loglik(f.v, f.theta, 64, &lm));
    f.theta[j] = keep;
    exact[j] = -(lp - lm) / (2 * h * (double)f.n);
  }
  target_ tg = {f.v, f.theta, f.phi, f.pt, f.pp};
  CHECK(check_(&tg, &sagd_vae_method_coupled, R, exact, "deconv: coupled (S=10, k=m=L=1)") == 0);
  CHECK(rows_[nrows_ - 1].capped == 0);
  CHECK(check_(&tg, &sagd_vae_method_iwae, R, exact, "deconv: iwae (k=10)") > 0);
  CHECK(check_(&tg, &sagd_vae_method_sagd, R, exact, "deconv: sagd (K=10, delta=0.1)") > 0);
  vae_fixture_free(&f);
  /* the foil: no corrections */
  o.coupled = coupled_opts_(S, 1);
  vae_fixture_make(&f, MPI_COMM_WORLD, 20, 4, &o);
  tg = (target_){f.v, f.theta, f.phi, f.pt, f.pp};
  CHECK(check_(&tg, &sagd_vae_method_coupled, R, exact,
               "deconv: coupled, tau_max = m = 1 (biased)") > 0);
  vae_fixture_free(&f);
  o.coupled = lagged_;
  vae_fixture_make(&f, MPI_COMM_WORLD, 20, 4, &o);
  tg = (target_){f.v, f.theta, f.phi, f.pt, f.pp};
  CHECK(check_(&tg, &sagd_vae_method_coupled, R, exact, "deconv: coupled (S=4, k=2, m=5, L=2)") ==
        0);
  vae_fixture_free(&f);
  free(exact);
}

/* (b) probabilistic PCA: closed-form gradient of -(1/n) Σ log N(x_i; b, C), C = W Wᵀ + I:
 *   g_W = C⁻¹ W - (1/n) Σ C⁻¹ d_i d_iᵀ C⁻¹ W,  g_b = -(1/n) Σ C⁻¹ d_i,  d_i = x_i - b. */
enum { PP = 3, PR = 2, PN = 20 };

static void ppca_exact_(const double *theta, const double *x, double *g) {
  const double *W = theta, *b = theta + PP * PR; /* the MLP's layout: W (p × r), then b */
  gsl_matrix *C = gsl_matrix_alloc(PP, PP);
  for (size_t i = 0; i < PP; i++) {
    for (size_t j = 0; j < PP; j++) {
      double s = i == j ? 1.0 : 0.0;
      for (size_t l = 0; l < PR; l++) {
        s += W[i * PR + l] * W[j * PR + l];
      }
      gsl_matrix_set(C, i, j, s);
    }
  }
  REQUIRE_OK(gsl_linalg_cholesky_decomp1(C));
  REQUIRE_OK(gsl_linalg_cholesky_invert(C)); /* C now holds C⁻¹ */
  double Ci[PP][PP], CiW[PP][PR], mCd[PP] = {0}, S2[PP][PP] = {{0}};
  for (size_t i = 0; i < PP; i++) {
    for (size_t j = 0; j < PP; j++) {
      Ci[i][j] = gsl_matrix_get(C, i, j);
    }
  }
  for (size_t q = 0; q < PN; q++) { /* mean of C⁻¹d and of (C⁻¹d)(C⁻¹d)ᵀ */
    double cd[PP];
    for (size_t i = 0; i < PP; i++) {
      cd[i] = 0;
      for (size_t j = 0; j < PP; j++) {
        cd[i] += Ci[i][j] * (x[q * PP + j] - b[j]);
      }
    }
    for (size_t i = 0; i < PP; i++) {
      mCd[i] += cd[i] / PN;
      for (size_t j = 0; j < PP; j++) {
        S2[i][j] += cd[i] * cd[j] / PN;
      }
    }
  }
  for (size_t i = 0; i < PP; i++) {
    for (size_t l = 0; l < PR; l++) {
      CiW[i][l] = 0;
      for (size_t j = 0; j < PP; j++) {
        CiW[i][l] += Ci[i][j] * W[j * PR + l];
      }
    }
  }
  for (size_t i = 0; i < PP; i++) {
    for (size_t l = 0; l < PR; l++) {
      double s = 0;
      for (size_t j = 0; j < PP; j++) {
        s += S2[i][j] * W[j * PR + l];
      }
      g[i * PR + l] = CiW[i][l] - s;
    }
    g[PP * PR + i] = -mCd[i];
  }
  gsl_matrix_free(C);
}

static void ppca_(size_t R) {
  const size_t S = 10;
  sagd_vae_options o = vae_test_options();
  o.block = PN;
  o.coupled = coupled_opts_(S, 1000);
  o.iwae_k = S;
  o.K = S;
  o.delta = 0.1;
  /* data from W0, b0; the gradient is taken at a perturbed θ */
  const double W0[PP * PR] = {1.0, 0.5, -0.7, 1.2, 0.3, -0.9}, b0[PP] = {0.5, -1.0, 2.0};
  double x[PN * PP];
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(rng, 11);
  for (size_t q = 0; q < PN; q++) {
    double u[PR] = {gsl_ran_gaussian(rng, 1), gsl_ran_gaussian(rng, 1)};
    for (size_t i = 0; i < PP; i++) {
      x[q * PP + i] = b0[i] + W0[i * PR] * u[0] + W0[i * PR + 1] * u[1] + gsl_ran_gaussian(rng, 1);
    }
  }
  gsl_rng_free(rng);
  size_t gw[2] = {PR, PP}, ew[2] = {PP, 2 * PR};
  const size_t rows = sagd_vae_max_rows(&o, PN);
  sagd_mlp gen = NULL, enc = NULL;
  REQUIRE_OK(sagd_mlp_create(1, gw, NULL, NULL, rows, &gen));
  REQUIRE_OK(sagd_mlp_create(1, ew, NULL, NULL, rows, &enc));
  double theta[PP * PR + PP], phi[PP * 2 * PR + 2 * PR] = {0};
  for (size_t j = 0; j < PP * PR; j++) {
    theta[j] = 0.8 * W0[j] + 0.1;
  }
  for (size_t i = 0; i < PP; i++) {
    theta[PP * PR + i] = b0[i] - 0.3;
  }
  /* encoder: q(u | x) = N(0, 2 I) for every x (a broad proposal: zero weights, log σ² = log 2) */
  for (size_t l = 0; l < PR; l++) {
    phi[PP * 2 * PR + PR + l] = log(2.0);
  }
  double exact[PP * PR + PP];
  ppca_exact_(theta, x, exact);
  for (int variant = 0; variant < 3; variant++) {
    sagd_vae v = NULL;
    if (variant == 1) {
      o.coupled = coupled_opts_(S, 1);
    } else if (variant == 2) {
      o.coupled = lagged_;
    }
    REQUIRE_OK(sagd_vae_create(MPI_COMM_WORLD, gen, enc, x, PN, 0, PN, &o, &v));
    target_ tg = {v, theta, phi, PP * PR + PP, PP * 2 * PR + 2 * PR};
    if (variant == 0) {
      CHECK(check_(&tg, &sagd_vae_method_coupled, R, exact, "ppca: coupled (S=10, k=m=L=1)") == 0);
      CHECK(rows_[nrows_ - 1].capped == 0);
      CHECK(check_(&tg, &sagd_vae_method_iwae, R, exact, "ppca: iwae (k=10)") > 0);
      CHECK(check_(&tg, &sagd_vae_method_sagd, R, exact, "ppca: sagd (K=10, delta=0.1)") > 0);
    } else if (variant == 1) {
      CHECK(check_(&tg, &sagd_vae_method_coupled, R, exact,
                   "ppca: coupled, tau_max = m = 1 (biased)") > 0);
    } else {
      CHECK(check_(&tg, &sagd_vae_method_coupled, R, exact, "ppca: coupled (S=4, k=2, m=5, L=2)") ==
            0);
    }
    sagd_vae_destroy(&v);
  }
  sagd_mlp_destroy(&gen);
  sagd_mlp_destroy(&enc);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  size_t R = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 10000;
  deconv_(R);
  ppca_(R);
  print_table_(R);
  return test_exit_mpi();
}
