/* The VAE methods' numbers against independent references:
 *  - the -ELBO and -IWAE gradients (θ and φ) equal central finite differences of the
 *    returned objective, which is a deterministic function of (θ, φ) at fixed update t;
 *  - the IWAE bound (k = 50) is above the ELBO on the same data, and both are below the
 *    true log-likelihood (Gauss–Hermite quadrature);
 *  - the HMC and SAGD gradient estimates agree with the exact gradient of -loglik/n
 *    (finite differences of the quadrature log-likelihood) within Monte Carlo error;
 *  - HMC's acceptance rate is in a sane range;
 *  - minibatches: every epoch's parts tile every block exactly once;
 *  - the same checks (finite differences, bounds, HMC and SAGD against the quadrature) with
 *    the Bernoulli likelihood on binary data, and with the learned-variance Gaussian
 *    (gaussian_var: the generator gives a mean and a log-variance). */
#include <mpi.h>
#include <stdio.h>

#include "fixture.h"
#include "sagd/stats.h"

static void check_fd_(vae_fixture *f, const sagd_vae_method_type *m, uint64_t t,
                      const char *what) {
  double *gt = calloc(f->pt, sizeof(double)), *gp = calloc(f->pp, sizeof(double));
  double *dt = calloc(f->pt, sizeof(double)), *dp = calloc(f->pp, sizeof(double));
  sagd_vae_stats st;
  REQUIRE_OK(m->gradient(f->v, f->theta, f->phi, t, gt, gp, &st));
  const double h = 1e-6;
  double worst = 0;
  for (int which = 0; which < 2; which++) {
    double *par = which ? f->phi : f->theta, *g = which ? gp : gt;
    size_t np = which ? f->pp : f->pt;
    for (size_t j = 0; j < np; j++) {
      double keep = par[j], op, om;
      par[j] = keep + h;
      REQUIRE_OK(m->gradient(f->v, f->theta, f->phi, t, dt, dp, &st));
      op = st.objective;
      par[j] = keep - h;
      REQUIRE_OK(m->gradient(f->v, f->theta, f->phi, t, dt, dp, &st));
      om = st.objective;
      par[j] = keep;
      double fd = -(op - om) / (2 * h); /* the loss is -objective */
      /* central differences: truncation O(h^2) ~ 1e-12, rounding ~ 1e-16 |obj| / h ~ 1e-9 */
      double tol = 1e-7 + 1e-6 * fabs(fd);
      if (fabs(fd - g[j]) > tol) {
        fprintf(stderr, "%s: %s[%zu] gradient %.12g vs finite difference %.12g\n", what,
                which ? "phi" : "theta", j, g[j], fd);
        test_failures_++;
      }
      worst = fmax(worst, fabs(fd - g[j]));
    }
  }
  printf("%s: gradient vs finite differences, max |diff| = %.3g over %zu parameters\n", what,
         worst, f->pt + f->pp);
  free(gt);
  free(gp);
  free(dt);
  free(dp);
}

/* Exact ∇θ of -loglik/n by central differences of the quadrature log-likelihood. */
static void exact_grad_(vae_fixture *f, double *g) {
  const double h = 1e-5;
  for (size_t j = 0; j < f->pt; j++) {
    double keep = f->theta[j], lp, lm;
    f->theta[j] = keep + h;
    REQUIRE_OK(sagd_vae_loglik(f->v, f->theta, 64, &lp));
    f->theta[j] = keep - h;
    REQUIRE_OK(sagd_vae_loglik(f->v, f->theta, 64, &lm));
    f->theta[j] = keep;
    g[j] = -(lp - lm) / (2 * h * (double)f->n);
  }
}

