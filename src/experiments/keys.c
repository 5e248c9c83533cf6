/* Every configuration key sagd accepts (printed by `sagd run --help`). The experiments' keys
 * are declared here, typed, defaulted and documented; the keys of a sampler, schedule,
 * optimizer or VAE method are declared by that type (its `keys` member) and are read only
 * when a run chooses it. sagd_config_keys() joins the two into the program's key table. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sagd/error.h"
#include "sagd/experiment.h"
#include "sagd/optimizer.h"
#include "sagd/registry.h"
#include "sagd/sampler.h"
#include "sagd/schedule.h"
#include "sagd/vae.h"

static const sagd_config_key base_keys_[] = {
    /* [run] */
    {"run", "experiment", SAGD_CFG_STRING, "em_gamma", SAGD_CFG_ANY,
     "experiment to run: em_gamma (automated EM, Figure 1), deconv_vae (debiased VAE, "
     "Table 1), em_plugin (automated EM or MLE on a user's model, model.plugin) or mnist_vae "
     "(convolutional VAE on MNIST digits refined by SAGD, Figure 3)",
     0},
    {"run", "seed", SAGD_CFG_INT, "1", SAGD_CFG_NONNEGATIVE,
     "random seed (with the replication, keys every random draw)", 0},
    {"run", "replication", SAGD_CFG_INT, "0", SAGD_CFG_NONNEGATIVE,
     "replication number (each replication gets its own data set and chains)", 0},
    {"run", "progress_every", SAGD_CFG_INT, "25", SAGD_CFG_NONNEGATIVE,
     "rank 0 prints a progress line every N updates (0: only phase summaries)", 1},
    {"run", "stall_seconds", SAGD_CFG_REAL, "0", SAGD_CFG_NONNEGATIVE,
     "watchdog: a rank that finishes no iteration for this many seconds ends the job with a "
     "message (a lost or frozen node); must exceed the longest stretch between iterations "
     "(0: off)",
     1},
    /* [data] */
    {"data", "n", SAGD_CFG_INT, "100", SAGD_CFG_AT_LEAST_1,
     "number of synthetic observations (mnist_vae: training images used, the first n of "
     "the split)",
     0},
    {"data", "a", SAGD_CFG_REAL, "2", SAGD_CFG_ANY, "em_gamma: true a of the generator", 0},
    {"data", "b", SAGD_CFG_REAL, "0.5", SAGD_CFG_ANY, "em_gamma: true b of the generator", 0},
    {"data", "shape_scale", SAGD_CFG_REAL, "10", SAGD_CFG_POSITIVE,
     "em_gamma: S in shape = S*sigmoid(a + b z)", 0},
    {"data", "file", SAGD_CFG_STRING, "", SAGD_CFG_ANY,
     "optional text file of observations (white space/comma separated, # comments); "
     "replaces the synthetic data and sets n (mnist_vae: data/mnist/mnist.h5 from the set-up, "
     "or an IDX images file, plain or .gz)",
     0},
    {"data", "test_file", SAGD_CFG_STRING, "", SAGD_CFG_ANY,
     "mnist_vae: IDX file of the test images when data.file is an IDX file (empty with "
     "sagd's HDF5 data.file, which holds both splits)",
     0},
    {"data", "test_n", SAGD_CFG_INT, "1000", SAGD_CFG_AT_LEAST_1,
     "mnist_vae: test images scored by the held-out log-likelihood (the first n)", 0},
    {"data", "truth", SAGD_CFG_STRING, "exponential", SAGD_CFG_ANY,
     "deconv_vae: latent truth Z: normal (N(1, 0.5^2)), exponential (mean 2) or mixture "
     "(0.4 N(0, 0.5^2) + 0.6 N(3, 0.5^2)); X = Z + N(0, I)",
     0},
    {"data", "dim", SAGD_CFG_INT, "1", SAGD_CFG_AT_LEAST_1,
     "deconv_vae: data dimension p (independent coordinates)", 0},
    /* [model] */
    {"model", "precision", SAGD_CFG_STRING, "double", SAGD_CFG_ANY,
     "deconv_vae, mnist_vae: arithmetic of the networks' forward and backward passes: 'double' or "
     "'single' (float32 GEMMs via cblas_sgemm on a float copy of the parameters; θ, the "
     "optimizer and the reduction stay double)",
     0},
    {"model", "theta0", SAGD_CFG_REALS, "", SAGD_CFG_ANY,
     "em_gamma, em_plugin: initial theta, one value per coordinate (empty: the model's "
     "default; em_gamma (a, b) = (0, 1))",
     0},
    {"model", "lower", SAGD_CFG_REALS, "", SAGD_CFG_ANY,
     "em_gamma, em_plugin: lower bounds of the box Theta, one per theta coordinate (empty: "
     "the model's default; em_gamma -20, -20)",
     0},
    {"model", "upper", SAGD_CFG_REALS, "", SAGD_CFG_ANY,
     "em_gamma, em_plugin: upper bounds of the box Theta (empty: the model's default; "
     "em_gamma 20, 20)",
     0},
    {"model", "plugin", SAGD_CFG_STRING, "", SAGD_CFG_ANY,
     "em_plugin: path of the plug-in's shared object (a user's model, see README \"Write "
     "your own model\"); loaded on every rank",
     0},
    {"model", "generator", SAGD_CFG_REALS, "1, 10, 1", SAGD_CFG_ANY,
     "deconv_vae: generator layer widths: latent dimension r, hidden widths..., data.dim", 0},
    {"model", "encoder", SAGD_CFG_REALS, "1, 10, 2", SAGD_CFG_ANY,
     "deconv_vae: encoder layer widths: data.dim, hidden widths..., 2r (mean, log-variance)", 0},
    {"model", "generator_layers", SAGD_CFG_STRING,
     "dense 1024 relu; dense 3136 relu; reshape 7x7x64; convt 32 k4 s2 p1 relu; convt 1 k4 s2 p1",
     SAGD_CFG_ANY,
     "mnist_vae: the generator, latent -> one logit per pixel: layers separated by ';' (dense "
     "N act | conv C kK sS pP act | convt C kK sS pP oO act | reshape RxCxCH)",
     0},
    {"model", "encoder_layers", SAGD_CFG_STRING,
     "conv 32 k4 s2 p1 relu; conv 64 k4 s2 p1 relu; dense 256 relu; dense 40", SAGD_CFG_ANY,
     "mnist_vae: the encoder, image (rows x cols x 1) -> 2 x model.latent (mean, "
     "log-variance); same syntax as model.generator_layers",
     0},
    {"model", "latent", SAGD_CFG_INT, "20", SAGD_CFG_AT_LEAST_1, "mnist_vae: latent dimension", 0},
    {"model", "likelihood", SAGD_CFG_STRING, "gaussian", SAGD_CFG_ANY,
     "deconv_vae: p(x | h(u)): gaussian (N(h(u), I): the deconvolution model), bernoulli "
     "(h(u) are logits; every data value must lie in [0, 1]) or gaussian_var (N(mu(u), "
     "diag sigma^2(u)), learned variance: the generator's last width is 2 x data.dim, means "
     "then log-variances; KS and W1 use the means)",
     0},
    {"model", "activation", SAGD_CFG_STRING, "softplus", SAGD_CFG_ANY,
     "deconv_vae: hidden-layer activation (softplus, relu, tanh, sigmoid, identity)", 0},
    /* [em] */
    {"em", "msteps", SAGD_CFG_INT, "3", SAGD_CFG_AT_LEAST_1, "number of EM iterations (M-steps)",
     0},
    {"em", "updates", SAGD_CFG_INT, "100", SAGD_CFG_AT_LEAST_1, "T: SAGD updates per M-step", 0},
    {"em", "result", SAGD_CFG_STRING, "last", SAGD_CFG_ANY,
     "theta_{k+1} after an M-step: 'last' iterate or 'average' of the T iterates", 0},
    {"em", "target", SAGD_CFG_STRING, "frozen", SAGD_CFG_ANY,
     "em_plugin: 'frozen' (automated EM: the chains target p(u | x; theta_k) during M-step "
     "k) or 'follow' (direct MLE: they target p(u | x; theta) at the current theta)",
     0},
    /* [plugin] */
    {"plugin", "params", SAGD_CFG_REALS, "", SAGD_CFG_ANY,
     "em_plugin: numbers handed to the plug-in's open op (their meaning is the plug-in's)", 0},
    /* [sagd] */
    {"sagd", "sampler", SAGD_CFG_STRING, "underdamped", SAGD_CFG_ANY,
     "Langevin sampler: underdamped (DESIGN/paper scheme), symplectic (kick then drift: "
     "O(delta^2) stationary bias on Gaussian targets) or overdamped (no momentum)",
     0},
    {"sagd", "chains", SAGD_CFG_INT, "1", SAGD_CFG_AT_LEAST_1, "C: chains per data point", 0},
    {"sagd", "schedule", SAGD_CFG_STRING, "em", SAGD_CFG_ANY,
     "schedule of delta_t, K_t, alpha_t (see README)", 0},
    {"sagd", "clock", SAGD_CFG_STRING, "mstep", SAGD_CFG_ANY,
     "em: schedule index t of delta_t, K_t restarts each M-step ('mstep', paper Fig. 1) or "
     "runs over the whole run ('run': delta_t -> 0, K_t -> inf, removes the O(delta) bias)",
     0},
    {"sagd", "burnin", SAGD_CFG_INT, "100", SAGD_CFG_NONNEGATIVE,
     "Langevin steps (at delta_1) whenever the target changes", 0},
    {"sagd", "optimizer", SAGD_CFG_STRING, "sgd", SAGD_CFG_ANY,
     "the update of theta, projected onto the box", 0},
    {"sagd", "reduction", SAGD_CFG_STRING, "prerounded", SAGD_CFG_ANY,
     "deconv_vae: how the blocks' gradients are summed across ranks, bit-identically for "
     "any number of ranks: 'prerounded' (each term rounded onto a grid set by the previous "
     "update's largest terms, summed as integers: error ~2^-50 of the largest term, 10 "
     "bytes per parameter sent) or 'exact' (a superaccumulator: correctly rounded, ~5x "
     "dearer)",
     0},
    {"sagd", "block", SAGD_CFG_INT, "16", SAGD_CFG_AT_LEAST_1,
     "data points per reduction block (changes the bits of the result, not its law)", 0},
    /* [vae], [metrics]: the VAE-family experiments */
    {"vae", "methods", SAGD_CFG_STRING, "vae, iwae, hmc, sagd", SAGD_CFG_ANY,
     "deconv_vae: fine-tuning methods, each from the same pre-trained VAE (a comma-separated "
     "list of vae, iwae, hmc, sagd, coupled, ald)",
     0},
    {"vae", "finetune", SAGD_CFG_STRING, "sagd", SAGD_CFG_ANY,
     "mnist_vae: the generator's fine-tuning methods, each from the same pre-trained VAE and "
     "followed by its own encoder refit (a comma-separated list of the methods that train the "
     "generator alone: sagd, coupled, hmc, ald)",
     0},
    {"vae", "result", SAGD_CFG_STRING, "last", SAGD_CFG_ANY,
     "deconv_vae: the theta each fine-tuning reports (its KS, W1, log-likelihood and "
     "theta_final): its 'last' iterate, the 'average' of its iterates (Algorithm 1's "
     "theta-hat) or the 'tail' average of their second half",
     0},
    {"vae", "pretrain_epochs", SAGD_CFG_INT, "5000", SAGD_CFG_NONNEGATIVE,
     "deconv_vae, mnist_vae: VAE pre-training epochs (Adam)", 0},
    {"vae", "pretrain_lr", SAGD_CFG_REAL, "0.01", SAGD_CFG_POSITIVE,
     "deconv_vae, mnist_vae: pre-training learning rate", 0},
    {"vae", "finetune_epochs", SAGD_CFG_INT, "1000", SAGD_CFG_NONNEGATIVE,
     "fine-tuning epochs per method", 0},
    {"vae", "refit_epochs", SAGD_CFG_INT, "10", SAGD_CFG_NONNEGATIVE,
     "mnist_vae: epochs of each encoder refit on the ELBO with a fine-tuned generator frozen "
     "(its proposal for the held-out score)",
     0},
    {"vae", "finetune_lr", SAGD_CFG_REAL, "0.001", SAGD_CFG_POSITIVE,
     "fine-tuning learning rate (every method)", 0},
    {"vae", "batches", SAGD_CFG_INT, "1", SAGD_CFG_AT_LEAST_1,
     "deconv_vae, mnist_vae: minibatches per epoch (1 = full batch; each block of sagd.block "
     "points is "
     "cut into this many parts)",
     0},
    {"vae", "samples", SAGD_CFG_INT, "1", SAGD_CFG_AT_LEAST_1,
     "deconv_vae, mnist_vae: reparameterised samples per point in the ELBO", 0},
    {"vae", "estimate", SAGD_CFG_BOOL, "true", SAGD_CFG_ANY,
     "deconv_vae, mnist_vae: time a few iterations of each phase and print the estimated wall time",
     0},
    {"metrics", "samples", SAGD_CFG_INT, "5000", SAGD_CFG_AT_LEAST_1,
     "deconv_vae: generated values h(U) for the KS and W1 distances", 0},
    {"metrics", "nodes", SAGD_CFG_INT, "64", SAGD_CFG_AT_LEAST_1,
     "deconv_vae: Gauss-Hermite nodes of the true log-likelihood (1-D model)", 0},
    {"metrics", "loglik_every", SAGD_CFG_INT, "25", SAGD_CFG_NONNEGATIVE,
     "deconv_vae: trace the true log-likelihood every N iterations (0: only at the end); "
     "mnist_vae: the held-out estimate every N updates (0: at phase ends only)",
     0},
    {"metrics", "is_samples", SAGD_CFG_INT, "1000", SAGD_CFG_AT_LEAST_1,
     "mnist_vae: importance samples per test digit of the held-out log-likelihood", 0},
    /* [exact] */
    {"exact", "enabled", SAGD_CFG_BOOL, "true", SAGD_CFG_ANY,
     "em_gamma: also run the exact-gradient (quadrature) EM path and the MLE", 0},
    {"exact", "nodes", SAGD_CFG_INT, "64", SAGD_CFG_AT_LEAST_1,
     "Gauss-Hermite nodes for the exact reference (>= 64)", 0},
    /* [checkpoint] (neutral = 1: they cannot change results and may differ on resume) */
    {"checkpoint", "every", SAGD_CFG_INT, "0", SAGD_CFG_NONNEGATIVE,
     "write DIR/checkpoint.h5 every N iterations (0: off); also at the end of each phase "
     "and on SIGTERM/SIGUSR1",
     1},
    {"checkpoint", "seconds", SAGD_CFG_REAL, "600", SAGD_CFG_NONNEGATIVE,
     "write a checkpoint when this many seconds passed since the last one (0: off)", 1},
    {NULL, NULL, SAGD_CFG_STRING, NULL, SAGD_CFG_ANY, NULL, 0},
};

