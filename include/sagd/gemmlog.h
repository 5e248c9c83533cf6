/**
 * @file gemmlog.h
 * @brief A record of the GEMMs a computation made (shapes and counts), and their replay as
 *        plain CBLAS calls: the roofline a phase is measured against.
 *
 * Attach a log to networks (sagd_mlp_set_log); every GEMM they make is counted by shape
 * (precision, transposes, M, N, K, beta = 0 or 1). The FLOPs are 2·M·N·K per call, counted from
 * the layer shapes. sagd_gemm_log_replay then times the same calls, shape by shape, as plain
 * cblas_dgemm / cblas_sgemm on scratch matrices: what the GEMMs alone cost, measured in the
 * same run. Recording costs one short search per GEMM and is off unless a log is attached.
 * Not thread-safe; not collective.
 */
#ifndef SAGD_GEMMLOG_H
#define SAGD_GEMMLOG_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sagd_gemm_log_s *sagd_gemm_log;

/** Precision of a recorded GEMM. */
enum { SAGD_GEMM_DOUBLE = 0, SAGD_GEMM_SINGLE = 1 };

/** An empty log. */
int sagd_gemm_log_create(sagd_gemm_log *log);
/** Free the log (NULL allowed); *log becomes NULL. */
void sagd_gemm_log_destroy(sagd_gemm_log *log);
/** Forget every recorded call. */
void sagd_gemm_log_clear(sagd_gemm_log log);

/** Count one call C[M×N] = op(A)[M×K]·op(B)[K×N] (+ C if beta1), row-major. NULL log: no-op.
 *  Fails only when the log cannot grow (SAGD_ERR_MEM). */
int sagd_gemm_log_add(sagd_gemm_log log, int precision, int trans_a, int trans_b, size_t M,
                      size_t N, size_t K, int beta1);

/** Recorded calls and their floating-point operations (2·M·N·K each). */
size_t sagd_gemm_log_calls(sagd_gemm_log log);
double sagd_gemm_log_flops(sagd_gemm_log log);

/** Time every recorded call once, as plain CBLAS GEMMs of the same shapes on scratch
 *  matrices (allocated here, for the largest shape), best of `repeats` >= 1 passes:
 *  *seconds = the time of one pass. */
int sagd_gemm_log_replay(sagd_gemm_log log, int repeats, double *seconds);

#ifdef __cplusplus
}
#endif
#endif
