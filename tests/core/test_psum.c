/* Pre-rounded reproducible sums (sagd_psum), registered with NP = 1, 2, 3, 4.
 *
 * A fixed global list of NT term vectors (each a pure function of its index) is summed three
 * times in a row, the terms split over the ranks in a way that depends on the number of ranks
 * (uneven, one rank empty with >= 3 ranks, odd ranks adding in reverse order):
 *   sum 1: no grid yet, every term exact: must be the correctly rounded sum (fsum reference);
 *   sum 2: on the grid of sum 1: within the stated bound N·u/2 + ulp/2 of fsum, and
 *          bit-identical to one process adding every term in order (so to any split);
 *   sum 3: the same terms scaled by 2^20 in one component (it outgrows the grid: exact path,
 *          = fsum again) and by 2^-30 in another (far below the grid: rounding error within
 *          the bound, relative error large by design).
 * Components (47, of 8 kinds) hold: the widest range, ordinary numbers, huge terms cancelling exactly among
 * tiny ones, exact zeros, and grid-point ties (x = (2m + 1)·u/2, rounded to even: checked
 * against integer arithmetic). Also: a checkpoint's grid restored into a new sum continues
 * with the same bits; a non-finite term is refused naming its component; a different set of
 * terms gives different bits; a term added in float pieces in any order gives the bits of the
 * same term added whole. */
#include <inttypes.h>
#include <math.h>
#include <mpi.h>
#include <string.h>

#include "sagd/psum.h"
#include "testutil.h"
#include "xsum_ref.h"

#define NT 1000
#define NKIND 8
#define PC (6 * NKIND - 1) /* 47 components: the vector kernel's blocks of 8, a tail of 7 */
#define MARGIN 6

/* Term vector k of sum `round` (1, 2, 3): a pure function of (k, round). Component c is of
 * kind c % NKIND (copies differ by their random streams); kind 6 (ties) is set by the caller
 * once the grid is known. */
static void term_(size_t k, int round, double *v) {
  for (int c = 0; c < PC; c++) {
    const int kind = c % NKIND, copy = c / NKIND;
    uint64_t s = 0x5eedULL * 1000003ULL + k * 64 + (uint64_t)copy;
    uint64_t s2 = 0xfeedULL * 1000003ULL + (k / 2) * 64 + (uint64_t)copy; /* pairs 2m, 2m+1 */
    double x = 0.0;
    switch (kind) {
      case 0: x = random_wide(&s, -200, 95); break; /* widest range */
      case 1: x = random_wide(&s, -60, -50); break; /* ordinary numbers */
      case 2: x = random_wide(&s2, 30, 40) * (k % 2 == 0 ? 1 : -1); break; /* cancel */
      case 3: x = (k % 5 == 0) ? random_wide(&s, -30, -25) : 0.0; break; /* mostly zeros */
      case 4: x = ldexp(random_wide(&s, 0, 3), round == 3 ? 20 : 0); break; /* outgrows */
      case 5: x = ldexp(random_wide(&s, -5, -2), round == 3 ? -30 : 0); break; /* shrinks */
      case 6: x = 0.0; break; /* ties */
      default: x = random_wide(&s, -10, 10); break;
    }
    v[c] = x;
  }
}

static int owner_(size_t k, int size) {
  uint64_t s = k * 7919 + (uint64_t)size;
  int r = (int)(splitmix64(&s) % (uint64_t)size);
  return (size >= 3 && r == 1) ? 0 : r;
}

/* Tie terms of component 6 for sum `round` given its grid unit u: (2m + 1)·u/2 with small
 * signed m; tq = the sum of the round-half-even integers they must become. */
static double tie_term_(size_t k, int round, double u, int64_t *tq) {
  int64_t m = (int64_t)(k % 7) - 3 + round;
  double x = ((double)(2 * m + 1)) * (u / 2);
  /* round half to even of m + 1/2: m if m is even, m + 1 otherwise */
  *tq += (m % 2 == 0) ? m : m + 1;
  return x;
}

