/* Which vector kernels this process uses (library-internal). One decision per process for
 * every hand-vectorised kernel (activations, Adam, the pre-rounded sum): the best level the
 * CPU has, capped by the environment variable SAGD_SIMD ("avx2" or "none"; for tests and
 * comparisons). Every level gives the same results where the kernels promise the same bits. */
#ifndef SAGD_CORE_SIMD_H
#define SAGD_CORE_SIMD_H

typedef enum {
  SAGD_SIMD_NONE = 0, /**< scalar code only */
  SAGD_SIMD_AVX2,     /**< AVX2 and FMA */
  SAGD_SIMD_AVX512    /**< AVX-512 F and DQ */
} sagd_simd_level;

/** The level, decided on the first call (thread-safe; reads SAGD_SIMD once). */
sagd_simd_level sagd_simd(void);

#endif