/* ---- the keys that choose types ------------------------------------------------------------ */

/* A key whose value names a type (or, `many`, a comma-separated list of them): the chosen
 * types' own keys are read by a run that reads this key. `choices`: its help lists the
 * registered names. */
typedef struct {
  const char *section, *key;
  const void *const *(*list)(void);
  sagd_config_type_keys (*keys_of)(const void *type);
  int many, choices;
} selector_;

static const void *const *samplers_(void) { return SAGD_REGISTRY(sagd_sampler_type_list()); }
static const void *const *schedules_(void) { return SAGD_REGISTRY(sagd_schedule_type_list()); }
static const void *const *optimizers_(void) { return SAGD_REGISTRY(sagd_optimizer_type_list()); }
static const void *const *methods_(void) { return SAGD_REGISTRY(sagd_vae_method_list()); }
static const void *const *generator_methods_(void) {
  return SAGD_REGISTRY(sagd_vae_generator_method_list());
}
static sagd_config_type_keys sampler_keys_(const void *t) {
  return ((const sagd_sampler_type *)t)->keys;
}
static sagd_config_type_keys schedule_keys_(const void *t) {
  return ((const sagd_schedule_type *)t)->keys;
}
static sagd_config_type_keys optimizer_keys_(const void *t) {
  return ((const sagd_optimizer_type *)t)->keys;
}
static sagd_config_type_keys method_keys_(const void *t) {
  return ((const sagd_vae_method_type *)t)->keys;
}

