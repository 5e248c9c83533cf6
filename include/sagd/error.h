/**
 * @file error.h
 * @brief Error codes, context-carrying error propagation, and the check macros.
 *
 * Every fallible sagd function returns an int: 0 (SAGD_OK) on success, a code from
 * SAGD_ERROR_LIST otherwise. The first failure records a message (naming the offending
 * value and what was expected); each SAGD_CALL it passes through appends a
 * "file:line (function)" frame. main() prints sagd_error_message() and maps the code to an
 * exit status with sagd_error_exit_status(). Only main() calls MPI_Abort.
 */
#ifndef SAGD_ERROR_H
#define SAGD_ERROR_H

#include <mpi.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* X(name, exit status, description): the one list the enum and sagd_strerror() come from.
 * Exit status 2 = the user's input is wrong (nothing was written); 1 = the run failed;
 * 75 (EX_TEMPFAIL) = stopped by SIGTERM/SIGUSR1 after writing a checkpoint: requeue.
 * SAGD_ERR_MODEL is bad input found on some ranks only (a plug-in's op failed on its
 * shard): main() reports it with the rank and aborts every rank with status 2. */
#define SAGD_ERROR_LIST(X)                                                     \
  X(SAGD_OK, 0, "success")                                                     \
  X(SAGD_ERR_ARG, 2, "invalid argument")                                       \
  X(SAGD_ERR_CONFIG, 2, "invalid configuration")                               \
  X(SAGD_ERR_DATA, 2, "invalid data")                                          \
  X(SAGD_ERR_OUTPUT, 2, "output path cannot be written")                       \
  X(SAGD_ERR_CORRUPT, 2, "damaged or incompatible file")                       \
  X(SAGD_ERR_MODEL, 2, "a user's model (plug-in) failed")                      \
  X(SAGD_ERR_IO, 1, "input/output failure")                                    \
  X(SAGD_ERR_HDF5, 1, "HDF5 failure")                                          \
  X(SAGD_ERR_MPI, 1, "MPI failure")                                            \
  X(SAGD_ERR_MEM, 1, "out of memory")                                          \
  X(SAGD_ERR_NUMERIC, 1, "numerical failure")                                  \
  X(SAGD_ERR_INTERNAL, 1, "internal error")                                   \
  X(SAGD_STOPPED, 75, "checkpointed on request (signal); run the same command again to resume")

typedef enum {
#define SAGD_ERROR_ENUM_(name, status, text) name,
  SAGD_ERROR_LIST(SAGD_ERROR_ENUM_)
#undef SAGD_ERROR_ENUM_
      SAGD_ERR_COUNT_
} sagd_error_code;

/** Short description of an error code ("invalid configuration"). Never NULL. */
const char *sagd_strerror(int code);

/** Process exit status for an error code: 0 ok, 2 bad user input, 1 anything else. */
int sagd_error_exit_status(int code);

/** Record a new error (discarding any earlier one) and return @p code.
 *  @p fmt is printf-style and should name the bad value and what was expected. */
int sagd_error_set(int code, const char *file, int line, const char *func,
                   const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/** Append a propagation frame to the current error; returns @p code. */
int sagd_error_trace(int code, const char *file, int line, const char *func);

/** Record an MPI failure, with MPI's own error string; returns SAGD_ERR_MPI. */
int sagd_error_mpi(int mpierr, const char *expr, const char *file, int line,
                   const char *func);

/** The message of the last recorded error ("" if none); the traceback follows after a
 *  newline when sagd_error_message_full() is used. Owned by the library. */
const char *sagd_error_message(void);
const char *sagd_error_message_full(void);

/** Forget the current error. */
void sagd_error_clear(void);

/** Append printf-formatted text to the NUL-terminated string in buf (cap bytes in all),
 *  truncating what does not fit: how messages listing several items are built. */
void sagd_text_append(char *buf, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** Propagate a failing call's code with file:line context. */
#define SAGD_CALL(expr)                                                        \
  do {                                                                         \
    int sagd_ierr_ = (expr);                                                   \
    if (sagd_ierr_ != 0) {                                                     \
      return sagd_error_trace(sagd_ierr_, __FILE__, __LINE__, __func__);       \
    }                                                                          \
  } while (0)

/** Check a condition on input (always on): on failure record the message and return. */
#define SAGD_CHECK(cond, code, ...)                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      return sagd_error_set((code), __FILE__, __LINE__, __func__, __VA_ARGS__); \
    }                                                                          \
  } while (0)

