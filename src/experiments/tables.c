/* The experiments' tables for `sagd table` (see tables.h and table.h): which datasets of a
 * result file become which cells, and the SAGD paper's values next to them. */
#include "tables.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sagd/error.h"
#include "sagd/registry.h"
#include "sagd/vae.h"

/* ---- deconv_vae: the paper's Table 1 --------------------------------------------------- */

const sagd_table_layout exp_deconv_table = {
    "Table 1: debiased VAE, mean (SE) over replications (high-dim: over dimensions)",
    "D = Kolmogorov–Smirnov distance, W = 1-Wasserstein distance of the metrics.samples "
    "generated values h(U) (5000 in the shipped configs) to the true latent law; CPU s = "
    "the phase's wall seconds times the run's ranks, mean (SE) over replications; *paper* = "
    "the SAGD paper's Table 1.",
    0, NULL, 3};

/* The paper's Table 1 (DESIGN.md §6): D and W of each method it reports. */
typedef struct {
  const char *method;
  double d, w;
} dt_paper_cell;

typedef struct {
  const char *truth;
  int highdim;
  dt_paper_cell cell[4];
} dt_paper_row;

static const dt_paper_row dt_paper_[] = {
    {"exponential", 0, {{"vae", .095, .226}, {"iwae", .059, .125}, {"hmc", .085, .161},
                        {"sagd", .064, .115}}},
    {"mixture", 0, {{"vae", .127, .320}, {"iwae", .098, .165}, {"hmc", .104, .276},
                    {"sagd", .085, .197}}},
    {"normal", 0, {{"vae", .033, .052}, {"iwae", .043, .066}, {"hmc", .032, .050},
                   {"sagd", .033, .052}}},
    {"exponential", 1, {{"vae", .093, .222}, {"iwae", .080, .158}, {"hmc", .092, .212},
                        {"sagd", .065, .093}}},
};
#define DT_NPAPER (sizeof dt_paper_ / sizeof dt_paper_[0])

static double dt_paper_value_(int row, const char *method, int w) {
  for (size_t k = 0; row >= 0 && k < sizeof dt_paper_[row].cell / sizeof dt_paper_[row].cell[0];
       k++) {
    if (strcmp(dt_paper_[row].cell[k].method, method) == 0) {
      return w ? dt_paper_[row].cell[k].w : dt_paper_[row].cell[k].d;
    }
  }
  return NAN;
}

int exp_deconv_table_read(sagd_h5 f, sagd_config cfg, sagd_table_cells out) {
  const char *truth = sagd_config_string(cfg, "data", "truth");
  const int64_t p = sagd_config_int(cfg, "data", "dim");
  int paper = -1;
  for (size_t k = 0; k < DT_NPAPER; k++) {
    if (strcmp(dt_paper_[k].truth, truth) == 0 && dt_paper_[k].highdim == (p > 1)) {
      paper = (int)k;
    }
  }
  char setting[96];
  if (p > 1) {
    snprintf(setting, sizeof setting, "high-dim %s (p=%lld)", truth, (long long)p);
  } else {
    snprintf(setting, sizeof setting, "%s", truth);
  }
  int64_t ranks = 1;
  int any = 0, rc = sagd_h5_read_attr_int(f, "/meta", "n_ranks", &ranks);
  /* every registered method the file holds, in the registry's order */
  for (const sagd_vae_method_type *const *m = sagd_vae_method_list();
       *m != NULL && rc == SAGD_OK; m++) {
    char g[64], pk[96], pw[96];
    snprintf(g, sizeof g, "/results/%s", (*m)->name);
    if (!sagd_h5_exists(f, g)) {
      continue;
    }
    /* per-dimension values: ks_dim/w1_dim when present, else ks/w1 (a scalar for 1-D) */
    snprintf(pk, sizeof pk, "%s/ks_dim", g);
    snprintf(pw, sizeof pw, "%s/w1_dim", g);
    if (!sagd_h5_exists(f, pk) || !sagd_h5_exists(f, pw)) {
      snprintf(pk, sizeof pk, "%s/ks", g);
      snprintf(pw, sizeof pw, "%s/w1", g);
    }
    double *ks = NULL, *w1 = NULL;
    size_t nk = 0, nw = 0;
    rc = sagd_table_read_values(f, pk, &ks, &nk);
    if (rc == SAGD_OK) {
      rc = sagd_table_read_values(f, pw, &w1, &nw);
    }
    if (rc == SAGD_OK && (nk != nw || nk < 1)) {
      rc = sagd_error_set(SAGD_ERR_CORRUPT, __FILE__, __LINE__, __func__,
                          "%s and %s have %zu and %zu values: expected the same number (p = "
                          "%lld)", pk, pw, nk, nw, (long long)p);
    }
    for (int w = 0; w < 2 && rc == SAGD_OK; w++) {
      const sagd_table_cell c = {setting, paper, w ? "W" : "D", NULL, (*m)->name,
                                 (*m)->label, w ? w1 : ks, nk,
                                 dt_paper_value_(paper, (*m)->name, w)};
      rc = sagd_table_cells_add(out, &c);
    }
    double cpu = NAN; /* the phase's wall time on all the run's ranks */
    snprintf(pk, sizeof pk, "%s/seconds", g);
    if (rc == SAGD_OK && sagd_h5_exists(f, pk)) {
      rc = sagd_table_read_fixed(f, pk, &cpu, 1);
      cpu *= (double)ranks;
      const sagd_table_cell c = {setting,     paper, "CPU", "CPU s", (*m)->name,
                                 (*m)->label, &cpu,  1,     NAN};
      if (rc == SAGD_OK) {
        rc = sagd_table_cells_add(out, &c);
      }
    }
    free(ks);
    free(w1);
    any = 1;
  }
  if (rc == SAGD_OK && !any) {
    char known[256];
    rc = sagd_error_set(SAGD_ERR_CORRUPT, __FILE__, __LINE__, __func__,
                        "no /results/<method> group for any of %s",
                        sagd_registry_names(SAGD_REGISTRY(sagd_vae_method_list()), known,
                                            sizeof known));
  }
  return rc;
}

