/* The automated-EM outer loop (see include/sagd/sagd.h): the same loop drives the SAGD
 * estimator and the exact (quadrature) one. The loop is an object whose state can be
 * registered for checkpoints; it runs as a small state machine so that it can continue
 * from any boundary (after θ_0, after a burn-in, after an update, after an M-step). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sagd/error.h"
#include "sagd/sagd.h"

/* The counters, saved as one array of exact doubles. */
enum { EM_STARTED, EM_M, EM_T, EM_BURNED, EM_AVG_COUNT, EM_NCOUNTERS };

struct sagd_em_s {
  const sagd_estimator_type *est;
  void *ctx;
  sagd_optimizer opt;
  const sagd_schedule *schedule;
  sagd_em_options o;
  size_t p;
  double *theta, *target, *g;
  sagd_average avg;
  double counters[EM_NCOUNTERS];
  /* working copies of the counters (the array above is what checkpoints see) */
  uint64_t started, m, t, burned;
  int target_live; /* the estimator knows the current target (not saved: a resumed run
                      tells it again) */
};

int sagd_em_create(const sagd_estimator_type *est, void *est_ctx, sagd_optimizer opt,
                   const sagd_schedule *schedule, const sagd_em_options *o, size_t p,
                   const double *theta0, sagd_em *out) {
  SAGD_CHECK(est != NULL && opt != NULL && schedule != NULL && o != NULL && theta0 != NULL &&
                 out != NULL, SAGD_ERR_ARG, "sagd_em_create: NULL argument");
  SAGD_CHECK(o->msteps >= 1 && o->updates >= 1, SAGD_ERR_ARG,
             "EM needs msteps >= 1 and updates >= 1 (got %llu, %llu)",
             (unsigned long long)o->msteps, (unsigned long long)o->updates);
  SAGD_CHECK(p >= 1, SAGD_ERR_ARG, "EM: parameter length p = %zu, expected >= 1", p);
  *out = NULL;
  sagd_em em = calloc(1, sizeof *em);
  SAGD_CHECK(em != NULL, SAGD_ERR_MEM, "cannot allocate the EM loop");
  em->est = est;
  em->ctx = est_ctx;
  em->opt = opt;
  em->schedule = schedule;
  em->o = *o;
  em->p = p;
  em->theta = calloc(p, sizeof(double));
  em->target = calloc(p, sizeof(double));
  em->g = calloc(p, sizeof(double));
  int rc = SAGD_OK;
  if (em->theta == NULL || em->target == NULL || em->g == NULL) {
    rc = sagd_error_set(SAGD_ERR_MEM, __FILE__, __LINE__, __func__,
                        "cannot allocate the EM loop's %zu-parameter buffers", p);
  } else {
    rc = sagd_average_create(p, &em->avg);
  }
  if (rc != SAGD_OK) {
    sagd_em_destroy(&em);
    return sagd_error_trace(rc, __FILE__, __LINE__, __func__);
  }
  memcpy(em->theta, theta0, p * sizeof(double));
  *out = em;
  return SAGD_OK;
}

void sagd_em_destroy(sagd_em *em) {
  if (em == NULL || *em == NULL) {
    return;
  }
  sagd_average_destroy(&(*em)->avg);
  free((*em)->theta);
  free((*em)->target);
  free((*em)->g);
  free(*em);
  *em = NULL;
}

int sagd_em_register(sagd_em em, sagd_state st, const char *prefix) {
  char name[128];
  double *ostate = NULL;
  size_t olen = 0;
  sagd_optimizer_state(em->opt, &ostate, &olen);
  const struct {
    const char *suffix;
    double *buf;
    size_t len;
  } items[] = {{"theta", em->theta, em->p},
               {"target", em->target, em->p},
               {"avg_sum", sagd_average_sum(em->avg), em->p},
               {"optimizer", ostate, olen},
               {"counters", em->counters, EM_NCOUNTERS}};
  for (size_t i = 0; i < sizeof items / sizeof items[0]; i++) {
    snprintf(name, sizeof name, "%s/%s", prefix, items[i].suffix);
    SAGD_CALL(sagd_state_add(st, name, items[i].buf, items[i].len));
  }
  return SAGD_OK;
}

const double *sagd_em_theta(sagd_em em) { return em->theta; }

int sagd_em_done(sagd_em em) { return (uint64_t)em->counters[EM_M] >= em->o.msteps; }

