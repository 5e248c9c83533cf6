/* The automated-EM outer loop (see include/sagd/sagd.h): the same loop drives the SAGD
 * estimator and the exact (quadrature) one. */
#include <stdlib.h>
#include <string.h>

#include "sagd/error.h"
#include "sagd/sagd.h"

int sagd_em_run(const sagd_estimator_type *est, void *est_ctx, sagd_optimizer opt,
                const sagd_schedule *schedule, const sagd_em_options *o, size_t p,
                double *theta, sagd_em_monitor monitor, void *monitor_ctx) {
  SAGD_CHECK(o->msteps >= 1 && o->updates >= 1, SAGD_ERR_ARG,
             "EM needs msteps >= 1 and updates >= 1 (got %llu, %llu)",
             (unsigned long long)o->msteps, (unsigned long long)o->updates);
  double *target = NULL, *g = NULL;
  sagd_average avg = NULL;
  SAGD_CALLOC(target, p, "EM target");
  SAGD_CALLOC(g, p, "EM gradient");
  SAGD_CALL(sagd_average_create(p, &avg));
  sagd_optimizer_project(opt, theta);
  if (monitor != NULL) {
    SAGD_CALL(monitor(monitor_ctx, 0, 0, theta, NULL));
  }
  for (uint64_t m = 0; m < o->msteps; m++) {
    memcpy(target, theta, p * sizeof(double)); /* π = p(u | x; θ_k), frozen */
    SAGD_CALL(est->set_target(est_ctx, target, m));
    sagd_optimizer_reset(opt);
    sagd_average_reset(avg);
    for (uint64_t t = 1; t <= o->updates; t++) {
      uint64_t t_global = m * o->updates + t;
      SAGD_CALL(est->gradient(est_ctx, theta, t, t_global, g));
      SAGD_CALL(sagd_optimizer_step(opt, sagd_schedule_alpha(schedule, t), g, theta));
      sagd_average_add(avg, theta);
      if (monitor != NULL) {
        SAGD_CALL(monitor(monitor_ctx, m + 1, t, theta, g));
      }
    }
    if (o->use_average) {
      sagd_average_get(avg, theta);
    }
    if (monitor != NULL) { /* t = 0 marks θ_{k+1}, the M-step's result */
      SAGD_CALL(monitor(monitor_ctx, m + 1, 0, theta, NULL));
    }
  }
  sagd_average_destroy(&avg);
  free(target);
  free(g);
  return SAGD_OK;
}