/* ---- em_gamma: Figure 1's final (a, b) ------------------------------------------------- */

const sagd_table_layout exp_em_gamma_table = {
    "em_gamma (Figure 1): final (a, b), mean (SE) over replications",
    "The MLE is the quadrature maximiser of each replication's log-likelihood (b -> -b is a "
    "symmetry: taken on SAGD's side); log-lik gap = max log-lik - log-lik at SAGD's final "
    "(a, b).",
    1, "estimate", 4};

static int em_add_(sagd_table_cells out, const char *method, const char *label,
                   const double ab[2]) {
  static const char *const metric[2] = {"a", "b"};
  for (int j = 0; j < 2; j++) {
    const sagd_table_cell c = {"em_gamma", -1, metric[j], NULL, method, label, &ab[j], 1, NAN};
    SAGD_CALL(sagd_table_cells_add(out, &c));
  }
  return SAGD_OK;
}

int exp_em_gamma_table_read(sagd_h5 f, sagd_config cfg, sagd_table_cells out) {
  (void)cfg;
  double sagd[2], exact[2], mle[2];
  SAGD_CALL(sagd_table_read_fixed(f, "/results/sagd_theta", sagd, 2));
  const int has_exact = sagd_h5_exists(f, "/results/exact_theta");
  const int has_mle = sagd_h5_exists(f, "/results/mle") &&
                      sagd_h5_exists(f, "/results/max_loglik") &&
                      sagd_h5_exists(f, "/results/sagd_loglik");
  double gap = NAN;
  if (has_mle) {
    double mx = 0, ls = 0;
    SAGD_CALL(sagd_table_read_fixed(f, "/results/mle", mle, 2));
    SAGD_CALL(sagd_table_read_fixed(f, "/results/max_loglik", &mx, 1));
    SAGD_CALL(sagd_table_read_fixed(f, "/results/sagd_loglik", &ls, 1));
    gap = mx - ls;
    if (mle[1] * sagd[1] < 0) { /* b -> -b is a symmetry: the MLE on SAGD's side */
      mle[1] = -mle[1];
    }
  }
  SAGD_CALL(em_add_(out, "sagd", "SAGD", sagd));
  if (has_mle) {
    const sagd_table_cell c = {"em_gamma", -1, "loglik_gap", "log-lik gap", "sagd", "SAGD",
                               &gap, 1, NAN};
    SAGD_CALL(sagd_table_cells_add(out, &c));
  }
  if (has_exact) {
    SAGD_CALL(sagd_table_read_fixed(f, "/results/exact_theta", exact, 2));
    SAGD_CALL(em_add_(out, "exact", "exact-gradient EM", exact));
  }
  if (has_mle) {
    const double diff[2] = {sagd[0] - mle[0], sagd[1] - mle[1]};
    SAGD_CALL(em_add_(out, "mle", "MLE", mle));
    SAGD_CALL(em_add_(out, "sagd-mle", "SAGD - MLE", diff));
  }
  return SAGD_OK;
}

/* ---- mnist_vae: Figure 3's held-out log-likelihoods ------------------------------------- */

const sagd_table_layout exp_mnist_table = {
    "mnist_vae (Figure 3): held-out log-likelihood of the test digits, mean (SE) over "
    "replications",
    "Importance sampling with each generator's own encoder (a fine-tuned one's refitted to "
    "it); one "
    "replication's SE over digits is in its result.h5.",
    1, "generator", 3};

int exp_mnist_table_read(sagd_h5 f, sagd_config cfg, sagd_table_cells out) {
  (void)cfg;
  double v = 0;
  SAGD_CALL(sagd_table_read_fixed(f, "/results/pretrain/test_loglik", &v, 1));
  const sagd_table_cell pre = {
      "mnist_vae", -1, "test_loglik", "test log-lik", "vae", "VAE (pre-trained)", &v, 1, NAN};
  SAGD_CALL(sagd_table_cells_add(out, &pre));
  /* a row per fine-tuned generator the run holds, and its gain over the VAE */
  for (const sagd_vae_method_type *const *m = sagd_vae_generator_method_list(); *m != NULL; m++) {
    char path[128], id[96], label[96];
    snprintf(path, sizeof path, "/results/%s/test_loglik", (*m)->name);
    if (!sagd_h5_exists(f, path)) {
      continue;
    }
    SAGD_CALL(sagd_table_read_fixed(f, path, &v, 1));
    const sagd_table_cell c = {
        "mnist_vae", -1, "test_loglik", "test log-lik", (*m)->name, (*m)->label, &v, 1, NAN};
    SAGD_CALL(sagd_table_cells_add(out, &c));
    snprintf(path, sizeof path, "/results/%s/gain_over_pretrain", (*m)->name);
    SAGD_CALL(sagd_table_read_fixed(f, path, &v, 1));
    snprintf(id, sizeof id, "%s-vae", (*m)->name);
    snprintf(label, sizeof label, "%s - VAE", (*m)->label);
    const sagd_table_cell g = {"mnist_vae", -1, "test_loglik", "test log-lik", id, label, &v,
                               1,           NAN};
    SAGD_CALL(sagd_table_cells_add(out, &g));
  }
  return SAGD_OK;
}
