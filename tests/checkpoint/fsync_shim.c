/* A test shim preloaded into sagd (LD_PRELOAD) that stands in for fsync(2): it writes
 * "PID PATH" for every descriptor a process syncs, one per line, to $FSYNC_SHIM_LOG, and fails with
 * EIO when that path contains $FSYNC_SHIM_FAIL. It never syncs, so the test does not depend on how
 * fast the disk flushes (tests/checkpoint/fsync.sh). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int fsync(int fd) {
  char link[64], line[PATH_MAX + 32];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  int head = snprintf(line, sizeof line, "%ld ", (long)getpid());
  char *path = line + head;
  ssize_t n = readlink(link, path, PATH_MAX);
  if (n < 0) {
    return -1; /* readlink's errno: EBADF for a closed descriptor, as fsync would say */
  }
  path[n] = '\0';
  const char *log = getenv("FSYNC_SHIM_LOG");
  if (log != NULL) {
    int out = open(log, O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (out >= 0) {
      path[n] = '\n'; /* one write per line: lines of concurrent ranks do not interleave */
      if (write(out, line, (size_t)(head + n + 1)) < 0) {
        /* the check then misses the line and fails */
      }
      path[n] = '\0';
      close(out);
    }
  }
  const char *fail = getenv("FSYNC_SHIM_FAIL");
  if (fail != NULL && fail[0] != '\0' && strstr(path, fail) != NULL) {
    errno = EIO;
    return -1;
  }
  return 0;
}
