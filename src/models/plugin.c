/* Loading users' models from shared objects (see include/sagd/plugin.h): dlopen, the
 * entry point, the ABI check, and a model type whose ops call the plug-in's and put the
 * plug-in's name on every error it returns. */
#include "sagd/plugin.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sagd_plugin_handle_s {
  void *dl;
  const sagd_plugin *pl;
  char path[1024];
  void *ctx;       /* what open made */
  int model_owns;  /* 1 once sagd_plugin_model handed ctx to a model (which destroys it) */
  size_t n, r, p;
};

/* The context of the wrapping model type: the plug-in's table and context. */
typedef struct {
  const sagd_plugin *pl;
  void *ctx;
} wrap_ctx;

/* An op of the plug-in returned rc: record `code` with the message the plug-in recorded
 * (or that it recorded none) prefixed by its name. */
static int op_failed_(const sagd_plugin *pl, const char *op, int rc, int code) {
  char msg[768];
  snprintf(msg, sizeof msg, "%s", sagd_error_message());
  if (rc < 0 || rc >= SAGD_ERR_COUNT_ || msg[0] == '\0') {
    return sagd_error_set(code, __FILE__, __LINE__, __func__,
                          "plug-in '%s': its %s op failed with code %d (%s) and no message",
                          pl->name, op, rc, sagd_strerror(rc));
  }
  return sagd_error_set(code, __FILE__, __LINE__, __func__, "plug-in '%s' (%s op): %s",
                        pl->name, op, msg);
}

/* An op during the run: a failure is SAGD_ERR_MODEL (exit 2 on every rank: the plug-in is
 * the user's input, and an op fails on one rank's shard only). */
#define PLUGIN_OP_(pl, op, call)                                                   \
  do {                                                                            \
    sagd_error_clear();                                                           \
    int prc_ = (call);                                                            \
    if (prc_ != SAGD_OK) {                                                        \
      return op_failed_((pl), (op), prc_, SAGD_ERR_MODEL);                                        \
    }                                                                             \
  } while (0)

static int wrap_potential_(void *c, const double *theta, size_t i0, size_t nb, size_t C,
                           const double *xi, double *V, double *grad_xi) {
  wrap_ctx *w = c;
  PLUGIN_OP_(w->pl, "potential",
             w->pl->ops.potential(w->ctx, theta, i0, nb, C, xi, V, grad_xi));
  return SAGD_OK;
}

static int wrap_grad_theta_(void *c, const double *theta, size_t i0, size_t nb, size_t C,
                            const double *xi, double *g) {
  wrap_ctx *w = c;
  PLUGIN_OP_(w->pl, "grad_theta", w->pl->ops.grad_theta(w->ctx, theta, i0, nb, C, xi, g));
  return SAGD_OK;
}

static int wrap_fused_(void *c, const double *theta, size_t i0, size_t nb, size_t C,
                       const double *xi, double *grad_xi, double *g) {
  wrap_ctx *w = c;
  PLUGIN_OP_(w->pl, "potential_grad_theta",
             w->pl->ops.potential_grad_theta(w->ctx, theta, i0, nb, C, xi, grad_xi, g));
  return SAGD_OK;
}

static void wrap_destroy_(void *c) {
  wrap_ctx *w = c;
  if (w->pl->ops.destroy != NULL) {
    w->pl->ops.destroy(w->ctx);
  }
  free(w);
}

/* Two types: the solver uses the fused op exactly when the type has one. */
static const sagd_model_type wrap_type_ = {"plugin", wrap_potential_, wrap_grad_theta_,
                                           wrap_destroy_, NULL};
static const sagd_model_type wrap_type_fused_ = {"plugin", wrap_potential_,
                                                 wrap_grad_theta_, wrap_destroy_,
                                                 wrap_fused_};

