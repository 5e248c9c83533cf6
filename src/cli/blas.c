/* OpenBLAS set-up of a sagd process: its kernels (before MPI starts) and its threads per rank.
 *
 * Kernels. Debian 12's OpenBLAS (0.3.21, built DYNAMIC_ARCH) picks its kernels at load time
 * from the CPU's family and model; a model newer than the release is not recognised and it
 * falls back to its Prescott (SSE3) kernels (OpenBLAS issue #4267, fixed in 0.3.25). On the
 * development machine (Intel family 6, model 207, AVX-512) that made dgemm 4.2x and sgemm
 * 4.7x slower than the SkylakeX kernels the CPU can run. OpenBLAS reads OPENBLAS_CORETYPE
 * only when it is loaded, so sagd re-executes itself once, before MPI_Init, with the best
 * core type the CPU supports (SkylakeX for AVX-512 F/DQ/BW/VL, Haswell for AVX2 + FMA),
 * unless the user set OPENBLAS_CORETYPE. The kernels decide the bits of every GEMM: all
 * ranks of a run must use the same (they do when they run on the same kind of node).
 *
 * Threads. Ranks that share a node must not each start one BLAS thread per core (2 ranks x
 * 2 threads on 2 cores halves the speed). Unless the user set OPENBLAS_NUM_THREADS, give
 * each rank cores / (ranks on this node) threads (at least 1). */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "sagd/error.h"

/* The marker of the re-executed process: its value is the core type OpenBLAS fell back to. */
static const char *const REEXEC_ENV = "SAGD_BLAS_FALLBACK";

static const char *best_core_(void) {
#if defined(__x86_64__) && defined(__GNUC__)
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl")) {
    return "SkylakeX";
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    return "Haswell";
  }
#endif
  return NULL;
}

void sagd_cli_blas_kernels(char **argv) {
  const char *set = getenv("OPENBLAS_CORETYPE");
  if ((set != NULL && set[0] != '\0') || getenv(REEXEC_ENV) != NULL) {
    return;
  }
  const char *core = openblas_get_corename();
  const char *best = best_core_();
  if (core == NULL || best == NULL || strcmp(core, "Prescott") != 0) {
    return;
  }
  if (setenv("OPENBLAS_CORETYPE", best, 1) != 0 || setenv(REEXEC_ENV, core, 1) != 0) {
    return;
  }
  execv("/proc/self/exe", argv);
  /* exec failed: carry on with the slow kernels, and say so */
  unsetenv("OPENBLAS_CORETYPE");
  unsetenv(REEXEC_ENV);
  fprintf(stderr,
          "sagd: warning: OpenBLAS chose its %s kernels on a CPU that runs %s's; set "
          "OPENBLAS_CORETYPE=%s for GEMMs about 4x faster\n",
          core, best, best);
}

const char *sagd_cli_blas_note(void) {
  static char note[160];
  const char *from = getenv(REEXEC_ENV);
  if (from == NULL) {
    return NULL;
  }
  snprintf(note, sizeof note,
           "OpenBLAS falls back to its %s kernels on this CPU: running with "
           "OPENBLAS_CORETYPE=%s (set OPENBLAS_CORETYPE to choose)",
           from, openblas_get_corename());
  return note;
}

const char *sagd_cli_blas_config(void) {
  const char *c = openblas_get_config();
  return c != NULL ? c : "unknown";
}

int sagd_cli_blas_threads(MPI_Comm comm, int *threads) {
  const char *env = getenv("OPENBLAS_NUM_THREADS");
  MPI_Comm node;
  int local = 1;
  SAGD_CHECK_MPI(MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node));
  SAGD_CHECK_MPI(MPI_Comm_size(node, &local));
  SAGD_CHECK_MPI(MPI_Comm_free(&node));
  if (env != NULL && env[0] != '\0') {
    *threads = openblas_get_num_threads();
    return SAGD_OK;
  }
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  int n = cores > local ? (int)(cores / local) : 1;
  openblas_set_num_threads(n);
  *threads = n;
  return SAGD_OK;
}
