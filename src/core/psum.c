/* Reproducible sums by pre-rounding onto a grid carried from the previous sum (see
 * include/sagd/psum.h). Demmel & Nguyen's pre-rounding fixes the grid from a global max
 * found first (a second reduction and a second pass over stored terms); here the grid is
 * the previous sum's global max plus a margin, so each added vector is touched once while it
 * is still in cache, and terms that outgrow the grid are summed exactly instead.
 *
 * Layout: acc[0..p) int64 grid sums and acc[p] the count of terms off the grid (one int64
 * allreduce), fmax[0..p) the largest biased exponent field of each component's terms (one
 * uint16 allreduce), grid[0..p) the exponents G_j as doubles (checkpointable). A term x with
 * biased exponent field f (|x| < 2^(f - 1022)) fits when f - 1022 <= G_j; it is then
 * q = llrint(x · 2^(62 - h - G_j)), |q| <= 2^(62 - h), so max_terms <= 2^h of them sum below
 * 2^62. llrint and the AVX-512 conversion both round to nearest, ties to even (the default
 * mode), so both paths give the same q. */
#include "sagd/psum.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "sagd/error.h"
#include "sagd/reduce.h"

#define PS_GMIN (-960)
#define PS_GMAX 900

struct sagd_psum_s {
  size_t p;
  int h, margin;
  uint64_t max_terms, nadd;
  int64_t *acc;      /* p + 1 */
  uint16_t *fmax;    /* p */
  double *grid;      /* p */
  sagd_xsum exact;   /* terms off the grid */
  uint64_t sums, exact_sums;
  size_t bytes;
};

int sagd_psum_create(size_t p, uint64_t max_terms, int margin, sagd_psum *s) {
  SAGD_CHECK(s != NULL, SAGD_ERR_ARG, "psum output handle is NULL");
  *s = NULL;
  SAGD_CHECK(p >= 1 && p < ((size_t)1 << 40), SAGD_ERR_ARG,
             "pre-rounded sum: length p = %zu, expected 1 .. 2^40", p);
  SAGD_CHECK(max_terms >= 1 && max_terms <= ((uint64_t)1 << 40), SAGD_ERR_ARG,
             "pre-rounded sum: max_terms = %llu, expected 1 .. 2^40",
             (unsigned long long)max_terms);
  SAGD_CHECK(margin >= 0 && margin <= 16, SAGD_ERR_ARG,
             "pre-rounded sum: margin = %d bits, expected 0 .. 16", margin);
  sagd_psum n = calloc(1, sizeof *n);
  SAGD_CHECK(n != NULL, SAGD_ERR_MEM, "cannot allocate a pre-rounded sum");
  n->p = p;
  n->margin = margin;
  n->max_terms = max_terms;
  while (((uint64_t)1 << n->h) < max_terms) {
    n->h++;
  }
  n->acc = calloc(p + 1, sizeof *n->acc);
  n->fmax = calloc(p, sizeof *n->fmax);
  n->grid = malloc(p * sizeof *n->grid);
  int err = SAGD_OK;
  if (n->acc == NULL || n->fmax == NULL || n->grid == NULL) {
    err = sagd_error_set(SAGD_ERR_MEM, __FILE__, __LINE__, __func__,
                         "cannot allocate %zu pre-rounded accumulators", p);
  } else {
    err = sagd_xsum_create(p, &n->exact);
  }
  if (err != SAGD_OK) {
    sagd_psum_destroy(&n);
    return sagd_error_trace(err, __FILE__, __LINE__, __func__);
  }
  sagd_psum_reset_grid(n);
  *s = n;
  return SAGD_OK;
}

void sagd_psum_destroy(sagd_psum *s) {
  if (s == NULL || *s == NULL) {
    return;
  }
  sagd_xsum_destroy(&(*s)->exact);
  free((*s)->acc);
  free((*s)->fmax);
  free((*s)->grid);
  free(*s);
  *s = NULL;
}

void sagd_psum_reset_grid(sagd_psum s) {
  for (size_t j = 0; j < s->p; j++) {
    s->grid[j] = SAGD_PSUM_NO_GRID;
  }
}

double *sagd_psum_grid(sagd_psum s, size_t *p) {
  if (p != NULL) {
    *p = s->p;
  }
  return s->grid;
}