/** Return an error unconditionally. */
#define SAGD_FAIL(code, ...)                                                   \
  return sagd_error_set((code), __FILE__, __LINE__, __func__, __VA_ARGS__)

/** The cleanup idiom: run a failing call's code into rc with a file:line frame and jump to
 *  the function's cleanup label (which releases everything and returns rc). */
#define SAGD_TRY(rc, label, expr)                                              \
  do {                                                                         \
    (rc) = (expr);                                                             \
    if ((rc) != 0) {                                                           \
      (rc) = sagd_error_trace((rc), __FILE__, __LINE__, __func__);             \
      goto label;                                                              \
    }                                                                          \
  } while (0)

/* The failure of the same idiom: record the error (code, message) in rc and goto label. */
#define SAGD_FAIL_GOTO(rc, label, code, ...)                                   \
  do {                                                                         \
    (rc) = sagd_error_set((code), __FILE__, __LINE__, __func__, __VA_ARGS__);  \
    goto label;                                                                \
  } while (0)

/* ptr = calloc(count) (at least one element), or rc = SAGD_ERR_MEM naming `what` and goto
 * label. */
#define SAGD_CALLOC_GOTO(rc, label, ptr, count, what)                          \
  do {                                                                         \
    size_t sagd_n_ = (size_t)(count);                                          \
    (ptr) = calloc(sagd_n_ > 0 ? sagd_n_ : 1, sizeof(*(ptr)));                 \
    if ((ptr) == NULL) {                                                       \
      SAGD_FAIL_GOTO(rc, label, SAGD_ERR_MEM,                                  \
                     "cannot allocate %zu elements for %s", sagd_n_, (what));  \
    }                                                                          \
  } while (0)

/** Call an MPI function; on failure record MPI's message and return SAGD_ERR_MPI. */
#define SAGD_CHECK_MPI(expr)                                                   \
  do {                                                                         \
    int sagd_mpierr_ = (expr);                                                 \
    if (sagd_mpierr_ != MPI_SUCCESS) {                                         \
      return sagd_error_mpi(sagd_mpierr_, #expr, __FILE__, __LINE__, __func__); \
    }                                                                          \
  } while (0)

/** Internal invariant: a failure is a bug in sagd; prints and aborts the process. */
#define SAGD_ASSERT(cond)                                                      \
  do {                                                                         \
    if (!(cond)) {                                                             \
      sagd_assert_fail_(#cond, __FILE__, __LINE__, __func__);                  \
    }                                                                          \
  } while (0)
void sagd_assert_fail_(const char *cond, const char *file, int line, const char *func)
    __attribute__((noreturn));

/** calloc/malloc that record SAGD_ERR_MEM naming what was being allocated. */
#define SAGD_CALLOC(ptr, count, what)                                          \
  do {                                                                         \
    size_t sagd_cnt_ = (size_t)(count);                                        \
    (ptr) = calloc(sagd_cnt_ > 0 ? sagd_cnt_ : 1, sizeof(*(ptr)));             \
    SAGD_CHECK((ptr) != NULL, SAGD_ERR_MEM, "cannot allocate %zu elements for %s", \
               sagd_cnt_, (what));                                             \
  } while (0)

#ifdef __cplusplus
}
#endif
#endif /* SAGD_ERROR_H */
