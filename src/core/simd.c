/* The process-wide vector level (see simd.h). */
#include "core/simd.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

sagd_simd_level sagd_simd(void) {
  static _Atomic int cached = -1;
  int lvl = atomic_load_explicit(&cached, memory_order_relaxed);
  if (lvl >= 0) {
    return (sagd_simd_level)lvl;
  }
  lvl = SAGD_SIMD_NONE;
#if defined(__x86_64__) && defined(__GNUC__)
  /* __builtin_cpu_supports reads data libgcc fills in before main. */
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    lvl = SAGD_SIMD_AVX2;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq")) {
      lvl = SAGD_SIMD_AVX512;
    }
  }
#endif
  const char *cap = getenv("SAGD_SIMD");
  if (cap != NULL && strcmp(cap, "none") == 0) {
    lvl = SAGD_SIMD_NONE;
  } else if (cap != NULL && strcmp(cap, "avx2") == 0 && lvl > SAGD_SIMD_AVX2) {
    lvl = SAGD_SIMD_AVX2;
  }
  atomic_store_explicit(&cached, lvl, memory_order_relaxed);
  return (sagd_simd_level)lvl;
}