/* Add this rank's share of sum `round` (odd ranks in reverse order). */
static int add_share_(sagd_psum s, int round, int rank, int size, double u6, int all) {
  double v[PC];
  int64_t tq = 0;
  for (size_t i = 0; i < NT; i++) {
    size_t k = (rank % 2 == 1 && !all) ? NT - 1 - i : i;
    if (!all && owner_(k, size) != rank) {
      continue;
    }
    term_(k, round, v);
    if (u6 > 0) {
      for (int c = 6; c < PC; c += NKIND) {
        v[c] = tie_term_(k, round, u6, &tq);
      }
    }
    int rc = sagd_psum_add(s, v);
    if (rc != 0) {
      return rc;
    }
  }
  return 0;
}

/* fsum of component c of sum `round` over all NT terms. */
static double ref_(int round, int c, double u6) {
  static double col[NT];
  double v[PC];
  int64_t tq = 0;
  for (size_t k = 0; k < NT; k++) {
    term_(k, round, v);
    if (u6 > 0 && c % NKIND == 6) {
      v[c] = tie_term_(k, round, u6, &tq);
    }
    col[k] = v[c];
  }
  return ref_fsum(col, NT, 1);
}

/* The kernel check: term k of component j, on a grid G_j, scaled to q = x / u_j of a kind
 * chosen at random per (k, j): a tie n + 1/2, a large q up to the grid's limit 2^(62 - h), an
 * ordinary or tiny q, zero; components j % 7 == 3 get terms just off the grid (|x| >= 2^G_j:
 * the exact path). In float mode the term is rounded to float first. */
