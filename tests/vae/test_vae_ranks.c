/* Rank-count invariance of every method's update: the gradients and statistics computed on
 * all ranks of MPI_COMM_WORLD (sharded data, exact block reduction) are bit-identical to
 * those of one rank holding all the data (MPI_COMM_SELF), for full batch and minibatches.
 * Also: SAGD's fused path (one network pass per step) gives the same bits as grad_theta +
 * the sampler's step; the VAE and IWAE gradients sent into the pre-rounded sum layer by
 * layer give the same bits as the whole block vector added at once (opt.unfused); a
 * different seed gives a different gradient. All of it in double and single precision. */
#include <mpi.h>
#include <stdio.h>

#include "fixture.h"

#define NT 3 /* updates compared per method */

static void grads_(MPI_Comm comm, const sagd_vae_options *o, const sagd_vae_method_type *m,
                   double *out, double *stats, size_t *len) {
  vae_fixture f;
  vae_fixture_make(&f, comm, 50, 5, o);
  REQUIRE_OK(m->start(f.v, f.theta, f.phi));
  size_t L = f.pt + (m->trains_encoder ? f.pp : 0);
  for (uint64_t t = 1; t <= NT; t++) {
    sagd_vae_stats st;
    REQUIRE_OK(m->gradient(f.v, f.theta, f.phi, t, out + (t - 1) * L,
                           m->trains_encoder ? out + (t - 1) * L + f.pt : NULL, &st));
    stats[3 * (t - 1)] = st.objective;
    stats[3 * (t - 1) + 1] = st.points;
    stats[3 * (t - 1) + 2] = st.accept;
    /* move θ a little so later updates see another θ (and SAGD's chains a moving target) */
    for (size_t j = 0; j < f.pt; j++) {
      f.theta[j] -= 0.01 * out[(t - 1) * L + j];
    }
  }
  *len = NT * L;
  vae_fixture_free(&f);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const sagd_vae_method_type *methods[] = {&sagd_vae_method_vae, &sagd_vae_method_iwae,
                                           &sagd_vae_method_hmc, &sagd_vae_method_sagd};
  double *a = calloc(20000, sizeof(double)), *b = calloc(20000, sizeof(double));
  double sa[3 * NT], sb[3 * NT];
  for (int prec = 0; prec < 2; prec++) {
  vae_fixture_precision = prec ? SAGD_PRECISION_SINGLE : SAGD_PRECISION_DOUBLE;
  if (rank == 0) {
    printf("-- %s precision\n", prec ? "single" : "double");
  }
  for (size_t M = 1; M <= 3; M += 2) {
    for (size_t i = 0; i < 4; i++) {
      sagd_vae_options o = vae_test_options();
      o.block = 6; /* 50 points: 9 blocks, the last one short */
      o.batches = M;
      o.chains = 2;
      size_t la, lb;
      grads_(MPI_COMM_WORLD, &o, methods[i], a, sa, &la);
      grads_(MPI_COMM_SELF, &o, methods[i], b, sb, &lb);
      CHECK(la == lb);
      int same = memcmp(a, b, la * sizeof(double)) == 0 && memcmp(sa, sb, sizeof sa) == 0;
      if (!same) {
        fprintf(stderr, "rank %d: %s with %zu minibatch(es): %d ranks and 1 rank differ\n", rank,
                methods[i]->name, M, size);
      }
      CHECK(same);
      if (rank == 0) {
        printf("%-4s M=%zu: %d ranks == 1 rank: %s (objective %.6f, %g points)\n",
               methods[i]->name, M, size, same ? "yes" : "NO", sa[0], sa[1]);
      }
    }
  }
  /* fused vs unfused (SAGD's model op; VAE/IWAE's gradients into the sum), another seed */
  for (size_t i = 0; i < 4; i++) {
    if (methods[i] == &sagd_vae_method_hmc) {
      continue;
    }
    sagd_vae_options o = vae_test_options();
    o.block = 6;
    o.chains = 2;
    o.batches = 3;
    size_t la, lb;
    grads_(MPI_COMM_WORLD, &o, methods[i], a, sa, &la);
    o.unfused = 1;
    grads_(MPI_COMM_WORLD, &o, methods[i], b, sb, &lb);
    const int same = memcmp(a, b, la * sizeof(double)) == 0;
    if (rank == 0) {
      printf("%-4s fused == unfused: %s\n", methods[i]->name, same ? "yes" : "NO");
    }
    CHECK(same);
    o.unfused = 0;
    o.key.seed = 8;
    grads_(MPI_COMM_WORLD, &o, methods[i], b, sb, &lb);
    CHECK(memcmp(a, b, la * sizeof(double)) != 0);
  }
  }
  free(a);
  free(b);
  int rc = TEST_EXIT();
  MPI_Finalize();
  return rc;
}