void sagd_psum_counts(sagd_psum s, uint64_t *sums, uint64_t *exact_sums, size_t *bytes) {
  if (sums != NULL) {
    *sums = s->sums;
  }
  if (exact_sums != NULL) {
    *exact_sums = s->exact_sums;
  }
  if (bytes != NULL) {
    *bytes = s->bytes;
  }
}

void sagd_psum_zero(sagd_psum s) {
  memset(s->acc, 0, (s->p + 1) * sizeof *s->acc);
  memset(s->fmax, 0, s->p * sizeof *s->fmax);
  sagd_xsum_zero(s->exact);
  s->nadd = 0;
}

/* The grid exponent G as an int, with NO_GRID (or anything below the clamp) as INT_MIN/2. */
static inline int grid_int_(double g) { return g >= PS_GMIN ? (int)g : -(1 << 30); }

/* 2^k as a double for -1022 <= k <= 1023, from its fields. */
static inline double pow2_(int k) {
  const uint64_t b = (uint64_t)(k + 1023) << 52;
  double d;
  memcpy(&d, &b, sizeof d);
  return d;
}

/* The scalar kernel over components [j0, j1): round-and-add where the grid holds the term,
 * else hand it to the exact accumulator. Returns the number of terms sent there, or -1
 * (with *bad = the component) on a non-finite term. */