static const selector_ selectors_[] = {
    {"sagd", "sampler", samplers_, sampler_keys_, 0, 0},
    {"sagd", "schedule", schedules_, schedule_keys_, 0, 1},
    {"sagd", "optimizer", optimizers_, optimizer_keys_, 0, 1},
    {"vae", "methods", methods_, method_keys_, 1, 1},
    {"vae", "finetune", generator_methods_, method_keys_, 1, 1},
};
#define NSELECTORS (sizeof selectors_ / sizeof selectors_[0])

static const selector_ *selector_of_(const char *section, const char *key) {
  for (size_t i = 0; i < NSELECTORS; i++) {
    if (strcmp(selectors_[i].section, section) == 0 && strcmp(selectors_[i].key, key) == 0) {
      return &selectors_[i];
    }
  }
  return NULL;
}

/* "underdamped or symplectic": the types of s that read section.key, into buf. */
static const char *owners_(const selector_ *s, const char *section, const char *key, char *buf,
                           size_t cap) {
  const void *const *list = s->list();
  size_t n = 0, total = 0;
  for (size_t i = 0; list[i] != NULL; i++) {
    total += sagd_config_type_reads(s->keys_of(list[i]), section, key);
  }
  buf[0] = '\0';
  for (size_t i = 0; list[i] != NULL; i++) {
    if (sagd_config_type_reads(s->keys_of(list[i]), section, key)) {
      n++;
      sagd_text_append(buf, cap, "%s%s", n == 1 ? "" : (n == total ? " or " : ", "),
                       sagd_registry_name(list[i]));
    }
  }
  return buf;
}

