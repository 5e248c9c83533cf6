/* The fused SAGD path (model op potential_grad_theta + sagd_sampler_step_with_grad, used by
 * sagd_solver_gradient when θ_target == θ) gives bit-identical θ trajectories and chain
 * states to the separate potential / grad_theta path, on the deconvolution model with a
 * softplus generator; it is taken exactly when the target equals θ; and the trajectory on
 * this communicator equals a single-rank run on MPI_COMM_SELF (rank-count invariance). */
#include <stdlib.h>
#include <string.h>

#include "sagd/deconv.h"
#include "sagd/sagd.h"
#include "testutil.h"

#define NPTS 23
#define R 2
#define P 3
#define CH 2
#define BLOCK 5
#define T 5
#define K 3

/* Counting wrappers around the deconv model's ops. */
static const sagd_model_type *base_;
static size_t n_pot_, n_gt_, n_fused_;

static int pot_(void *c, const double *th, size_t i0, size_t nb, size_t C, const double *xi,
                double *V, double *g) {
  n_pot_++;
  return base_->potential(c, th, i0, nb, C, xi, V, g);
}
static int gt_(void *c, const double *th, size_t i0, size_t nb, size_t C, const double *xi,
               double *g) {
  n_gt_++;
  return base_->grad_theta(c, th, i0, nb, C, xi, g);
}
static int fused_(void *c, const double *th, size_t i0, size_t nb, size_t C, const double *xi,
                  double *gxi, double *g) {
  n_fused_++;
  return base_->potential_grad_theta(c, th, i0, nb, C, xi, gxi, g);
}
/* The context belongs to the deconv model: the wrappers never free it. */
static const sagd_model_type with_fused_ = {"counted-fused", pot_, gt_, NULL, fused_};
static const sagd_model_type without_fused_ = {"counted-plain", pot_, gt_, NULL, NULL};

static void fill_(double *x, size_t n, unsigned seed, double s) {
  unsigned long st = seed * 2654435761UL + 3;
  for (size_t i = 0; i < n; i++) {
    st = st * 6364136223846793005UL + 1442695040888963407UL;
    x[i] = ((double)(st >> 11) / 9007199254740992.0 * 2.0 - 1.0) * s;
  }
}

typedef struct {
  sagd_mlp gen;
  sagd_model deconv, fused, plain;
  sagd_solver s_fused, s_plain;
} setup;

static void setup_create_(MPI_Comm comm, const double *x_all, setup *S) {
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  size_t i0, i1;
  sagd_shard_range(NPTS, BLOCK, rank, size, &i0, &i1);
  const size_t w[] = {R, 8, P};
  REQUIRE_OK(sagd_mlp_create(2, w, &sagd_act_softplus, NULL, BLOCK * CH, &S->gen));
  REQUIRE_OK(sagd_deconv_model_create(S->gen, x_all + i0 * P, NPTS, i0, i1, &S->deconv));
  base_ = S->deconv->type;
  const size_t np = S->deconv->p;
  REQUIRE_OK(sagd_model_create(&with_fused_, S->deconv->ctx, R, np, NPTS, i0, i1, &S->fused));
  REQUIRE_OK(sagd_model_create(&without_fused_, S->deconv->ctx, R, np, NPTS, i0, i1,
                               &S->plain));
  sagd_rng_key key = {99, 1};
  sagd_solver_options o = {CH, &sagd_sampler_underdamped, 2.0, BLOCK, key};
  REQUIRE_OK(sagd_solver_create(comm, S->fused, &o, &S->s_fused));
  REQUIRE_OK(sagd_solver_create(comm, S->plain, &o, &S->s_plain));
}

static void setup_destroy_(setup *S) {
  sagd_solver_destroy(&S->s_fused);
  sagd_solver_destroy(&S->s_plain);
  sagd_model_destroy(&S->fused);
  sagd_model_destroy(&S->plain);
  sagd_model_destroy(&S->deconv);
  sagd_mlp_destroy(&S->gen);
}

/* T SGD updates θ ← θ - α g̃ with the target following θ (direct MLE), on both solvers;
 * returns 1 if every θ_t agreed bit for bit. th_out: the final θ (fused path). */
