/* The batched decoder model x | u ~ lik(h_θ(u)), u ~ N(0, I) (see include/sagd/deconv.h);
 * the deconvolution model X = h_θ(U) + e is its Gaussian case.
 *
 * For chain q of data point i (latent u ∈ R^r, data x_i ∈ R^p), with ℓ(η) = -log p(x_i | η)
 * of the likelihood type and R = ∂ℓ/∂η at η = h_θ(u) (Gaussian: R = h_θ(u) - x_i):
 *   V = f = ℓ(h_θ(u)) + ½‖u‖² + const      (= -log p(x_i, u; θ), constant included)
 *   ∇_u V = J_h(u)ᵀ R + u,     ∇_θ f = J_θ(u)ᵀ R
 * A block's nb*C chains are one batch of the generator: one forward pass gives R for all of
 * them, one backward pass (dY = R) gives ∇_u (dX) and/or Σ ∇_θ (the parameter gradient,
 * whose GEMM sums the block's rows in a fixed order: the result depends on the block only,
 * so sums over fixed blocks keep the rank-count invariance). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sagd/deconv.h"
#include "sagd/error.h"
#include "sagd/likelihood.h"

typedef struct {
  sagd_mlp gen;     /* borrowed */
  const sagd_likelihood_type *lik;
  size_t r, p;      /* latent and data dimensions */
  size_t w;         /* generator outputs per row: lik->outputs · p */
  size_t i_begin;   /* the shard's first global index */
  size_t nloc;      /* the shard's points */
  double *x;        /* nloc × p */
  double *H;        /* max_batch × w: h(u), then R = ∂ℓ/∂η */
  double *nll;      /* max_batch: ℓ(h(u)) per chain */
  double logc;      /* the likelihood's constant + the prior's, (r/2) log 2π */
} deconv_ctx;

static void deconv_destroy_(void *vctx) {
  deconv_ctx *c = vctx;
  if (c == NULL) {
    return;
  }
  free(c->x);
  free(c->H);
  free(c->nll);
  free(c);
}

/* Forward the block's chains; leave R = ∂ℓ/∂η in c->H and ℓ in c->nll. */
static int deconv_residual_(deconv_ctx *c, const double *theta, size_t i0, size_t nb, size_t C,
                            const double *xi) {
  const size_t nc = nb * C, p = c->p;
  SAGD_CHECK(nc <= sagd_mlp_max_batch(c->gen), SAGD_ERR_ARG,
             "deconv model: block of %zu points x %zu chains = %zu rows exceeds the "
             "generator's max_batch = %zu",
             nb, C, nc, sagd_mlp_max_batch(c->gen));
  SAGD_CHECK(i0 >= c->i_begin && i0 + nb <= c->i_begin + c->nloc, SAGD_ERR_ARG,
             "deconv model: block [%zu, %zu) is outside the shard [%zu, %zu)", i0, i0 + nb,
             c->i_begin, c->i_begin + c->nloc);
  if (nc == 0) {
    return SAGD_OK;
  }
  SAGD_CALL(sagd_mlp_forward(c->gen, theta, nc, xi, c->H));
  for (size_t b = 0; b < nb; b++) {
    const double *x = c->x + (i0 - c->i_begin + b) * p;
    for (size_t cc = 0; cc < C; cc++) {
      double *h = c->H + (b * C + cc) * c->w, *l = c->nll + b * C + cc;
      *l = 0;
      c->lik->nll_row(h, x, p, 1.0, l, h);
    }
  }
  return SAGD_OK;
}

/* grad_xi = (backward's dX) + u. */
static void add_latent_(size_t n, const double *xi, double *grad_xi) {
  for (size_t i = 0; i < n; i++) {
    grad_xi[i] += xi[i];
  }
}

static int deconv_potential_(void *vctx, const double *theta, size_t i0, size_t nb, size_t C,
                             const double *xi, double *V, double *grad_xi) {
  deconv_ctx *c = vctx;
  if (V == NULL && grad_xi == NULL) {
    return SAGD_OK;
  }
  SAGD_CALL(deconv_residual_(c, theta, i0, nb, C, xi));
  const size_t nc = nb * C, r = c->r;
  if (nc == 0) {
    return SAGD_OK;
  }
  if (V != NULL) {
    for (size_t q = 0; q < nc; q++) {
      const double *u = xi + q * r;
      double t = 0.0;
      for (size_t j = 0; j < r; j++) {
        t += u[j] * u[j];
      }
      V[q] = c->nll[q] + 0.5 * t + c->logc;
    }
  }
  if (grad_xi != NULL) {
    SAGD_CALL(sagd_mlp_backward(c->gen, theta, nc, c->H, NULL, grad_xi));
    add_latent_(nc * r, xi, grad_xi);
  }
  return SAGD_OK;
}