/* ---- the program's key table ------------------------------------------------------------- */

#define KEYS_MAX 160
static sagd_config_key all_[KEYS_MAX + 1]; /* ends with a {NULL} row */
static size_t nall_;

static int find_(const char *section, const char *key) {
  for (size_t i = 0; i < nall_; i++) {
    if (strcmp(all_[i].section, section) == 0 && strcmp(all_[i].key, key) == 0) {
      return (int)i;
    }
  }
  return -1;
}

/* A help text built here (kept for the life of the program); `plain` if out of memory. */
static const char *help_(const char *plain, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static const char *help_(const char *plain, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  const int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  char *h = n >= 0 ? malloc((size_t)n + 1) : NULL;
  if (h == NULL) {
    return plain;
  }
  va_start(ap, fmt);
  vsnprintf(h, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return h;
}

static void add_(const sagd_config_key *k, const char *help) {
  if (nall_ >= KEYS_MAX) { /* a bug: the table outgrew its bound */
    fprintf(stderr, "sagd: internal error: more than %d configuration keys\n", KEYS_MAX);
    abort();
  }
  all_[nall_] = *k;
  all_[nall_++].help = help;
}

static void build_(void) {
  char names[512];
  for (const sagd_config_key *b = base_keys_; b->section != NULL; b++) {
    const selector_ *s = selector_of_(b->section, b->key);
    add_(b, s != NULL && s->choices
                ? help_(b->help, "%s; %s: %s", b->help, s->many ? "any of" : "one of",
                        sagd_registry_names(s->list(), names, sizeof names))
                : b->help);
    if (s == NULL) {
      continue;
    }
    const void *const *list = s->list();
    for (size_t t = 0; list[t] != NULL; t++) {
      sagd_config_type_keys keys = s->keys_of(list[t]);
      for (size_t i = 0; keys != NULL && keys[i] != NULL; i++) {
        const sagd_config_key *k = keys[i];
        const int at = find_(k->section, k->key);
        if (at >= 0) { /* shared by several types: one row, declared once */
          if (all_[at].type != k->type || strcmp(all_[at].def, k->def) != 0) {
            fprintf(stderr, "sagd: internal error: config key %s.%s is declared twice, "
                            "differently\n", k->section, k->key);
            abort();
          }
          continue;
        }
        char who[256];
        owners_(s, k->section, k->key, who, sizeof who);
        add_(k, s->many ? help_(k->help, "[with %s in %s.%s] %s", who, b->section, b->key,
                                k->help)
                        : help_(k->help, "[%s.%s = %s] %s", b->section, b->key, who, k->help));
      }
    }
  }
  all_[nall_] = (sagd_config_key){NULL, NULL, SAGD_CFG_STRING, NULL, SAGD_CFG_ANY, NULL, 0};
}

const sagd_config_key *sagd_config_keys(void) {
  if (nall_ == 0) {
    build_();
  }
  return all_;
}

/* ---- what a run reads ------------------------------------------------------------------- */

int sagd_config_chosen(sagd_config cfg, const char *section, const char *key,
                       const void **types, size_t cap, size_t *n) {
  const selector_ *sel = selector_of_(section, key);
  SAGD_ASSERT(sel != NULL);
  const char *value = sagd_config_string(cfg, section, key);
  char known[512];
  sagd_registry_names(sel->list(), known, sizeof known);
  *n = 0;
  if (!sel->many) {
    types[0] = sagd_registry_find(sel->list(), value);
    SAGD_CHECK(types[0] != NULL, SAGD_ERR_CONFIG, "%s.%s = '%s': expected one of %s", section,
               key, value, known);
    *n = 1;
    return SAGD_OK;
  }
  for (const char *p = value;;) { /* names separated by commas or blanks */
    p += strspn(p, ", \t");
    if (*p == '\0') {
      break;
    }
    const size_t len = strcspn(p, ", \t");
    char name[64];
    snprintf(name, sizeof name, "%.*s", (int)len, p);
    const void *t = len < sizeof name ? sagd_registry_find(sel->list(), name) : NULL;
    SAGD_CHECK(t != NULL, SAGD_ERR_CONFIG,
               "%s.%s: unknown name '%.*s': expected a comma-separated list of %s", section, key,
               (int)len, p, known);
    for (size_t i = 0; i < *n; i++) {
      SAGD_CHECK(types[i] != t, SAGD_ERR_CONFIG, "%s.%s: '%s' is listed twice", section, key,
                 name);
    }
    SAGD_CHECK(*n < cap, SAGD_ERR_CONFIG, "%s.%s = '%s': expected at most %zu names", section,
               key, value, cap);
    types[(*n)++] = t;
    p += len;
  }
  SAGD_CHECK(*n >= 1, SAGD_ERR_CONFIG, "%s.%s = '%s': expected at least one of %s", section, key,
             value, known);
  return SAGD_OK;
}

int sagd_experiment_reads(const sagd_experiment_type *e, sagd_config cfg, const char ***out) {
  *out = NULL;
  size_t ne = 0;
  while (e->reads != NULL && e->reads[ne] != NULL) {
    ne++;
  }
  /* one block: the pointers, then the "section.key" texts of the chosen types' keys */
  const size_t nmax = ne + KEYS_MAX + 1, textmax = (size_t)KEYS_MAX * 80;
  const char **r = malloc(nmax * sizeof *r + textmax);
  SAGD_CHECK(r != NULL, SAGD_ERR_MEM, "cannot allocate the list of the keys %s reads", e->name);
  char *text = (char *)(r + nmax), *end = text + textmax;
  size_t n = 0;
  for (; n < ne; n++) {
    r[n] = e->reads[n];
  }
  for (size_t s = 0; s < NSELECTORS && e->reads != NULL; s++) {
    const selector_ *sel = &selectors_[s];
    if (!sagd_config_key_matches(e->reads, sel->section, sel->key)) {
      continue;
    }
    const void *types[SAGD_CONFIG_CHOSEN_MAX];
    size_t nt = 0;
    const int rc = sagd_config_chosen(cfg, sel->section, sel->key, types, SAGD_CONFIG_CHOSEN_MAX,
                                      &nt);
    if (rc != SAGD_OK) {
      free(r);
      return rc;
    }
    for (size_t t = 0; t < nt; t++) {
      sagd_config_type_keys keys = sel->keys_of(types[t]);
      for (size_t k = 0; keys != NULL && keys[k] != NULL && n + 1 < nmax; k++) {
        const int len = snprintf(text, (size_t)(end - text), "%s.%s", keys[k]->section,
                                 keys[k]->key);
        if (len < 0 || len >= end - text) {
          break;
        }
        r[n++] = text;
        text += len + 1;
      }
    }
  }
  r[n] = NULL;
  *out = r;
  return SAGD_OK;
}

/* Append to buf the experiments that read section.key, as "a, b"; returns how many. */
static size_t readers_add_(const char *section, const char *key, char *buf, size_t cap) {
  size_t n = 0;
  for (const sagd_experiment_type *const *e = sagd_experiment_list(); *e != NULL; e++) {
    if ((*e)->reads != NULL && sagd_config_key_matches((*e)->reads, section, key)) {
      sagd_text_append(buf, cap, "%s%s", n++ ? ", " : "", (*e)->name);
    }
  }
  return n;
}

const char *sagd_config_readers(const char *section, const char *key, char *buf, size_t cap) {
  buf[0] = '\0';
  sagd_text_append(buf, cap, "read by ");
  size_t n = readers_add_(section, key, buf, cap);
  for (size_t s = 0; s < NSELECTORS; s++) {
    const selector_ *sel = &selectors_[s];
    char who[256];
    if (owners_(sel, section, key, who, sizeof who)[0] == '\0') {
      continue;
    }
    sagd_text_append(buf, cap, "%s", n++ ? "; by " : "");
    readers_add_(sel->section, sel->key, buf, cap);
    if (sel->many) {
      sagd_text_append(buf, cap, " with %s in %s.%s", who, sel->section, sel->key);
    } else {
      sagd_text_append(buf, cap, " with %s.%s = %s", sel->section, sel->key, who);
    }
  }
  if (n == 0) {
    buf[0] = '\0'; /* nothing reads it */
  }
  return buf;
}
