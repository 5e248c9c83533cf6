/* Error recording and propagation (see include/sagd/error.h). */
#include "sagd/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SAGD_ERRMSG_MAX 4096

static char errmsg_[SAGD_ERRMSG_MAX];   /* the message */
static char errfull_[SAGD_ERRMSG_MAX];  /* message + traceback */

static const struct {
  int status;
  const char *text;
} error_table_[] = {
#define SAGD_ERROR_ROW_(name, status, text) {status, text},
    SAGD_ERROR_LIST(SAGD_ERROR_ROW_)
#undef SAGD_ERROR_ROW_
};

const char *sagd_strerror(int code) {
  if (code < 0 || code >= SAGD_ERR_COUNT_) {
    return "unknown error code";
  }
  return error_table_[code].text;
}

int sagd_error_exit_status(int code) {
  if (code < 0 || code >= SAGD_ERR_COUNT_) {
    return 1;
  }
  return error_table_[code].status;
}

void sagd_text_append(char *buf, size_t cap, const char *fmt, ...) {
  const size_t len = strlen(buf);
  if (len + 1 >= cap) {
    return;
  }
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf + len, cap - len, fmt, ap);
  va_end(ap);
}

int sagd_error_set(int code, const char *file, int line, const char *func,
                   const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(errmsg_, sizeof errmsg_, fmt, ap);
  va_end(ap);
  errfull_[0] = '\0';
  sagd_text_append(errfull_, SAGD_ERRMSG_MAX, "%s\n  at %s:%d (%s)", errmsg_, file, line, func);
  return code;
}

int sagd_error_trace(int code, const char *file, int line, const char *func) {
  if (errmsg_[0] == '\0') {
    snprintf(errmsg_, sizeof errmsg_, "%s", sagd_strerror(code));
    sagd_text_append(errfull_, SAGD_ERRMSG_MAX, "%s", errmsg_);
  }
  sagd_text_append(errfull_, SAGD_ERRMSG_MAX, "\n  at %s:%d (%s)", file, line, func);
  return code;
}

int sagd_error_mpi(int mpierr, const char *expr, const char *file, int line,
                   const char *func) {
  char text[MPI_MAX_ERROR_STRING] = "";
  int len = 0;
  MPI_Error_string(mpierr, text, &len);
  return sagd_error_set(SAGD_ERR_MPI, file, line, func, "MPI call %s failed: %s", expr,
                        text);
}

const char *sagd_error_message(void) { return errmsg_; }
const char *sagd_error_message_full(void) { return errfull_; }

void sagd_error_clear(void) {
  errmsg_[0] = '\0';
  errfull_[0] = '\0';
}

void sagd_assert_fail_(const char *cond, const char *file, int line, const char *func) {
  fprintf(stderr, "sagd: internal error: assertion '%s' failed at %s:%d (%s)\n", cond, file,
          line, func);
  abort();
}