static int run_mle_(setup *S, const double *th0, double *th_out) {
  const size_t np = S->deconv->p;
  double *a = malloc(np * sizeof(double)), *b = malloc(np * sizeof(double));
  double *ga = malloc(np * sizeof(double)), *gb = malloc(np * sizeof(double));
  REQUIRE_OK(a && b && ga && gb ? SAGD_OK : SAGD_ERR_MEM);
  memcpy(a, th0, np * sizeof(double));
  memcpy(b, th0, np * sizeof(double));
  int same = 1;
  for (uint64_t t = 1; t <= T; t++) {
    REQUIRE_OK(sagd_solver_gradient(S->s_fused, a, a, t, 0.05, K, ga));
    REQUIRE_OK(sagd_solver_gradient(S->s_plain, b, b, t, 0.05, K, gb));
    for (size_t j = 0; j < np; j++) {
      a[j] -= 0.1 * ga[j];
      b[j] -= 0.1 * gb[j];
    }
    same &= memcmp(a, b, np * sizeof(double)) == 0;
  }
  memcpy(th_out, a, np * sizeof(double));
  free(a);
  free(b);
  free(ga);
  free(gb);
  return same;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  double x_all[NPTS * P];
  fill_(x_all, NPTS * P, 1, 3.0);

  setup S = {0};
  setup_create_(MPI_COMM_WORLD, x_all, &S);
  const size_t np = S.deconv->p;
  double *th0 = malloc(np * sizeof(double)), *th_world = malloc(np * sizeof(double));
  double *th_self = malloc(np * sizeof(double));
  REQUIRE_OK(th0 && th_world && th_self ? SAGD_OK : SAGD_ERR_MEM);
  sagd_rng_key ikey = {3, 0};
  REQUIRE_OK(sagd_mlp_init_xavier(S.gen, ikey, 0, th0));

  /* 1. Direct MLE: fused and separate paths give the same θ_t and chains, bit for bit. */
  n_pot_ = n_gt_ = n_fused_ = 0;
  CHECK(run_mle_(&S, th0, th_world));
  size_t nblocks = 0;
  for (size_t i = S.deconv->i_begin; i < S.deconv->i_end; i += BLOCK) {
    nblocks++;
  }
  /* the fused solver made one fused call per block and step; the plain one two calls */
  CHECK(n_fused_ == nblocks * T * K);
  CHECK(n_pot_ == nblocks * T * K && n_gt_ == nblocks * T * K);
  double *xa, *ra, *xb, *rb;
  size_t nca, ncb, ra_dim, rb_dim;
  sagd_solver_chains(S.s_fused, &xa, &ra, &nca, &ra_dim);
  sagd_solver_chains(S.s_plain, &xb, &rb, &ncb, &rb_dim);
  CHECK(nca == ncb && ra_dim == R && rb_dim == R);
  CHECK(memcmp(xa, xb, nca * R * sizeof(double)) == 0);
  CHECK(memcmp(ra, rb, nca * R * sizeof(double)) == 0);

  /* 2. A frozen target (EM M-step): the fused op only where θ still equals the target (t = 1),
   * and still the same bits as the separate path. */
  {
    n_pot_ = n_gt_ = n_fused_ = 0;
    double *a = malloc(np * sizeof(double)), *b = malloc(np * sizeof(double));
    double *g1 = malloc(np * sizeof(double)), *g2 = malloc(np * sizeof(double));
    REQUIRE_OK(a && b && g1 && g2 ? SAGD_OK : SAGD_ERR_MEM);
    memcpy(a, th_world, np * sizeof(double));
    memcpy(b, th_world, np * sizeof(double));
    for (uint64_t t = 1; t <= 3; t++) {
      REQUIRE_OK(sagd_solver_gradient(S.s_fused, th_world, a, 100 + t, 0.05, K, g1));
      REQUIRE_OK(sagd_solver_gradient(S.s_plain, th_world, b, 100 + t, 0.05, K, g2));
      CHECK(memcmp(g1, g2, np * sizeof(double)) == 0);
      for (size_t j = 0; j < np; j++) {
        a[j] -= 0.1 * g1[j];
        b[j] -= 0.1 * g2[j];
      }
    }
    CHECK(n_fused_ == nblocks * K);
    free(a);
    free(b);
    free(g1);
    free(g2);
  }
  setup_destroy_(&S);

  /* 3. The same direct-MLE run on one rank (MPI_COMM_SELF, all the data) gives the same θ. */
  setup S1 = {0};
  setup_create_(MPI_COMM_SELF, x_all, &S1);
  CHECK(run_mle_(&S1, th0, th_self));
  CHECK(memcmp(th_self, th_world, np * sizeof(double)) == 0);
  setup_destroy_(&S1);

  /* A sampler without the precomputed-gradient form is refused by step_with_grad. */
  CHECK(sagd_sampler_has_grad_step(NULL) == 0);

  if (rank == 0) {
    printf("fused vs separate SAGD path on %d rank(s): %s\n", size,
           test_failures_ ? "MISMATCH" : "bit-identical");
  }
  free(th0);
  free(th_world);
  free(th_self);
  return test_exit_mpi();
}