/* Mean and SE over R estimates of the gradient, compared with the exact one. */
static void check_estimator_(vae_fixture *f, const sagd_vae_method_type *m, uint64_t t0,
                             size_t R, const double *exact, const char *what, double *acc) {
  double *g = calloc(f->pt, sizeof(double)), *s1 = calloc(f->pt, sizeof(double));
  double *s2 = calloc(f->pt, sizeof(double));
  double gmax = 0, a = 0;
  for (size_t j = 0; j < f->pt; j++) {
    gmax = fmax(gmax, fabs(exact[j]));
  }
  for (size_t k = 0; k < R; k++) {
    sagd_vae_stats st;
    REQUIRE_OK(m->gradient(f->v, f->theta, f->phi, t0 + k, g, NULL, &st));
    a += st.accept;
    for (size_t j = 0; j < f->pt; j++) {
      s1[j] += g[j];
      s2[j] += g[j] * g[j];
    }
  }
  *acc = a / (double)R;
  double worst = 0;
  for (size_t j = 0; j < f->pt; j++) {
    double mean = s1[j] / (double)R;
    double var = (s2[j] - (double)R * mean * mean) / (double)(R - 1);
    double se = sqrt(fmax(var, 0) / (double)R);
    /* 5 standard errors of the Monte Carlo mean, plus 1% of the gradient's scale for the
     * finite chain length (chains start from the encoder, not from the posterior) and, for
     * SAGD, the O(delta) bias of the Langevin discretisation */
    double tol = 5 * se + 0.01 * gmax;
    double z = fabs(mean - exact[j]);
    worst = fmax(worst, z / tol);
    if (z > tol) {
      fprintf(stderr, "%s: theta[%zu] estimate %.6g (se %.2g) vs exact %.6g, tol %.3g\n", what, j,
              mean, se, exact[j], tol);
      test_failures_++;
    }
  }
  printf("%s: gradient vs exact (quadrature), worst |diff|/tol = %.3f (|g|max %.3g)\n", what,
         worst, gmax);
  free(g);
  free(s1);
  free(s2);
}

/* Sections 1-3 for one likelihood (label: "" or "bernoulli "). HMC restarts from the
 * (untrained) encoder at every update, so its transient biases the mean; with the Bernoulli
 * likelihood on binary data the gradient is flatter and the transient a larger share of it
 * (2.4% of |g|max at K = 200), hence hmc_K. */
