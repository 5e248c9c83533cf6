/* Private layout of a sagd_vae (see include/sagd/vae.h) and the pieces its methods share:
 * vae.c (VAE, IWAE, HMC, SAGD), vae_coupled.c (coupled ISIR) and vae_ald.c (ALD). */
#ifndef SAGD_VAE_IMPL_H
#define SAGD_VAE_IMPL_H

#include "sagd/ald.h"
#include "sagd/hmc.h"
#include "sagd/model.h"
#include "sagd/psum.h"
#include "sagd/reduce.h"
#include "sagd/vae.h"

/* Extra sums carried with every gradient: [objective, points, accepted, proposals]. */
enum { X_OBJ = 0, X_PTS, X_ACC, X_PROP, X_N };

/* The coupled ISIR estimator's scratch and counters (vae_coupled.c); all NULL/0 unless
 * opt.coupled.S >= 2. */
typedef struct {
  double *x, *xe, *y, *ye;   /* maxpart*r: the two chains' states and their ε = (u - μ)/σ */
  double *lp;                /* maxpart: log p(x, X; θ) of the X chain's state */
  double *coef, *lprow;      /* R: each row's coefficient in the estimate, its log p(x, u; θ) */
  double *w;                 /* 4(S+1): the step's weights of one point */
  size_t *row0;              /* maxpart: a point's first row in the step's batch (or SIZE_MAX) */
  uint64_t *tau;             /* maxpart: meeting time (0 while the pair has not met) */
  double *meeting;           /* nloc: each local point's meeting time at its latest update */
  uint64_t sum_tau, ncapped; /* this rank's sums over the current update */
} sagd_vae_coupled_scratch_;

struct sagd_vae_s {
  MPI_Comm comm;
  sagd_mlp gen, enc; /* borrowed */
  sagd_vae_options opt;
  size_t r, p, pt, pp; /* latent, data dimension, |θ|, |φ| */
  size_t w;            /* decoder outputs: likelihood->outputs · p */
  size_t n, i_begin, i_end, nloc, maxpart;
  double *x;        /* nloc*p */
  sagd_model model; /* the deconvolution model over the shard (owned) */
  sagd_sampler sampler;
  sagd_hmc hmc;
  double *xi, *rho;    /* persistent SAGD chains, nloc*C*r each */
  sagd_xsum acc_full;  /* X_N + pt + pp (exact sums) */
  sagd_xsum acc_theta; /* X_N + pt */
  sagd_psum ps_full;   /* the same, pre-rounded (the default) */
  sagd_psum ps_theta;
  int time_waits;    /* sagd_vae_time_waits */
  sagd_psum sink;    /* during an ELBO/IWAE update with pre-rounded sums: the networks'
                        parameter gradients go straight into it, layer by layer */
  sagd_xsum acc_one; /* 1 (log-likelihood) */
  double *blk;       /* X_N + pt + pp: one block's sums */
  double *red;       /* X_N + pt + pp: reduced sums */
  sagd_rng_gsl rng;
  size_t *perm; /* M */
  /* scratch for one part of a block: m <= maxpart points, R = sagd_vae_max_rows rows */
  double *eo, *deo;         /* maxpart*2r: encoder outputs (μ, log σ²) and their gradients */
  double *u, *eps, *du;     /* R*r */
  double *h, *dh;           /* R*w */
  double *lw;               /* R */
  double *sig, *elv;        /* maxpart*r: σ = exp(lv/2) and exp(lv) of the part's points */
  double *cV, *cgrad, *cxi; /* HMC chain states: maxpart*C, maxpart*C*r (x2) */
  sagd_vae_coupled_scratch_ cp;
  sagd_ald ald;     /* method ald (opt.ald.features >= 1; else NULL) */
  double *ald_phis; /* K × r·d: the maps after each step of the current update */
  double *ald_z;    /* maxpart × r */
};

/* One part [a, e) of a block into blk = [extras | gθ | gφ]: the extras are added to (they
 * start at zero); gθ and gφ are overwritten by the parts that train the encoder (ELBO, IWAE:
 * one backward pass per network) and added to by the others (they start at zero). */
typedef int (*sagd_vae_part_fn_)(sagd_vae v, const double *theta, const double *phi, uint64_t t,
                                 size_t a, size_t e, double *blk);

/* **Collective.** One update's gradient: fn on every local block's minibatch part, the
 * reproducible sum over all blocks, g = sum / (points · grad_scale); with_phi: the encoder's
 * gradient too. */
int sagd_vae_run_parts_(sagd_vae v, const double *theta, const double *phi, uint64_t t,
                        int with_phi, sagd_vae_part_fn_ fn, double *g_theta, double *g_phi,
                        sagd_vae_stats *stats, double grad_scale);

/* Encoder on the part's m points from a: v->eo = (μ, log σ²) rows of 2r. */
int sagd_vae_encode_(sagd_vae v, const double *phi, size_t a, size_t m);
/* v->sig = σ = exp(log σ² / 2) of the part's m points (from v->eo). */
void sagd_vae_part_sigma_(sagd_vae v, size_t m);
/* Σ_j log σ²_j of the part's point q (from v->eo). */
double sagd_vae_sum_logvar_(sagd_vae v, size_t q);
/* Of batch row `row` (generator input v->u, its noise v->eps = (u - μ)/σ, output v->h) for
 * data x with slv = Σ log σ²: the importance log-weight log p(x, u; θ) - log q_φ(u | x) (the
 * 2π constants cancel), v->dh's row = ∂(-log p(x | h))/∂h, and *joint (may be NULL) =
 * log p(x, u; θ). */
double sagd_vae_log_weight_(sagd_vae v, size_t row, const double *x, double slv, double *joint);

/* SAGD_OK if a method's scratch exists (ready != 0); otherwise SAGD_ERR_ARG naming the method
 * and its unset setting: "<method>: the method's settings are not set (options.<key> = value,
 * expected >= min)". */
int sagd_vae_method_ready_(int ready, const char *method, const char *key, size_t value,
                           size_t min);

/* The coupled estimator's scratch (opt.coupled.S >= 2), and its release. */
int sagd_vae_coupled_alloc_(sagd_vae v);
void sagd_vae_coupled_free_(sagd_vae v);
/* The ald method's sampler over the shard and its scratch (opt.ald.features >= 1), and
 * their release. */
int sagd_vae_ald_alloc_(sagd_vae v);
void sagd_vae_ald_free_(sagd_vae v);

#endif