static int64_t add_scalar_(sagd_psum s, const double *v, size_t j0, size_t j1, size_t *bad) {
  int64_t off = 0;
  const int sh = 62 - s->h;
  for (size_t j = j0; j < j1; j++) {
    const double x = v[j];
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    const int f = (int)((u >> 52) & 0x7ff);
    if (f == 0x7ff) {
      *bad = j;
      return -1;
    }
    s->fmax[j] = (uint16_t)(f > s->fmax[j] ? f : s->fmax[j]);
    const int G = grid_int_(s->grid[j]);
    if (f - 1022 <= G) {
      s->acc[j] += (int64_t)llrint(x * pow2_(sh - G));
    } else if (x != 0.0) {
      if (sagd_xsum_add_at(s->exact, j, x) != SAGD_OK) {
        *bad = j;
        return -1;
      }
      off++;
    }
  }
  return off;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define PS_AVX512 1

/* 8 components at a time for the common case (every term on the grid, all finite); a block
 * of 8 with any other term goes through the scalar kernel, which gives the same q. */
__attribute__((target("avx512f,avx512dq"))) static int64_t add_avx512_(sagd_psum s,
                                                                        const double *v,
                                                                        size_t *bad) {
  const size_t p = s->p, p8 = p & ~(size_t)7;
  const __m512i fmask = _mm512_set1_epi64(0x7ff), bias = _mm512_set1_epi64(1022);
  const __m512i k1023 = _mm512_set1_epi64(1023 + 62 - s->h);
  const __m512d gmin = _mm512_set1_pd((double)PS_GMIN);
  int64_t off = 0;
  for (size_t j = 0; j < p8; j += 8) {
    const __m512d x = _mm512_loadu_pd(v + j);
    const __m512i f = _mm512_and_si512(_mm512_srli_epi64(_mm512_castpd_si512(x), 52), fmask);
    const __m512d gd = _mm512_loadu_pd(s->grid + j);
    const __m512i G = _mm512_cvttpd_epi64(gd);
    /* fits: grid present (G >= GMIN) and f - 1022 <= G; non-finite f = 0x7ff never fits */
    const __mmask8 has = _mm512_cmp_pd_mask(gd, gmin, _CMP_GE_OQ);
    const __mmask8 fit =
        has & _mm512_cmple_epi64_mask(_mm512_sub_epi64(f, bias), G) &
        _mm512_cmpneq_epi64_mask(f, fmask);
    if (fit != 0xff) {
      const int64_t o = add_scalar_(s, v, j, j + 8, bad);
      if (o < 0) {
        return -1;
      }
      off += o;
      continue;
    }
    /* fmax = max(fmax, f), 8 uint16 */
    const __m128i fm = _mm_loadu_si128((const __m128i *)(s->fmax + j));
    _mm_storeu_si128((__m128i *)(s->fmax + j), _mm_max_epu16(fm, _mm512_cvtepi64_epi16(f)));
    /* scale = 2^(62 - h - G) from its exponent field */
    const __m512d scale =
        _mm512_castsi512_pd(_mm512_slli_epi64(_mm512_sub_epi64(k1023, G), 52));
    const __m512i q = _mm512_cvtpd_epi64(_mm512_mul_pd(x, scale));
    __m512i a = _mm512_loadu_si512(s->acc + j);
    _mm512_storeu_si512(s->acc + j, _mm512_add_epi64(a, q));
  }
  const int64_t o = add_scalar_(s, v, p8, p, bad);
  return o < 0 ? -1 : off + o;
}

static int use_avx512_(void) {
  static _Atomic int cached = -1;
  int c = atomic_load_explicit(&cached, memory_order_relaxed);
  if (c < 0) {
    const char *cap = getenv("SAGD_SIMD");
    c = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
        !(cap != NULL && (strcmp(cap, "none") == 0 || strcmp(cap, "avx2") == 0));
    atomic_store_explicit(&cached, c, memory_order_relaxed);
  }
  return c;
}
#endif

int sagd_psum_add(sagd_psum s, const double *v) {
  SAGD_CHECK(s->nadd < s->max_terms, SAGD_ERR_INTERNAL,
             "pre-rounded sum: more than max_terms = %llu vectors added to one sum",
             (unsigned long long)s->max_terms);
  size_t bad = 0;
  int64_t off;
#ifdef PS_AVX512
  if (use_avx512_()) {
    off = add_avx512_(s, v, &bad);
  } else
#endif
  {
    off = add_scalar_(s, v, 0, s->p, &bad);
  }
  if (off < 0) {
    SAGD_CHECK(isfinite(v[bad]), SAGD_ERR_NUMERIC,
               "reproducible sum: component %zu is %g, expected a finite value", bad, v[bad]);
    SAGD_FAIL(SAGD_ERR_NUMERIC, "reproducible sum: component %zu is %.17g, too large to sum",
              bad, v[bad]);
  }
  s->acc[s->p] += off;
  s->nadd++;
  return SAGD_OK;
}

int sagd_psum_allreduce(sagd_psum s, MPI_Comm comm, double *out) {
  const size_t p = s->p;
  SAGD_CHECK(p + 1 <= (size_t)INT32_MAX, SAGD_ERR_ARG,
             "pre-rounded sum: %zu components do not fit one MPI call", p);
  SAGD_CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, s->acc, (int)(p + 1), MPI_INT64_T, MPI_SUM, comm));
  SAGD_CHECK_MPI(
      MPI_Allreduce(MPI_IN_PLACE, s->fmax, (int)p, MPI_UNSIGNED_SHORT, MPI_MAX, comm));
  s->bytes = (p + 1) * sizeof(int64_t) + p * sizeof(uint16_t);
  const int h = s->h;
  if (s->acc[p] == 0) {
    for (size_t j = 0; j < p; j++) {
      const int G = grid_int_(s->grid[j]);
      out[j] = G >= PS_GMIN ? (double)s->acc[j] * pow2_(G + h - 62) : 0.0;
    }
  } else {
    /* Some terms were off the grid: the exact sum of those plus the grid sums (added once,
     * by rank 0, split into two doubles that hold them exactly). */
    int rank;
    SAGD_CHECK_MPI(MPI_Comm_rank(comm, &rank));
    if (rank == 0) {
      for (size_t j = 0; j < p; j++) {
        const int G = grid_int_(s->grid[j]);
        const int64_t q = s->acc[j];
        if (q == 0 || G < PS_GMIN) {
          continue;
        }
        const int64_t lo = q & (((int64_t)1 << 31) - 1), hi = q - lo;
        const double u = pow2_(G + h - 62);
        SAGD_CALL(sagd_xsum_add_at(s->exact, j, (double)hi * u));
        SAGD_CALL(sagd_xsum_add_at(s->exact, j, (double)lo * u));
      }
    }
    SAGD_CALL(sagd_xsum_allreduce(s->exact, comm, out));
    s->exact_sums++;
  }
  /* the next grid: this sum's max exponent + margin (kept where every term was zero) */
  for (size_t j = 0; j < p; j++) {
    const int f = s->fmax[j];
    if (f > 0) {
      int G = f - 1022 + s->margin;
      G = G < PS_GMIN ? PS_GMIN : (G > PS_GMAX ? PS_GMAX : G);
      s->grid[j] = (double)G;
    }
  }
  s->sums++;
  return SAGD_OK;
}