static int deconv_grad_theta_(void *vctx, const double *theta, size_t i0, size_t nb, size_t C,
                              const double *xi, double *g) {
  deconv_ctx *c = vctx;
  SAGD_CALL(deconv_residual_(c, theta, i0, nb, C, xi));
  if (nb * C == 0) {
    return SAGD_OK;
  }
  SAGD_CALL(sagd_mlp_backward(c->gen, theta, nb * C, c->H, g, NULL));
  return SAGD_OK;
}

static int deconv_potential_grad_theta_(void *vctx, const double *theta, size_t i0, size_t nb,
                                        size_t C, const double *xi, double *grad_xi,
                                        double *g) {
  deconv_ctx *c = vctx;
  SAGD_CALL(deconv_residual_(c, theta, i0, nb, C, xi));
  const size_t nc = nb * C;
  if (nc == 0) {
    return SAGD_OK;
  }
  SAGD_CALL(sagd_mlp_backward(c->gen, theta, nc, c->H, g, grad_xi));
  if (grad_xi != NULL) {
    add_latent_(nc * c->r, xi, grad_xi);
  }
  return SAGD_OK;
}

static const sagd_model_type deconv_type_ = {
    .name = "decoder",
    .potential = deconv_potential_,
    .grad_theta = deconv_grad_theta_,
    .destroy = deconv_destroy_,
    .potential_grad_theta = deconv_potential_grad_theta_,
};

int sagd_decoder_model_create(sagd_mlp gen, const sagd_likelihood_type *lik,
                              const double *x_local, size_t n, size_t i_begin, size_t i_end,
                              sagd_model *m) {
  SAGD_CHECK(m != NULL, SAGD_ERR_ARG, "deconv model: output pointer must be given");
  *m = NULL;
  SAGD_CHECK(gen != NULL && lik != NULL, SAGD_ERR_ARG,
             "deconv model: a generator network and a likelihood must be given");
  SAGD_CHECK(i_begin <= i_end && i_end <= n, SAGD_ERR_ARG,
             "deconv model: shard [%zu, %zu) is not inside [0, %zu)", i_begin, i_end, n);
  const size_t nloc = i_end - i_begin, r = sagd_mlp_in(gen), w = sagd_mlp_out(gen),
               p = w / lik->outputs;
  SAGD_CHECK(w % lik->outputs == 0, SAGD_ERR_ARG,
             "decoder model: generator output width %zu is not a multiple of the %zu outputs "
             "per data coordinate of likelihood %s",
             w, lik->outputs, lik->name);
  SAGD_CHECK(x_local != NULL || nloc == 0, SAGD_ERR_ARG,
             "deconv model: the shard's %zu data points must be given", nloc);
  SAGD_CALL(lik->check_data(x_local, nloc, p, i_begin));
  const size_t B = sagd_mlp_max_batch(gen);
  deconv_ctx *c = calloc(1, sizeof(*c));
  SAGD_CHECK(c != NULL, SAGD_ERR_MEM, "cannot allocate the deconv model");
  *c = (deconv_ctx){.gen = gen,
                    .lik = lik,
                    .r = r,
                    .p = p,
                    .w = w,
                    .i_begin = i_begin,
                    .nloc = nloc,
                    .logc = lik->constant(p) + sagd_prior_constant(r)};
  c->x = malloc((nloc > 0 ? nloc : 1) * p * sizeof(double));
  c->H = malloc((B > 0 ? B : 1) * w * sizeof(double));
  c->nll = malloc((B > 0 ? B : 1) * sizeof(double));
  if (c->x == NULL || c->H == NULL || c->nll == NULL) {
    deconv_destroy_(c);
    SAGD_FAIL(SAGD_ERR_MEM, "cannot allocate the deconv model for %zu points and %zu rows",
              nloc, B);
  }
  if (nloc > 0) {
    memcpy(c->x, x_local, nloc * p * sizeof(double));
  }
  int err = sagd_model_create(&deconv_type_, c, r, sagd_mlp_nparams(gen), n, i_begin, i_end, m);
  if (err != SAGD_OK) {
    deconv_destroy_(c);
    return sagd_error_trace(err, __FILE__, __LINE__, __func__);
  }
  return SAGD_OK;
}

int sagd_deconv_model_create(sagd_mlp gen, const double *x_local, size_t n, size_t i_begin,
                             size_t i_end, sagd_model *m) {
  SAGD_CALL(sagd_decoder_model_create(gen, &sagd_likelihood_gaussian, x_local, n, i_begin,
                                      i_end, m));
  return SAGD_OK;
}
