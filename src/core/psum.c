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
#include <stdlib.h>
#include <string.h>

#include "core/simd.h"
#include "sagd/error.h"
#include "sagd/reduce.h"

/* Component lists are size_t (the exact sum's subset calls take them) and travel as
 * MPI_UINT64_T. */
_Static_assert(sizeof(size_t) == sizeof(uint64_t), "size_t component lists sent as uint64");

#define PS_GMIN (-960)
#define PS_GMAX 900

struct sagd_psum_s {
  size_t p;
  int h, margin;
  uint64_t max_terms, nadd;
  int64_t *acc;      /* p + 1 */
  uint16_t *fmax;    /* p */
  double *grid;      /* p: G_j as doubles (the checkpointable view) */
  int16_t *g16;      /* p: the same as int16 (NO_GRID: INT16_MIN), set from grid at zero */
  sagd_xsum exact;   /* terms off the grid */
  size_t *spill;     /* p: components with a term off the grid (this rank; after an
                        allreduce: the union of all ranks', what the next zero clears) */
  size_t nspill;
  int full_zero;     /* 1: the exact accumulator was used densely, zero all of it */
  int clean;         /* 1: acc and fmax are all zero (an allreduce left them so) */
  uint8_t *mark;     /* p: component listed in spill (all 0 between sums) */
  size_t *gath;      /* p: the ranks' spill lists, gathered */
  double *vals;      /* p: exact sums of the union's components */
  int *counts, *displs; /* per rank, for the gather */
  uint64_t sums, exact_sums;
  size_t bytes;
  double seconds; /* in zero, adds and allreduces since create (MPI_Wtime) */
};

double sagd_psum_seconds(sagd_psum s) { return s->seconds; }

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
  n->g16 = malloc(p * sizeof *n->g16);
  n->spill = malloc(p * sizeof *n->spill);
  n->mark = calloc(p, sizeof *n->mark);
  n->gath = malloc(p * sizeof *n->gath);
  n->vals = malloc(p * sizeof *n->vals);
  int err = SAGD_OK;
  if (n->acc == NULL || n->fmax == NULL || n->grid == NULL || n->g16 == NULL ||
      n->spill == NULL ||
      n->mark == NULL || n->gath == NULL || n->vals == NULL) {
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
  sagd_psum_zero(n); /* "all zero", and the int16 grid the kernels read set from the doubles */
  n->seconds = 0.0;
  *s = n;
  return SAGD_OK;
}