static void likelihood_checks_(const sagd_likelihood_type *lik, const char *label,
                               uint64_t hmc_K, double acc_lo, double acc_hi) {
  char what[96];
  /* 1. finite-difference checks of -ELBO (S = 3, full batch and 2 minibatches) and -IWAE */
  sagd_vae_options o = vae_test_options();
  o.likelihood = lik;
  o.samples = 3;
  vae_fixture f;
  vae_fixture_make(&f, MPI_COMM_WORLD, 40, 4, &o);
  snprintf(what, sizeof what, "%selbo (S=3)", label);
  check_fd_(&f, &sagd_vae_method_vae, 3, what);
  snprintf(what, sizeof what, "%siwae (k=5)", label);
  check_fd_(&f, &sagd_vae_method_iwae, 4, what);
  vae_fixture_free(&f);
  o.batches = 2;
  vae_fixture_make(&f, MPI_COMM_WORLD, 40, 4, &o);
  snprintf(what, sizeof what, "%selbo (2 minibatches)", label);
  check_fd_(&f, &sagd_vae_method_vae, 5, what);
  vae_fixture_free(&f);

  /* 2. IWAE (k = 50) >= ELBO, both <= the true log-likelihood per point */
  o = vae_test_options();
  o.likelihood = lik;
  o.iwae_k = 50;
  vae_fixture_make(&f, MPI_COMM_WORLD, 400, 6, &o);
  {
    const size_t R = 10;
    double *gt = calloc(f.pt, sizeof(double)), *gp = calloc(f.pp, sizeof(double));
    double ie[2][10];
    for (size_t k = 0; k < R; k++) {
      sagd_vae_stats st;
      REQUIRE_OK(sagd_vae_iwae_grad(f.v, f.theta, f.phi, 1 + k, gt, gp, &st));
      ie[0][k] = st.objective;
      REQUIRE_OK(sagd_vae_elbo_grad(f.v, f.theta, f.phi, 1 + k, gt, gp, &st));
      ie[1][k] = st.objective;
    }
    double mi, si, me, se, ll;
    sagd_stats_mean_se(ie[0], R, &mi, &si);
    sagd_stats_mean_se(ie[1], R, &me, &se);
    REQUIRE_OK(sagd_vae_loglik(f.v, f.theta, 64, &ll));
    ll /= (double)f.n;
    printf("%sper point: ELBO %.5f (se %.2g) <= IWAE_50 %.5f (se %.2g) <= loglik %.5f\n", label,
           me, se, mi, si, ll);
    /* 5 standard errors of the means over R independent evaluations */
    CHECK(mi - me > 5 * sqrt(si * si + se * se));
    CHECK(mi <= ll + 5 * si);
    CHECK(me <= ll + 5 * se);
    free(gt);
    free(gp);
  }
  vae_fixture_free(&f);

  /* 3. HMC and SAGD gradients vs the exact gradient */
  o = vae_test_options();
  o.likelihood = lik;
  o.chains = 4;
  o.K = hmc_K;
  o.delta = 0.7; /* large steps: the Metropolis correction must remove their bias */
  vae_fixture_make(&f, MPI_COMM_WORLD, 200, 4, &o);
  {
    double *exact = calloc(f.pt, sizeof(double)), acc = 0;
    exact_grad_(&f, exact);
    snprintf(what, sizeof what, "%shmc (delta 0.7, L 5, K %llu)", label,
             (unsigned long long)hmc_K);
    check_estimator_(&f, &sagd_vae_method_hmc, 1, 8, exact, what, &acc);
    printf("%shmc acceptance rate %.3f\n", label, acc);
    CHECK(acc > acc_lo && acc < acc_hi); /* Metropolis rejects some of these large steps */
    free(exact);
  }
  vae_fixture_free(&f);
  o.delta = 0.02;
  o.K = 200;
  vae_fixture_make(&f, MPI_COMM_WORLD, 200, 4, &o);
  {
    double *exact = calloc(f.pt, sizeof(double)), *g = calloc(f.pt, sizeof(double)), acc;
    exact_grad_(&f, exact);
    REQUIRE_OK(sagd_vae_method_sagd.start(f.v, f.theta, f.phi));
    for (uint64_t t = 1; t <= 10; t++) { /* burn-in: 2000 steps */
      REQUIRE_OK(sagd_vae_method_sagd.gradient(f.v, f.theta, f.phi, t, g, NULL, NULL));
    }
    snprintf(what, sizeof what, "%ssagd (delta 0.02, gamma 2, K 200)", label);
    check_estimator_(&f, &sagd_vae_method_sagd, 11, 8, exact, what, &acc);
    CHECK(isnan(acc));
    free(exact);
    free(g);
  }
  vae_fixture_free(&f);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  likelihood_checks_(&sagd_likelihood_gaussian, "", 200, 0.6, 0.99);
  likelihood_checks_(&sagd_likelihood_bernoulli, "bernoulli ", 1000, 0.3, 1.0);
  likelihood_checks_(&sagd_likelihood_gaussian_var, "gaussian_var ", 200, 0.3, 1.0);

  /* 4. minibatch parts tile every block once per epoch, in an order that changes */
  {
    sagd_rng_gsl r = NULL;
    REQUIRE_OK(sagd_rng_gsl_create(&r));
    sagd_rng_key key = {3, 0};
    size_t n = 37, block = 10, M = 4, perm[4], first[3][4];
    for (uint64_t e = 0; e < 3; e++) {
      for (size_t b = 0; b < 4; b++) {
        int seen[10] = {0};
        for (uint64_t m = 0; m < M; m++) {
          size_t a, z;
          sagd_minibatch_part(r, key, n, block, M, e * M + m + 1, b, perm, &a, &z);
          CHECK(a >= b * block && z <= (b + 1) * block && z <= n && a <= z);
          CHECK(z - a >= (b == 3 ? 1 : 2) && z - a <= 3);
          for (size_t i = a; i < z; i++) {
            seen[i - b * block]++;
          }
          if (b == 0) {
            first[e][m] = a;
          }
        }
        size_t bs = b == 3 ? 7 : 10;
        for (size_t i = 0; i < bs; i++) {
          CHECK(seen[i] == 1);
        }
      }
    }
    CHECK(memcmp(first[0], first[1], sizeof first[0]) != 0 ||
          memcmp(first[1], first[2], sizeof first[0]) != 0);
    sagd_rng_gsl_destroy(&r);
  }
  int rc = TEST_EXIT();
  MPI_Finalize();
  return rc;
}