static int load_table_(sagd_plugin_handle h, const char *path) {
  h->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (h->dl == NULL) {
    const char *why = dlerror();
    SAGD_FAIL(SAGD_ERR_CONFIG,
              "model.plugin = '%s': cannot load it (%s): expected a shared object built "
              "against sagd's headers (README, \"Write your own model\")",
              path, why ? why : "unknown reason");
  }
  dlerror();
  void *sym = dlsym(h->dl, SAGD_PLUGIN_ENTRY);
  SAGD_CHECK(sym != NULL, SAGD_ERR_CONFIG,
             "model.plugin = '%s': it has no symbol '%s': expected a plug-in exporting "
             "'const sagd_plugin *%s(void)'",
             path, SAGD_PLUGIN_ENTRY, SAGD_PLUGIN_ENTRY);
  sagd_plugin_entry_fn entry;
  memcpy(&entry, &sym, sizeof entry); /* object pointer -> function pointer (POSIX) */
  h->pl = entry();
  SAGD_CHECK(h->pl != NULL, SAGD_ERR_CONFIG, "model.plugin = '%s': %s() returned NULL", path,
             SAGD_PLUGIN_ENTRY);
  SAGD_CHECK(h->pl->abi_version == SAGD_PLUGIN_ABI_VERSION, SAGD_ERR_CONFIG,
             "model.plugin = '%s': built for plug-in ABI version %d, this sagd has version "
             "%d: rebuild the plug-in against this sagd's headers",
             path, h->pl->abi_version, SAGD_PLUGIN_ABI_VERSION);
  const char *name = h->pl->name != NULL && h->pl->name[0] != '\0' ? h->pl->name : NULL;
  SAGD_CHECK(name != NULL, SAGD_ERR_CONFIG, "model.plugin = '%s': the plug-in has no name",
             path);
  const char *missing = h->pl->open == NULL                ? "open"
                        : h->pl->defaults == NULL          ? "defaults"
                        : h->pl->ops.potential == NULL     ? "ops.potential"
                        : h->pl->ops.grad_theta == NULL    ? "ops.grad_theta"
                                                           : NULL;
  SAGD_CHECK(missing == NULL, SAGD_ERR_CONFIG,
             "plug-in '%s' (%s) lacks the required op '%s'", name, path,
             missing ? missing : "");
  return SAGD_OK;
}

static int load_(const char *path, const sagd_plugin_args *args, sagd_plugin_handle *out) {
  SAGD_CHECK(path != NULL && path[0] != '\0', SAGD_ERR_CONFIG,
             "model.plugin is empty: expected the path of a plug-in's shared object");
  SAGD_CHECK(strlen(path) < sizeof(((struct sagd_plugin_handle_s *)0)->path), SAGD_ERR_CONFIG,
             "model.plugin = '%.60s...': path too long", path);
  /* dlopen searches LD_LIBRARY_PATH for a bare name; sagd loads files only */
  SAGD_CHECK(strchr(path, '/') != NULL, SAGD_ERR_CONFIG,
             "model.plugin = '%s': expected a path (./%s for a file in this directory)", path,
             path);
  sagd_plugin_handle h = calloc(1, sizeof *h);
  SAGD_CHECK(h != NULL, SAGD_ERR_MEM, "cannot allocate a plug-in handle");
  snprintf(h->path, sizeof h->path, "%s", path);
  int rc = load_table_(h, path);
  if (rc == SAGD_OK) {
    sagd_error_clear();
    rc = h->pl->open(args, &h->ctx, &h->n, &h->r, &h->p);
    if (rc != SAGD_OK) {
      /* keep its code when it is bad input (sagd_plugin_load agrees on it collectively) */
      rc = op_failed_(h->pl, "open", rc,
                      sagd_error_exit_status(rc) == 2 && rc != SAGD_ERR_MODEL ? rc
                                                                             : SAGD_ERR_CONFIG);
    } else if (h->n == 0 || h->r == 0 || h->p == 0) {
      rc = sagd_error_set(SAGD_ERR_CONFIG, __FILE__, __LINE__, __func__,
                          "plug-in '%s': open set n = %zu, r = %zu, p = %zu: expected each "
                          ">= 1",
                          h->pl->name, h->n, h->r, h->p);
    }
  }
  if (rc != SAGD_OK) {
    sagd_plugin_unload(&h);
    return sagd_error_trace(rc, __FILE__, __LINE__, __func__);
  }
  *out = h;
  return SAGD_OK;
}

void sagd_plugin_unload(sagd_plugin_handle *h) {
  if (h == NULL || *h == NULL) {
    return;
  }
  /* Once a model took the context, the shared object stays mapped: the model may outlive
   * the handle and its ops point into the plug-in's code. */
  if (!(*h)->model_owns) {
    if ((*h)->ctx != NULL && (*h)->pl->ops.destroy != NULL) {
      (*h)->pl->ops.destroy((*h)->ctx);
    }
    if ((*h)->dl != NULL) {
      dlclose((*h)->dl);
    }
  }
  free(*h);
  *h = NULL;
}