/* Working counters → the saved array (and the average's count), then the callback. */
static int boundary_(sagd_em em, sagd_em_boundary boundary, void *bctx, int end) {
  em->counters[EM_STARTED] = (double)em->started;
  em->counters[EM_M] = (double)em->m;
  em->counters[EM_T] = (double)em->t;
  em->counters[EM_BURNED] = (double)em->burned;
  em->counters[EM_AVG_COUNT] = (double)*sagd_average_count(em->avg);
  if (boundary == NULL) {
    return SAGD_OK;
  }
  return boundary(bctx, em->m * em->o.updates + em->t, em->m, em->t, end);
}

/* Tell the estimator the current target after a resume, without repeating its burn-in. */
static int restore_target_(sagd_em em) {
  if (em->est->restore_target != NULL) {
    SAGD_CALL(em->est->restore_target(em->ctx, em->target));
  }
  return SAGD_OK;
}

int sagd_em_continue(sagd_em em, sagd_em_monitor monitor, void *mctx,
                     sagd_em_boundary boundary, void *bctx) {
  const uint64_t M = em->o.msteps, T = em->o.updates;
  em->started = (uint64_t)em->counters[EM_STARTED];
  em->m = (uint64_t)em->counters[EM_M];
  em->t = (uint64_t)em->counters[EM_T];
  em->burned = (uint64_t)em->counters[EM_BURNED];
  *sagd_average_count(em->avg) = (unsigned long)em->counters[EM_AVG_COUNT];
  SAGD_CHECK(em->m <= M && em->t <= T, SAGD_ERR_CORRUPT,
             "EM state at M-step %llu, update %llu is outside %llu M-steps x %llu updates",
             (unsigned long long)em->m, (unsigned long long)em->t, (unsigned long long)M,
             (unsigned long long)T);
  em->target_live = 0;
  if (!em->started) {
    sagd_optimizer_project(em->opt, em->theta);
    if (monitor != NULL) {
      SAGD_CALL(monitor(mctx, 0, 0, em->theta, NULL));
    }
    em->started = 1;
    SAGD_CALL(boundary_(em, boundary, bctx, 0));
  }
  while (em->m < M) {
    if (!em->burned) {
      memcpy(em->target, em->theta, em->p * sizeof(double)); /* π = p(u | x; θ_k), frozen */
      SAGD_CALL(em->est->set_target(em->ctx, em->target, em->m, em->m * T + 1));
      sagd_optimizer_reset(em->opt);
      sagd_average_reset(em->avg);
      em->t = 0;
      em->burned = 1;
      em->target_live = 1;
      SAGD_CALL(boundary_(em, boundary, bctx, 0));
    } else if (!em->target_live) {
      SAGD_CALL(restore_target_(em));
      em->target_live = 1;
    }
    while (em->t < T) {
      uint64_t t = em->t + 1, t_global = em->m * T + t;
      SAGD_CALL(em->est->gradient(em->ctx, em->theta, t, t_global, em->g));
      SAGD_CALL(sagd_optimizer_step(em->opt, sagd_schedule_alpha(em->schedule, t), em->g,
                                    em->theta));
      sagd_average_add(em->avg, em->theta);
      em->t = t;
      if (monitor != NULL) {
        SAGD_CALL(monitor(mctx, em->m + 1, t, em->theta, em->g));
      }
      SAGD_CALL(boundary_(em, boundary, bctx, 0));
    }
    if (em->o.use_average) {
      sagd_average_get(em->avg, em->theta);
    }
    if (monitor != NULL) { /* t = 0 marks θ_{k+1}, the M-step's result */
      SAGD_CALL(monitor(mctx, em->m + 1, 0, em->theta, NULL));
    }
    em->m++;
    em->t = 0;
    em->burned = 0;
    em->target_live = 0;
    SAGD_CALL(boundary_(em, boundary, bctx, em->m == M));
  }
  return SAGD_OK;
}

int sagd_em_run(const sagd_estimator_type *est, void *est_ctx, sagd_optimizer opt,
                const sagd_schedule *schedule, const sagd_em_options *o, size_t p,
                double *theta, sagd_em_monitor monitor, void *monitor_ctx) {
  sagd_em em = NULL;
  SAGD_CALL(sagd_em_create(est, est_ctx, opt, schedule, o, p, theta, &em));
  int rc = sagd_em_continue(em, monitor, monitor_ctx, NULL, NULL);
  if (rc == SAGD_OK) {
    memcpy(theta, em->theta, p * sizeof(double));
  }
  sagd_em_destroy(&em);
  SAGD_CALL(rc);
  return SAGD_OK;
}