void sagd_psum_destroy(sagd_psum *s) {
  if (s == NULL || *s == NULL) {
    return;
  }
  sagd_xsum_destroy(&(*s)->exact);
  free((*s)->spill);
  free((*s)->mark);
  free((*s)->gath);
  free((*s)->vals);
  free((*s)->counts);
  free((*s)->displs);
  free((*s)->acc);
  free((*s)->fmax);
  free((*s)->grid);
  free((*s)->g16);
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

/* The grid exponent G as an int, NO_GRID as INT_MIN/2 (never >= GMIN). */
static inline int grid16_(int16_t g) { return g != INT16_MIN ? (int)g : -(1 << 30); }

/* 2^k as a double for -1022 <= k <= 1023, from its fields. */
static inline double pow2_(int k) {
  const uint64_t b = (uint64_t)(k + 1023) << 52;
  double d;
  memcpy(&d, &b, sizeof d);
  return d;
}

/* The scalar kernel: term pieces v[0..n) (double, or float when vf is given: converted
 * exactly) for components j0 .. j0+n-1. Round-and-add where the grid holds the term, else
 * hand it to the exact accumulator. Returns the number of terms sent there, or -1 (with
 * *bad = the component) on a non-finite or too large term. */
static int64_t add_scalar_(sagd_psum s, size_t j0, size_t n, const double *v, const float *vf,
                           size_t *bad) {
  int64_t off = 0;
  const int sh = 62 - s->h;
  for (size_t k = 0; k < n; k++) {
    const size_t j = j0 + k;
    const double x = vf != NULL ? (double)vf[k] : v[k];
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    const int f = (int)((u >> 52) & 0x7ff);
    if (f == 0x7ff) {
      *bad = j;
      return -1;
    }
    s->fmax[j] = (uint16_t)(f > s->fmax[j] ? f : s->fmax[j]);
    const int G = grid16_(s->g16[j]);
    if (f - 1022 <= G) {
      s->acc[j] += (int64_t)llrint(x * pow2_(sh - G));
    } else if (x != 0.0) {
      if (sagd_xsum_add_at(s->exact, j, x) != SAGD_OK) {
        *bad = j;
        return -1;
      }
      if (!s->mark[j]) {
        s->mark[j] = 1;
        s->spill[s->nspill++] = j;
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
 * of 8 with any other term goes through the scalar kernel, which gives the same q. Float
 * pieces are widened exactly (vcvtps2pd), so a float term adds the same bits as its double. */
__attribute__((target("avx512f,avx512dq"))) static int64_t add_avx512_(sagd_psum s, size_t j0,
                                                                        size_t n,
                                                                        const double *v,
                                                                        const float *vf,
                                                                        size_t *bad) {
  const size_t n8 = n & ~(size_t)7;
  const int16_t *restrict g16 = s->g16 + j0;
  uint16_t *restrict fmax = s->fmax + j0;
  int64_t *restrict acc = s->acc + j0;
  const __m512i fmask = _mm512_set1_epi64(0x7ff), bias = _mm512_set1_epi64(1022);
  const __m512i k1023 = _mm512_set1_epi64(1023 + 62 - s->h);
  int64_t off = 0;
  for (size_t k = 0; k < n8; k += 8) {
    const __m512d x = vf != NULL ? _mm512_cvtps_pd(_mm256_loadu_ps(vf + k))
                                 : _mm512_loadu_pd(v + k);
    const __m512i f = _mm512_and_si512(_mm512_srli_epi64(_mm512_castpd_si512(x), 52), fmask);
    const __m512i G = _mm512_cvtepi16_epi64(_mm_loadu_si128((const __m128i *)(g16 + k)));
    /* fits iff f - 1022 <= G: never for NO_GRID (INT16_MIN) nor for non-finite terms
     * (f - 1022 = 1025 > GMAX) */
    const __mmask8 fit = _mm512_cmple_epi64_mask(_mm512_sub_epi64(f, bias), G);
    if (fit != 0xff) {
      const int64_t o = add_scalar_(s, j0 + k, 8, v != NULL ? v + k : NULL,
                                    vf != NULL ? vf + k : NULL, bad);
      if (o < 0) {
        return -1;
      }
      off += o;
      continue;
    }
    /* fmax = max(fmax, f), 8 uint16 */
    const __m128i fm = _mm_loadu_si128((const __m128i *)(fmax + k));
    _mm_storeu_si128((__m128i *)(fmax + k), _mm_max_epu16(fm, _mm512_cvtepi64_epi16(f)));
    /* scale = 2^(62 - h - G) from its exponent field */
    const __m512d scale =
        _mm512_castsi512_pd(_mm512_slli_epi64(_mm512_sub_epi64(k1023, G), 52));
    const __m512i q = _mm512_cvtpd_epi64(_mm512_mul_pd(x, scale));
    _mm512_storeu_si512(acc + k, _mm512_add_epi64(_mm512_loadu_si512(acc + k), q));
  }
  const int64_t o = add_scalar_(s, j0 + n8, n - n8, v != NULL ? v + n8 : NULL,
                                vf != NULL ? vf + n8 : NULL, bad);
  return o < 0 ? -1 : off + o;
}

/* 4 components at a time without AVX-512 (AVX2 has no double -> int64 conversion). The
 * scaled term y = x * 2^(62 - h - G) (|y| < 2^61) is split as y = H + l with H = 2^32 *
 * round(y / 2^32), an even integer, and |l| <= 2^31, both exact; l is rounded to the nearest
 * integer, ties to even, by adding 1.5 * 2^52 (whose ulp is 1) and reading the integer off the
 * mantissa. H + round(l) is llrint(y): H is an even integer, so the tie rule is unchanged.
 * test_psum checks every kernel's bits against llrint (its kernel check). */
__attribute__((target("avx2"))) static int64_t add_avx2_(sagd_psum s, size_t j0, size_t n,
                                                         const double *v, const float *vf,
                                                         size_t *bad) {
  const size_t n4 = n & ~(size_t)3;
  const int16_t *restrict g16 = s->g16 + j0;
  uint16_t *restrict fmax = s->fmax + j0;
  int64_t *restrict acc = s->acc + j0;
  const __m256i odd = _mm256_setr_epi32(1, 3, 5, 7, 1, 3, 5, 7); /* the high halves */
  const __m128i fmask = _mm_set1_epi32(0x7ff), bias = _mm_set1_epi32(1022);
  const __m128i kexp = _mm_set1_epi32(1023 + 62 - s->h);
  const __m256d r32 = _mm256_set1_pd(0x1p-32), p32 = _mm256_set1_pd(0x1p32);
  const __m256d magic = _mm256_set1_pd(0x1.8p52);
  const __m256i mbits = _mm256_castpd_si256(magic);
  int64_t off = 0;
  for (size_t k = 0; k < n4; k += 4) {
    const __m256d x = vf != NULL ? _mm256_cvtps_pd(_mm_loadu_ps(vf + k)) : _mm256_loadu_pd(v + k);
    const __m128i hi =
        _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(_mm256_castpd_si256(x), odd));
    const __m128i f = _mm_and_si128(_mm_srli_epi32(hi, 20), fmask);
    const __m128i G = _mm_cvtepi16_epi32(_mm_loadl_epi64((const __m128i *)(g16 + k)));
    /* off the grid iff f - 1022 > G: always for NO_GRID (INT16_MIN) and non-finite terms */
    if (!_mm_testz_si128(_mm_cmpgt_epi32(_mm_sub_epi32(f, bias), G), _mm_set1_epi32(-1))) {
      const int64_t o =
          add_scalar_(s, j0 + k, 4, v != NULL ? v + k : NULL, vf != NULL ? vf + k : NULL, bad);
      if (o < 0) {
        return -1;
      }
      off += o;
      continue;
    }
    const __m128i fm = _mm_cvtepu16_epi32(_mm_loadl_epi64((const __m128i *)(fmax + k)));
    const __m128i mx = _mm_max_epi32(fm, f);
    _mm_storel_epi64((__m128i *)(fmax + k), _mm_packus_epi32(mx, mx));
    const __m256d scale =
        _mm256_castsi256_pd(_mm256_slli_epi64(_mm256_cvtepi32_epi64(_mm_sub_epi32(kexp, G)), 52));
    const __m256d y = _mm256_mul_pd(x, scale);
    const __m256d hr =
        _mm256_round_pd(_mm256_mul_pd(y, r32), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m256d l = _mm256_sub_pd(y, _mm256_mul_pd(hr, p32));
    const __m256i ql = _mm256_sub_epi64(_mm256_castpd_si256(_mm256_add_pd(l, magic)), mbits);
    const __m256i qh = _mm256_slli_epi64(_mm256_cvtepi32_epi64(_mm256_cvtpd_epi32(hr)), 32);
    const __m256i q = _mm256_add_epi64(qh, ql);
    _mm256_storeu_si256((__m256i *)(acc + k),
                        _mm256_add_epi64(_mm256_loadu_si256((const __m256i *)(acc + k)), q));
  }
  const int64_t o =
      add_scalar_(s, j0 + n4, n - n4, v != NULL ? v + n4 : NULL, vf != NULL ? vf + n4 : NULL, bad);
  return o < 0 ? -1 : off + o;
}

/* finish_on_grid_ for components [0, n8), 8 at a time: grid_sum_ and next_grid_ in vectors,
 * the same bits (int64 -> double and the power-of-two scaling are exact roundings in either
 * form). */
__attribute__((target("avx512f,avx512dq"))) static void finish_avx512_(sagd_psum s, size_t n8,
                                                                       double *out) {
  const __m512i gmin = _mm512_set1_epi64(PS_GMIN), gmax = _mm512_set1_epi64(PS_GMAX);
  const __m512i kexp = _mm512_set1_epi64(1023 + s->h - 62);
  const __m512i kgrid = _mm512_set1_epi64(s->margin - 1022), zero = _mm512_setzero_si512();
  for (size_t j = 0; j < n8; j += 8) {
    const __m512i G = _mm512_cvtepi16_epi64(_mm_loadu_si128((const __m128i *)(s->g16 + j)));
    const __mmask8 ok = _mm512_cmpge_epi64_mask(G, gmin);
    const __m512d u = _mm512_castsi512_pd(_mm512_slli_epi64(_mm512_add_epi64(G, kexp), 52));
    const __m512d a = _mm512_cvtepi64_pd(_mm512_loadu_si512(s->acc + j));
    _mm512_storeu_pd(out + j, _mm512_maskz_mul_pd(ok, a, u));
    const __m512i f = _mm512_cvtepu16_epi64(_mm_loadu_si128((const __m128i *)(s->fmax + j)));
    const __mmask8 seen = _mm512_cmpgt_epi64_mask(f, zero);
    const __m512i Gn = _mm512_min_epi64(_mm512_max_epi64(_mm512_add_epi64(f, kgrid), gmin), gmax);
    const __m512i Gk = _mm512_mask_blend_epi64(seen, G, Gn);
    _mm_storeu_si128((__m128i *)(s->g16 + j), _mm512_cvtepi64_epi16(Gk));
    _mm512_mask_storeu_pd(s->grid + j, seen, _mm512_cvtepi64_pd(Gn));
    _mm512_storeu_si512(s->acc + j, zero);
    _mm_storeu_si128((__m128i *)(s->fmax + j), _mm_setzero_si128());
  }
}

/* The int16 grid from the doubles for components [0, n8) (sagd_psum_zero's loop). */
__attribute__((target("avx512f,avx512dq"))) static void grid16_avx512_(sagd_psum s, size_t n8) {
  const __m512d gmin = _mm512_set1_pd(PS_GMIN), gmax = _mm512_set1_pd(PS_GMAX);
  const __m512i none = _mm512_set1_epi64(INT16_MIN);
  for (size_t j = 0; j < n8; j += 8) {
    const __m512d g = _mm512_loadu_pd(s->grid + j);
    const __mmask8 ok = _mm512_cmp_pd_mask(g, gmin, _CMP_GE_OQ);
    const __m512i t =
        _mm512_mask_blend_epi64(ok, none, _mm512_cvttpd_epi64(_mm512_min_pd(g, gmax)));
    _mm_storeu_si128((__m128i *)(s->g16 + j), _mm512_cvtepi64_epi16(t));
  }
}

#endif

void sagd_psum_zero(sagd_psum s) {
  const double t0 = MPI_Wtime();
  /* the kernels read the grid as int16 (a quarter of the bytes); the doubles may have been
   * written (a checkpoint restored), so convert them at every zero */
  size_t j0 = 0;
#ifdef PS_AVX512
  if (sagd_simd() == SAGD_SIMD_AVX512) {
    j0 = s->p & ~(size_t)7;
    grid16_avx512_(s, j0);
  }
#endif
  for (size_t j = j0; j < s->p; j++) {
    const double g = s->grid[j];
    s->g16[j] = g >= PS_GMIN ? (int16_t)(g > PS_GMAX ? PS_GMAX : g) : INT16_MIN;
  }
  if (!s->clean) {
    memset(s->acc, 0, (s->p + 1) * sizeof *s->acc);
    memset(s->fmax, 0, s->p * sizeof *s->fmax);
  }
  if (s->full_zero) {
    sagd_xsum_zero(s->exact);
  } else {
    sagd_xsum_zero_subset(s->exact, s->spill, s->nspill);
  }
  s->full_zero = 0;
  s->nspill = 0;
  s->nadd = 0;
  s->seconds += MPI_Wtime() - t0;
}

static int add_piece_(sagd_psum s, size_t j0, size_t n, const double *v, const float *vf) {
  SAGD_CHECK(j0 <= s->p && n <= s->p - j0, SAGD_ERR_ARG,
             "pre-rounded sum: components [%zu, %zu) outside 0 .. %zu", j0, j0 + n, s->p);
  s->clean = 0;
  const double t0 = MPI_Wtime();
  size_t bad = 0;
  int64_t off;
#ifdef PS_AVX512
  if (sagd_simd() == SAGD_SIMD_AVX512) {
    off = add_avx512_(s, j0, n, v, vf, &bad);
  } else if (sagd_simd() == SAGD_SIMD_AVX2) {
    off = add_avx2_(s, j0, n, v, vf, &bad);
  } else
#endif
  {
    off = add_scalar_(s, j0, n, v, vf, &bad);
  }
  if (off < 0) {
    const double x = vf != NULL ? (double)vf[bad - j0] : v[bad - j0];
    SAGD_CHECK(isfinite(x), SAGD_ERR_NUMERIC,
               "reproducible sum: component %zu is %g, expected a finite value", bad, x);
    SAGD_FAIL(SAGD_ERR_NUMERIC, "reproducible sum: component %zu is %.17g, too large to sum",
              bad, x);
  }
  s->acc[s->p] += off;
  s->seconds += MPI_Wtime() - t0;
  return SAGD_OK;
}

int sagd_psum_begin_term(sagd_psum s) {
  SAGD_CHECK(s->nadd < s->max_terms, SAGD_ERR_INTERNAL,
             "pre-rounded sum: more than max_terms = %llu terms added to one sum",
             (unsigned long long)s->max_terms);
  s->nadd++;
  return SAGD_OK;
}

int sagd_psum_add_range(sagd_psum s, size_t j0, size_t n, const double *v) {
  SAGD_CALL(add_piece_(s, j0, n, v, NULL));
  return SAGD_OK;
}

int sagd_psum_add_range_float(sagd_psum s, size_t j0, size_t n, const float *v) {
  SAGD_CALL(add_piece_(s, j0, n, NULL, v));
  return SAGD_OK;
}

int sagd_psum_add(sagd_psum s, const double *v) {
  SAGD_CALL(sagd_psum_begin_term(s));
  SAGD_CALL(add_piece_(s, 0, s->p, v, NULL));
  return SAGD_OK;
}

/* Rank 0 adds the grid sums of components idx[0..m) (all if idx is NULL) to the exact
 * accumulator, split into two doubles that hold each exactly. */
static int add_grid_part_(sagd_psum s, MPI_Comm comm, const size_t *idx, size_t m) {
  int rank;
  SAGD_CHECK_MPI(MPI_Comm_rank(comm, &rank));
  if (rank != 0) {
    return SAGD_OK;
  }
  for (size_t k = 0; k < m; k++) {
    const size_t j = idx != NULL ? idx[k] : k;
    const int G = grid16_(s->g16[j]);
    const int64_t q = s->acc[j];
    if (q == 0 || G < PS_GMIN) {
      continue;
    }
    const int64_t lo = q & (((int64_t)1 << 31) - 1), hi = q - lo;
    const double u = pow2_(G + s->h - 62);
    SAGD_CALL(sagd_xsum_add_at(s->exact, j, (double)hi * u));
    SAGD_CALL(sagd_xsum_add_at(s->exact, j, (double)lo * u));
  }
  return SAGD_OK;
}

/* Some terms were off the grid (global acc[p] > 0): their components get the exact sum of
 * those terms plus the grid sum. The ranks' lists of such components are gathered and only
 * their union is reduced exactly; when the lists hold more than p entries in all (a sum
 * without a grid on several ranks) the whole exact accumulator is. out holds the grid results on entry. */
static int exact_path_(sagd_psum s, MPI_Comm comm, double *out) {
  const size_t p = s->p;
  int size;
  SAGD_CHECK_MPI(MPI_Comm_size(comm, &size));
  if (s->counts == NULL) {
    s->counts = calloc((size_t)size, sizeof *s->counts);
    s->displs = calloc((size_t)size, sizeof *s->displs);
    SAGD_CHECK(s->counts != NULL && s->displs != NULL, SAGD_ERR_MEM,
               "cannot allocate %d gather counts", size);
  }
  const int mine = (int)s->nspill;
  SAGD_CHECK_MPI(MPI_Allgather(&mine, 1, MPI_INT, s->counts, 1, MPI_INT, comm));
  size_t total = 0;
  for (int r = 0; r < size; r++) {
    s->displs[r] = (int)total;
    total += (size_t)s->counts[r];
  }
  for (size_t k = 0; k < s->nspill; k++) {
    s->mark[s->spill[k]] = 0;
  }
  if (total > p) { /* e.g. a sum without a grid on 2 or more ranks */
    SAGD_CALL(add_grid_part_(s, comm, NULL, p));
    SAGD_CALL(sagd_xsum_allreduce(s->exact, comm, out));
    s->bytes += sagd_xsum_bytes(s->exact);
    s->full_zero = 1;
    return SAGD_OK;
  }
  SAGD_CHECK_MPI(MPI_Allgatherv(s->spill, mine, MPI_UINT64_T, s->gath, s->counts, s->displs,
                                MPI_UINT64_T, comm));
  for (size_t k = 0; k < total; k++) {
    s->mark[s->gath[k]] = 1;
  }
  size_t m = 0; /* the union, ascending: the same list on every rank */
  for (size_t j = 0; j < p; j++) {
    if (s->mark[j]) {
      s->mark[j] = 0;
      s->spill[m++] = j;
    }
  }
  s->nspill = m; /* what the next zero clears */
  SAGD_CALL(add_grid_part_(s, comm, s->spill, m));
  SAGD_CALL(sagd_xsum_allreduce_subset(s->exact, comm, s->spill, m, s->vals));
  s->bytes += (size_t)size * sizeof(int) + total * sizeof(uint64_t) +
              sagd_xsum_bytes(s->exact);
  for (size_t k = 0; k < m; k++) {
    out[s->spill[k]] = s->vals[k];
  }
  return SAGD_OK;
}

static int allreduce_(sagd_psum s, MPI_Comm comm, double *out);

/* Component j's grid sum as a double (acc[j] multiples of u_j; 0 without a grid). */
static inline double grid_sum_(const sagd_psum s, size_t j) {
  const int G = grid16_(s->g16[j]);
  return G >= PS_GMIN ? (double)s->acc[j] * pow2_(G + s->h - 62) : 0.0;
}

/* The next grid exponent of a component whose largest term had exponent field f > 0: this
 * sum's max exponent + margin, clamped to [GMIN, GMAX]. */
static inline int next_grid_(const sagd_psum s, int f) {
  const int G = f - 1022 + s->margin;
  return G < PS_GMIN ? PS_GMIN : (G > PS_GMAX ? PS_GMAX : G);
}

/* After an allreduce that needed no exact path, in one pass over the components: the result
 * (grid_sum_), the next grid (next_grid_: its doubles and the int16 copy the kernels read,
 * which sagd_psum_zero would make from them), and acc and fmax back to zero for the next
 * sum. */
static void finish_on_grid_(sagd_psum s, double *restrict out) {
  const size_t p = s->p;
  size_t j0 = 0;
#ifdef PS_AVX512
  if (sagd_simd() == SAGD_SIMD_AVX512) {
    j0 = p & ~(size_t)7;
    finish_avx512_(s, j0, out);
  }
#endif
  for (size_t j = j0; j < p; j++) {
    out[j] = grid_sum_(s, j);
    if (s->fmax[j] > 0) {
      const int G = next_grid_(s, s->fmax[j]);
      s->grid[j] = (double)G;
      s->g16[j] = (int16_t)G;
    }
    s->acc[j] = 0;
    s->fmax[j] = 0;
  }
  s->acc[p] = 0;
  s->clean = 1;
}

int sagd_psum_allreduce(sagd_psum s, MPI_Comm comm, double *out) {
  const double t0 = MPI_Wtime();
  const int err = allreduce_(s, comm, out);
  s->seconds += MPI_Wtime() - t0;
  return err == SAGD_OK ? SAGD_OK : sagd_error_trace(err, __FILE__, __LINE__, __func__);
}

static int allreduce_(sagd_psum s, MPI_Comm comm, double *out) {
  const size_t p = s->p;
  SAGD_CHECK(p + 1 <= (size_t)INT32_MAX, SAGD_ERR_ARG,
             "pre-rounded sum: %zu components do not fit one MPI call", p);
  SAGD_CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, s->acc, (int)(p + 1), MPI_INT64_T, MPI_SUM, comm));
  SAGD_CHECK_MPI(
      MPI_Allreduce(MPI_IN_PLACE, s->fmax, (int)p, MPI_UNSIGNED_SHORT, MPI_MAX, comm));
  s->bytes = (p + 1) * sizeof(int64_t) + p * sizeof(uint16_t);
  if (s->acc[p] == 0) { /* every term on the grid: one pass for the result and the next grid */
    finish_on_grid_(s, out);
  } else {
    for (size_t j = 0; j < p; j++) {
      out[j] = grid_sum_(s, j);
    }
    SAGD_CALL(exact_path_(s, comm, out));
    s->exact_sums++;
    for (size_t j = 0; j < p; j++) { /* the next grid (kept where every term was zero) */
      if (s->fmax[j] > 0) {
        s->grid[j] = (double)next_grid_(s, s->fmax[j]);
      }
    }
  }
  s->sums++;
  return SAGD_OK;
}