#define KP 4099 /* components: blocks of 8 and of 4 with a tail of 3 */
#define KT 64   /* terms */
#define KH 6    /* h: 2^KH >= KT */
#define OFF_GRID_(j) ((j) % 7 == 3)
static double kernel_term_(size_t k, size_t j, int G, int fl) {
  uint64_t s = 0xabcdULL + k * 1000003ULL + j * 7919ULL + (uint64_t)fl;
  const int h = KH;
  double q;
  switch (splitmix64(&s) % 6) {
    case 0:
      q = ldexp((double)(splitmix64(&s) >> 14), -(int)(splitmix64(&s) % 40)) + 0.5;
      break;
    case 1:
      q = random_wide(&s, 40 - 52, 62 - h - 53);
      break;
    case 2:
      q = random_wide(&s, -30 - 52, 10 - 53);
      break;
    case 3:
      q = random_wide(&s, -200, -120);
      break;
    case 4:
      q = 0.0;
      break;
    default:
      q = -(double)(splitmix64(&s) >> 40) - 0.5;
      break; /* negative ties */
  }
  if (OFF_GRID_(j)) {
    q = random_wide(&s, 62 - h - 52, 62 - h - 52); /* |x| in [2^G, 2^(G+1)) */
  }
  double x = ldexp(q, G + h - 62);
  return fl ? (double)(float)x : x;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  sagd_psum s = NULL, one = NULL;
  REQUIRE_OK(sagd_psum_create(PC, NT, MARGIN, &s));
  REQUIRE_OK(sagd_psum_create(PC, NT, MARGIN, &one)); /* every term, one process */
  const int h = 10;                                    /* 2^10 >= NT */
  double out[PC], grid_before[PC];
  uint64_t bits2[PC];

  for (int round = 1; round <= 3; round++) {
    double *G = sagd_psum_grid(s, NULL);
    memcpy(grid_before, G, sizeof grid_before);
    /* the tie component needs a grid: from sum 2 on it has one (set by the unit it gets) */
    double u6 = round == 1 ? 0.0 : ldexp(1.0, (int)G[6] + h - 62);
    if (round == 2) {
      /* give the tie components a grid: G = 0 */
      for (int c = 6; c < PC; c += NKIND) {
        G[c] = 0.0;
        sagd_psum_grid(one, NULL)[c] = 0.0;
      }
      u6 = ldexp(1.0, 0 + h - 62);
    }
    sagd_psum_zero(s);
    REQUIRE_OK(add_share_(s, round, rank, size, u6, 0));
    REQUIRE_OK(sagd_psum_allreduce(s, MPI_COMM_WORLD, out));
    /* the same sum in one process, in order: the bits must not depend on the split */
    sagd_psum_zero(one);
    REQUIRE_OK(add_share_(one, round, 0, 1, u6, 1));
    double o1[PC];
    REQUIRE_OK(sagd_psum_allreduce(one, MPI_COMM_SELF, o1));
    for (int c = 0; c < PC; c++) {
      if (dbits(o1[c]) != dbits(out[c])) {
        fprintf(stderr, "sum %d component %d: %d ranks %.17g, one process %.17g\n", round, c,
                size, out[c], o1[c]);
      }
      CHECK(dbits(o1[c]) == dbits(out[c]));
      CHECK(sagd_psum_grid(one, NULL)[c] == sagd_psum_grid(s, NULL)[c]);
    }
    for (int c = 0; c < PC; c++) {
      const double r = ref_(round, c, u6);
      if (round == 1) {
        CHECK(dbits(out[c]) == dbits(r)); /* exact path: correctly rounded */
      } else if (round == 3 && c % NKIND == 4) {
        CHECK(dbits(out[c]) == dbits(r)); /* off the grid: exact path */
      } else if (c % NKIND == 6) {
        /* ties, rounded to even on the grid: the integer sum, times u */
        int64_t tq = 0;
        for (size_t k = 0; k < NT; k++) {
          (void)tie_term_(k, round, u6, &tq);
        }
        if (round == 2) {
          CHECK(out[c] == (double)tq * u6);
        }
      } else {
        /* on the grid: |error| <= N u / 2 + ulp/2 */
        const int Gc = (int)grid_before[c];
        const double u = ldexp(1.0, Gc + h - 62);
        const double bound = NT * u / 2 + fabs(r) * 0x1p-53;
        if (!(fabs(out[c] - r) <= bound)) {
          fprintf(stderr, "sum %d component %d: |%.17g - %.17g| = %.3g > bound %.3g\n", round,
                  c, out[c], r, fabs(out[c] - r), bound);
        }
        CHECK(fabs(out[c] - r) <= bound);
      }
    }
    if (round == 2) {
      for (int c = 0; c < PC; c++) {
        bits2[c] = dbits(out[c]);
      }
      size_t b2 = 0;
      sagd_psum_counts(s, NULL, NULL, &b2);
      CHECK(b2 == (PC + 1) * 8 + PC * 2); /* on the grid: p + 1 int64 and p uint16 */
    }
  }
  uint64_t sums = 0, exact = 0;
  size_t bytes = 0;
  sagd_psum_counts(s, &sums, &exact, &bytes);
  CHECK(sums == 3);
  CHECK(exact == 2); /* sum 1 (no grid) and sum 3 (component 4 outgrew its grid) */
  /* sum 3: the grid's bytes, plus the gathered lists and the exact limbs of the union of
   * the 6 components that outgrew the grid, no more (not the whole exact accumulator) */
  CHECK(bytes > (PC + 1) * 8 + PC * 2);
  CHECK(bytes <= (PC + 1) * 8 + PC * 2 + 4 * (size_t)size + 8 * 6 * (size_t)size + 8 +
                     15 * 6 * 8);

  /* Resume: a new accumulator given sum 1's grid continues sum 2 with the same bits. */
  {
    sagd_psum r = NULL;
    REQUIRE_OK(sagd_psum_create(PC, NT, MARGIN, &r));
    sagd_psum fresh = NULL;
    REQUIRE_OK(sagd_psum_create(PC, NT, MARGIN, &fresh));
    /* run sum 1 on `fresh`, copy its grid to `r` (as a checkpoint would), run sum 2 on r */
    sagd_psum_zero(fresh);
    REQUIRE_OK(add_share_(fresh, 1, rank, size, 0.0, 0));
    REQUIRE_OK(sagd_psum_allreduce(fresh, MPI_COMM_WORLD, out));
    memcpy(sagd_psum_grid(r, NULL), sagd_psum_grid(fresh, NULL), PC * sizeof(double));
    for (int c = 6; c < PC; c += NKIND) {
      sagd_psum_grid(r, NULL)[c] = 0.0;
    }
    sagd_psum_zero(r);
    REQUIRE_OK(add_share_(r, 2, rank, size, ldexp(1.0, h - 62), 0));
    REQUIRE_OK(sagd_psum_allreduce(r, MPI_COMM_WORLD, out));
    for (int c = 0; c < PC; c++) {
      CHECK(dbits(out[c]) == bits2[c]);
    }
    /* other terms (sum 3's instead of sum 2's) give other bits */
    sagd_psum_zero(r);
    REQUIRE_OK(add_share_(r, 3, rank, size, ldexp(1.0, h - 62), 0));
    REQUIRE_OK(sagd_psum_allreduce(r, MPI_COMM_WORLD, out));
    CHECK(dbits(out[0]) != bits2[0] || dbits(out[4]) != bits2[4]);
    sagd_psum_destroy(&r);
    sagd_psum_destroy(&fresh);
  }

  /* A term added in pieces (float pieces, in reverse order, split unevenly) gives the bits of
   * the same term added whole in double. */
  {
    sagd_psum a = NULL, b = NULL;
    REQUIRE_OK(sagd_psum_create(PC, NT, MARGIN, &a));
    REQUIRE_OK(sagd_psum_create(PC, NT, MARGIN, &b));
    double v[PC], oa[PC], ob[PC];
    float vf[PC];
    for (int round = 1; round <= 2; round++) {
      sagd_psum_zero(a);
      sagd_psum_zero(b);
      for (size_t k = 0; k < NT; k++) {
        if (owner_(k, size) != rank) {
          continue;
        }
        term_(k, 2, v);
        for (int c = 0; c < PC; c++) {
          vf[c] = (float)ldexp(v[c], c % NKIND == 0 ? -100 : 0); /* keep kind 0 in range */
          v[c] = (double)vf[c];
        }
        REQUIRE_OK(sagd_psum_add(a, v));
        REQUIRE_OK(sagd_psum_begin_term(b));
        const size_t cut[4] = {0, 5, 21, PC};
        for (int q = 2; q >= 0; q--) {
          REQUIRE_OK(sagd_psum_add_range_float(b, cut[q], cut[q + 1] - cut[q], vf + cut[q]));
        }
      }
      REQUIRE_OK(sagd_psum_allreduce(a, MPI_COMM_WORLD, oa));
      REQUIRE_OK(sagd_psum_allreduce(b, MPI_COMM_WORLD, ob));
      CHECK(memcmp(oa, ob, sizeof oa) == 0); /* round 1 exact path, round 2 on the grid */
    }
    double x = 1;
    CHECK(sagd_psum_add_range(a, PC - 1, 2, &x) == SAGD_ERR_ARG); /* outside the vector */
    sagd_psum_destroy(&a);
    sagd_psum_destroy(&b);
  }

  /* A non-finite term is refused, naming the component. */
  {
    double v[PC] = {0};
    v[13] = NAN;
    sagd_psum_zero(s);
    int rc = sagd_psum_add(s, v);
    CHECK(rc == SAGD_ERR_NUMERIC);
    CHECK(strstr(sagd_error_message(), "component 13") != NULL);
    v[13] = INFINITY;
    sagd_psum_zero(s);
    CHECK(sagd_psum_add(s, v) == SAGD_ERR_NUMERIC);
  }
  /* More vectors than declared is an error, not a silent overflow. */
  {
    sagd_psum t = NULL;
    REQUIRE_OK(sagd_psum_create(1, 2, MARGIN, &t));
    double x = 1.0;
    sagd_psum_zero(t);
    REQUIRE_OK(sagd_psum_add(t, &x));
    REQUIRE_OK(sagd_psum_add(t, &x));
    CHECK(sagd_psum_add(t, &x) != 0);
    sagd_psum_destroy(&t);
  }
  /* Every kernel (SAGD_SIMD caps it: none, avx2; this test runs under each) gives the bits
   * the definition gives: each term rounded to the nearest multiple of its grid unit, ties
   * to even (llrint), summed as integers, times the unit; a term off the grid goes to the
   * exact sum. Double terms, then float pieces of uneven lengths. */
  for (int fl = 0; fl <= 1; fl++) {
    sagd_psum t = NULL;
    REQUIRE_OK(sagd_psum_create(KP, KT, MARGIN, &t));
    double *G = sagd_psum_grid(t, NULL);
    static int Gj[KP];
    for (size_t j = 0; j < KP; j++) {
      uint64_t sg = 77 + j;
      Gj[j] = fl ? -20 + (int)(splitmix64(&sg) % 41) : -150 + (int)(splitmix64(&sg) % 271);
      G[j] = Gj[j];
    }
    sagd_psum_zero(t);
    static double v[KP], kout[KP];
    static float vf[KP];
    for (size_t k = 0; k < KT; k++) {
      if ((int)(k % (size_t)size) != rank) {
        continue;
      }
      for (size_t j = 0; j < KP; j++) {
        v[j] = kernel_term_(k, j, Gj[j], fl);
        vf[j] = (float)v[j];
      }
      REQUIRE_OK(sagd_psum_begin_term(t));
      if (fl) {
        REQUIRE_OK(sagd_psum_add_range_float(t, 13, KP - 13, vf + 13));
        REQUIRE_OK(sagd_psum_add_range_float(t, 0, 13, vf));
      } else {
        REQUIRE_OK(sagd_psum_add_range(t, 0, KP, v));
      }
    }
    REQUIRE_OK(sagd_psum_allreduce(t, MPI_COMM_WORLD, kout));
    int bad = 0;
    for (size_t j = 0; j < KP; j++) {
      double want;
      if (OFF_GRID_(j)) {
        static double col[KT];
        for (size_t k = 0; k < KT; k++) {
          col[k] = kernel_term_(k, j, Gj[j], fl);
        }
        want = ref_fsum(col, KT, 1);
      } else {
        int64_t q = 0;
        for (size_t k = 0; k < KT; k++) {
          q += (int64_t)llrint(ldexp(kernel_term_(k, j, Gj[j], fl), 62 - KH - Gj[j]));
        }
        want = ldexp((double)q, Gj[j] + KH - 62);
      }
      if (dbits(kout[j]) != dbits(want)) {
        if (bad++ < 3 && rank == 0) {
          fprintf(stderr,
                  "kernel check (%s terms), component %zu (G = %d): %.17g, expected %.17g\n",
                  fl ? "float" : "double", j, Gj[j], kout[j], want);
        }
      }
    }
    CHECK(bad == 0);
    sagd_psum_destroy(&t);
  }
  /* Bad arguments. */
  {
    sagd_psum t = NULL;
    CHECK(sagd_psum_create(0, 1, MARGIN, &t) == SAGD_ERR_ARG);
    CHECK(sagd_psum_create(4, 0, MARGIN, &t) == SAGD_ERR_ARG);
    CHECK(sagd_psum_create(4, 1, 17, &t) == SAGD_ERR_ARG);
    CHECK(t == NULL);
  }
  sagd_psum_destroy(&s);
  sagd_psum_destroy(&one);
  return test_exit_mpi();
}
