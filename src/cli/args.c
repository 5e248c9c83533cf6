/* Command-line argument helpers the subcommands share (see cli.h). */
#include <errno.h>
#include <stdlib.h>

#include "cli.h"
#include "sagd/error.h"

int sagd_cli_parse_u64(const char *opt, const char *text, unsigned long long *out) {
  char *end = NULL;
  errno = 0;
  SAGD_CHECK(text != NULL && text[0] != '\0' && text[0] != '-', SAGD_ERR_ARG,
             "%s '%s': expected a non-negative integer", opt, text ? text : "");
  unsigned long long v = strtoull(text, &end, 10);
  SAGD_CHECK(errno == 0 && end != text && *end == '\0', SAGD_ERR_ARG,
             "%s '%s': expected a non-negative integer", opt, text);
  *out = v;
  return SAGD_OK;
}
