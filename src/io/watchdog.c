/* The stall watchdog (see include/sagd/watchdog.h): setitimer(ITIMER_REAL) + a SIGALRM
 * handler that only write()s a preformatted message and _exit()s (both async-signal-safe).
 * The message lives in two buffers; `current_` names the complete one, so updating it never
 * exposes a half-written text to the handler. */
#include "sagd/watchdog.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "sagd/error.h"

#define WD_MSG 2048

static char msg_[2][WD_MSG];
static size_t len_[2];
static volatile sig_atomic_t current_ = 0;
static int armed_ = 0;
static struct itimerval period_;
static struct sigaction old_;

static void handler_(int sig) {
  (void)sig;
  const int k = current_;
  ssize_t w = write(STDERR_FILENO, msg_[k], len_[k]);
  (void)w;
  _exit(1);
}

void sagd_watchdog_message(const char *message) {
  const int k = 1 - current_;
  snprintf(msg_[k], WD_MSG - 1, "%s", message != NULL ? message : "sagd: stalled");
  size_t n = strlen(msg_[k]);
  msg_[k][n++] = '\n';
  msg_[k][n] = '\0';
  len_[k] = n;
  current_ = k;
}

int sagd_watchdog_start(double seconds, const char *message) {
  SAGD_CHECK(isfinite(seconds) && seconds > 0, SAGD_ERR_ARG,
             "watchdog: %g seconds: expected a finite value > 0", seconds);
  sagd_watchdog_stop();
  sagd_watchdog_message(message);
  memset(&period_, 0, sizeof period_);
  period_.it_value.tv_sec = (time_t)seconds;
  period_.it_value.tv_usec = (suseconds_t)((seconds - floor(seconds)) * 1e6);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = handler_;
  sigemptyset(&sa.sa_mask);
  SAGD_CHECK(sigaction(SIGALRM, &sa, &old_) == 0, SAGD_ERR_INTERNAL,
             "watchdog: cannot install the SIGALRM handler");
  armed_ = 1;
  sagd_watchdog_kick();
  return SAGD_OK;
}

void sagd_watchdog_kick(void) {
  if (armed_) {
    setitimer(ITIMER_REAL, &period_, NULL);
  }
}

void sagd_watchdog_stop(void) {
  if (!armed_) {
    return;
  }
  struct itimerval off;
  memset(&off, 0, sizeof off);
  setitimer(ITIMER_REAL, &off, NULL);
  sigaction(SIGALRM, &old_, NULL);
  armed_ = 0;
}