int sagd_plugin_load(MPI_Comm comm, const char *path, const sagd_plugin_args *args,
                     sagd_plugin_handle *h) {
  *h = NULL;
  int rc = load_(path, args, h);
  /* Failed on every rank (a missing file, a bad parameter: the same message everywhere):
   * that error as it is. On some ranks only (a file one node lacks): SAGD_ERR_MODEL on
   * every rank, so that main() stops them all rather than leave some waiting. */
  int mine = rc != SAGD_OK, nfail = 0, size = 1;
  SAGD_CHECK_MPI(MPI_Allreduce(&mine, &nfail, 1, MPI_INT, MPI_SUM, comm));
  SAGD_CHECK_MPI(MPI_Comm_size(comm, &size));
  if (nfail == 0) {
    return SAGD_OK;
  }
  if (nfail < size) {
    if (rc == SAGD_OK) {
      sagd_plugin_unload(h);
      SAGD_FAIL(SAGD_ERR_MODEL, "model.plugin = '%s' failed to load on %d of %d rank(s)", path,
                nfail, size);
    }
    char msg[768];
    snprintf(msg, sizeof msg, "%s", sagd_error_message());
    SAGD_FAIL(SAGD_ERR_MODEL, "%s (on this rank only: %d of %d failed)", msg, nfail, size);
  }
  return sagd_error_trace(rc, __FILE__, __LINE__, __func__);
}

const sagd_plugin *sagd_plugin_table(sagd_plugin_handle h) { return h->pl; }

void sagd_plugin_dims(sagd_plugin_handle h, size_t *n, size_t *r, size_t *p) {
  *n = h->n;
  *r = h->r;
  *p = h->p;
}

const char *sagd_plugin_path(sagd_plugin_handle h) { return h->path; }

int sagd_plugin_model(sagd_plugin_handle h, size_t i_begin, size_t i_end, sagd_model *m) {
  SAGD_CHECK(!h->model_owns, SAGD_ERR_INTERNAL, "plug-in '%s': its context already has a model",
             h->pl->name);
  wrap_ctx *w = calloc(1, sizeof *w);
  SAGD_CHECK(w != NULL, SAGD_ERR_MEM, "cannot allocate a plug-in model");
  w->pl = h->pl;
  w->ctx = h->ctx;
  const sagd_model_type *t = h->pl->ops.potential_grad_theta ? &wrap_type_fused_ : &wrap_type_;
  int rc = sagd_model_create(t, w, h->r, h->p, h->n, i_begin, i_end, m);
  if (rc != SAGD_OK) {
    free(w);
    return sagd_error_trace(rc, __FILE__, __LINE__, __func__);
  }
  h->model_owns = 1;
  return SAGD_OK;
}

int sagd_plugin_defaults(sagd_plugin_handle h, double *theta0, double *lower, double *upper) {
  PLUGIN_OP_(h->pl, "defaults", h->pl->defaults(h->ctx, theta0, lower, upper));
  return SAGD_OK;
}

int sagd_plugin_data(sagd_plugin_handle h, const double **x, size_t *d) {
  SAGD_CHECK(h->pl->data != NULL, SAGD_ERR_INTERNAL, "plug-in '%s' has no data op", h->pl->name);
  PLUGIN_OP_(h->pl, "data", h->pl->data(h->ctx, x, d));
  SAGD_CHECK(*x != NULL && *d >= 1, SAGD_ERR_CONFIG,
             "plug-in '%s': its data op gave %s with d = %zu columns: expected n rows of d >= 1",
             h->pl->name, *x ? "a table" : "NULL", *d);
  return SAGD_OK;
}

int sagd_plugin_loglik(sagd_plugin_handle h, const double *theta, size_t i0, size_t i1,
                       double *ll) {
  SAGD_CHECK(h->pl->loglik != NULL, SAGD_ERR_INTERNAL, "plug-in '%s' has no loglik op",
             h->pl->name);
  PLUGIN_OP_(h->pl, "loglik", h->pl->loglik(h->ctx, theta, i0, i1, ll));
  return SAGD_OK;
}
