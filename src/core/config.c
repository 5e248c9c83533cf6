/* INI configuration validated against a table of known keys (see include/sagd/config.h).
 *
 * Parsing goes through inih (ini_parse_stream) with our own line reader, which lets us
 * know the line number of every handler call, catch over-long lines (inih's line buffer is
 * fixed) and recognise section headers (inih does not report them). A read collects the raw
 * text of every assignment first and validates it afterwards, into new values that replace
 * the current ones only if the whole input is valid: on error the config is unchanged.
 *
 * Lists of reals may continue on indented lines (inih's multi-line values, as in Python's
 * configparser); sagd_config_text() wraps long lists that way, so its output always reads
 * back. Any other indented line after a key is reported, not silently glued to a value. */
#include "sagd/config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "sagd/error.h"

/* inih's line buffer holds INI_MAX_LINE bytes including the newline and the NUL. */
#define CFG_LINE_MAX (INI_MAX_LINE - 2)
/* inih truncates section and key names to 49 characters (MAX_SECTION, MAX_NAME). */
#define CFG_NAME_MAX 49
/* Width at which sagd_config_text() wraps lists of reals onto continuation lines. */
#define CFG_WRAP 96
#define CFG_MSG 2048

typedef struct {
  char *text;   /* canonical text of the value (owned) */
  int64_t i;    /* SAGD_CFG_INT */
  double r;     /* SAGD_CFG_REAL */
  int b;        /* SAGD_CFG_BOOL */
  double *list; /* SAGD_CFG_REALS (owned, may be NULL when n == 0) */
  size_t n;
} cfg_value;

struct sagd_config_s {
  const sagd_config_key *keys;
  size_t nkeys;
  cfg_value *vals;         /* parallel to keys */
  unsigned char *assigned; /* parallel to keys: given a value by text or --set */
  char **reads;            /* NULL, or the only keys the getters may read (patterns, owned) */
  char *reader;            /* who declared `reads` (messages, owned) */
  char *text;               /* cached canonical text, NULL when stale */
};

/* ---------------------------------------------------------------- small helpers */

static char *str_ndup(const char *s, size_t n) {
  char *d = malloc(n + 1);
  if (d != NULL) {
    memcpy(d, s, n);
    d[n] = '\0';
  }
  return d;
}

/* Copy of [s, s+n) without leading/trailing white space. */
static char *str_trimmed(const char *s, size_t n) {
  while (n > 0 && isspace((unsigned char)*s)) {
    s++;
    n--;
  }
  while (n > 0 && isspace((unsigned char)s[n - 1])) {
    n--;
  }
  return str_ndup(s, n);
}

static int str_ieq(const char *a, const char *b) {
  for (; *a && *b; a++, b++) {
    if (tolower((unsigned char)*a) != tolower((unsigned char)*b)) {
      return 0;
    }
  }
  return *a == *b;
}

/* Append printf-style text to buf (capacity cap), truncating silently. */

/* Levenshtein distance (case-insensitive) of two short names, capped at 99. */
static int edit_distance(const char *a, const char *b) {
  size_t na = strlen(a), nb = strlen(b);
  if (na > 63 || nb > 63) {
    return 99;
  }
  int d[64][64];
  for (size_t i = 0; i <= na; i++) {
    d[i][0] = (int)i;
  }
  for (size_t j = 0; j <= nb; j++) {
    d[0][j] = (int)j;
  }
  for (size_t i = 1; i <= na; i++) {
    for (size_t j = 1; j <= nb; j++) {
      int cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
      int best = d[i - 1][j - 1] + cost;
      if (d[i - 1][j] + 1 < best) {
        best = d[i - 1][j] + 1;
      }
      if (d[i][j - 1] + 1 < best) {
        best = d[i][j - 1] + 1;
      }
      d[i][j] = best;
    }
  }
  return d[na][nb];
}

static void value_free(cfg_value *v) {
  free(v->text);
  free(v->list);
  memset(v, 0, sizeof *v);
}

/* ---------------------------------------------------------------- the key table */

static int table_section_known(const sagd_config_key *keys, size_t nkeys, const char *sec,
                               size_t len) {
  for (size_t i = 0; i < nkeys; i++) {
    if (strlen(keys[i].section) == len && strncmp(keys[i].section, sec, len) == 0) {
      return 1;
    }
  }
  return 0;
}

static int table_find(const sagd_config_key *keys, size_t nkeys, const char *sec,
                      const char *key) {
  for (size_t i = 0; i < nkeys; i++) {
    if (strcmp(keys[i].section, sec) == 0 && strcmp(keys[i].key, key) == 0) {
      return (int)i;
    }
  }
  return -1;
}

/* Is i the first row of its section in the table? (sections are listed in table order) */
static int first_of_section(const sagd_config_key *keys, size_t i) {
  for (size_t j = 0; j < i; j++) {
    if (strcmp(keys[j].section, keys[i].section) == 0) {
      return 0;
    }
  }
  return 1;
}

/* "run, data, model" */
static void list_sections(const sagd_config_key *keys, size_t nkeys, char *buf, size_t cap) {
  int first = 1;
  for (size_t i = 0; i < nkeys; i++) {
    if (first_of_section(keys, i)) {
      sagd_text_append(buf, cap, "%s%s", first ? "" : ", ", keys[i].section);
      first = 0;
    }
  }
}

/* Description of an unknown key: closest key of the section, the section a key of that
 * name belongs to, and the known keys. Appended to buf. */
static void describe_unknown_key(const sagd_config_key *keys, size_t nkeys, const char *sec,
                                 const char *key, char *buf, size_t cap) {
  int best = -1, bestd = 3;
  for (size_t i = 0; i < nkeys; i++) {
    if (strcmp(keys[i].section, sec) == 0) {
      int d = edit_distance(key, keys[i].key);
      if (d < bestd) {
        bestd = d;
        best = (int)i;
      }
    }
  }
  sagd_text_append(buf, cap, "unknown key '%s' in section [%s]", key, sec);
  if (best >= 0) {
    sagd_text_append(buf, cap, " (did you mean '%s'?)", keys[best].key);
  }
  for (size_t i = 0; i < nkeys; i++) {
    if (strcmp(keys[i].key, key) == 0 && strcmp(keys[i].section, sec) != 0) {
      sagd_text_append(buf, cap, " ('%s' is a key of section [%s])", key, keys[i].section);
      break;
    }
  }
  sagd_text_append(buf, cap, "; known keys:");
  int first = 1;
  for (size_t i = 0; i < nkeys; i++) {
    if (strcmp(keys[i].section, sec) == 0) {
      sagd_text_append(buf, cap, "%s %s", first ? "" : ",", keys[i].key);
      first = 0;
    }
  }
}

/* ---------------------------------------------------------------- values */

static const char *type_expected(sagd_config_type t) {
  switch (t) {
  case SAGD_CFG_INT:
    return "an integer";
  case SAGD_CFG_REAL:
    return "a real number";
  case SAGD_CFG_BOOL:
    return "true or false (also yes/no, on/off, 1/0)";
  case SAGD_CFG_REALS:
    return "a comma-separated list of real numbers";
  case SAGD_CFG_STRING:
    break;
  }
  return "text";
}

static const char *type_name(sagd_config_type t) {
  switch (t) {
  case SAGD_CFG_INT:
    return "integer";
  case SAGD_CFG_REAL:
    return "real";
  case SAGD_CFG_BOOL:
    return "bool";
  case SAGD_CFG_REALS:
    return "list of reals";
  case SAGD_CFG_STRING:
    break;
  }
  return "string";
}

static const char *constraint_text(sagd_config_constraint c) {
  switch (c) {
  case SAGD_CFG_POSITIVE:
    return "> 0";
  case SAGD_CFG_NONNEGATIVE:
    return ">= 0";
  case SAGD_CFG_AT_LEAST_1:
    return ">= 1";
  case SAGD_CFG_ANY:
    break;
  }
  return "";
}

static int constraint_ok(sagd_config_constraint c, double x) {
  switch (c) {
  case SAGD_CFG_POSITIVE:
    return x > 0;
  case SAGD_CFG_NONNEGATIVE:
    return x >= 0;
  case SAGD_CFG_AT_LEAST_1:
    return x >= 1;
  case SAGD_CFG_ANY:
    break;
  }
  return 1;
}

/* Shortest "%.*g" text that reads back as exactly x. */
static void format_real(double x, char *buf, size_t cap) {
  for (int p = 1; p <= 17; p++) {
    snprintf(buf, cap, "%.*g", p, x);
    if (strtod(buf, NULL) == x) {
      return;
    }
  }
}

/* A finite double with nothing after it; 0 ok, else why is filled. */
static int parse_real(const char *s, double *x, char *why, size_t cap) {
  if (*s == '\0' || isspace((unsigned char)*s)) {
    snprintf(why, cap, "expected a real number");
    return 1;
  }
  char *end = NULL;
  errno = 0;
  double v = strtod(s, &end);
  if (end == s || *end != '\0') {
    snprintf(why, cap, "expected a real number");
    return 1;
  }
  if (!isfinite(v) || (errno == ERANGE && fabs(v) > 1)) {
    snprintf(why, cap, "expected a finite real number (|x| < 1.8e308)");
    return 1;
  }
  *x = v;
  return 0;
}

/* Parse text as a value of key k into out (zero-initialised by the caller). Returns 0 if
 * valid, 1 if not (why says what was expected), -1 if out of memory. */
static int parse_value(const sagd_config_key *k, const char *text, cfg_value *out, char *why,
                       size_t cap) {
  char canon[64];
  memset(out, 0, sizeof *out);
  why[0] = '\0';
  switch (k->type) {
  case SAGD_CFG_STRING:
    for (const char *p = text; *p; p++) {
      if (iscntrl((unsigned char)*p) && *p != '\t') {
        snprintf(why, cap, "expected text on one line, without control characters");
        return 1;
      }
    }
    if (text[0] != '\0' && (isspace((unsigned char)text[0]) ||
                            isspace((unsigned char)text[strlen(text) - 1]))) {
      snprintf(why, cap, "expected text without leading or trailing blanks");
      return 1;
    }
    if (text[0] == ';' || strstr(text, " ;") != NULL || strstr(text, "\t;") != NULL) {
      snprintf(why, cap, "expected text without ';' after a blank (INI starts a comment there)");
      return 1;
    }
    if (strlen(k->key) + 3 + strlen(text) > CFG_LINE_MAX) {
      snprintf(why, cap, "expected at most %zu characters (the INI line limit)",
               (size_t)CFG_LINE_MAX - 3 - strlen(k->key));
      return 1;
    }
    out->text = strdup(text);
    break;
  case SAGD_CFG_INT: {
    char *end = NULL;
    errno = 0;
    long long v = 0;
    if (text[0] != '\0' && !isspace((unsigned char)text[0])) {
      v = strtoll(text, &end, 10);
    }
    if (end == NULL || end == text || *end != '\0') {
      snprintf(why, cap, "expected an integer");
      return 1;
    }
    if (errno == ERANGE) {
      snprintf(why, cap, "expected an integer in [%" PRId64 ", %" PRId64 "]", INT64_MIN,
               INT64_MAX);
      return 1;
    }
    if (!constraint_ok(k->constraint, (double)v)) {
      snprintf(why, cap, "expected a value %s", constraint_text(k->constraint));
      return 1;
    }
    out->i = (int64_t)v;
    snprintf(canon, sizeof canon, "%" PRId64, out->i);
    out->text = strdup(canon);
    break;
  }
  case SAGD_CFG_REAL:
    if (parse_real(text, &out->r, why, cap) != 0) {
      return 1;
    }
    if (!constraint_ok(k->constraint, out->r)) {
      snprintf(why, cap, "expected a value %s", constraint_text(k->constraint));
      return 1;
    }
    format_real(out->r, canon, sizeof canon);
    out->text = strdup(canon);
    break;
  case SAGD_CFG_BOOL: {
    static const char *yes[] = {"true", "yes", "on", "1"};
    static const char *no[] = {"false", "no", "off", "0"};
    int b = -1;
    for (size_t j = 0; j < 4; j++) {
      if (str_ieq(text, yes[j])) {
        b = 1;
      }
      if (str_ieq(text, no[j])) {
        b = 0;
      }
    }
    if (b < 0) {
      snprintf(why, cap, "expected %s", type_expected(k->type));
      return 1;
    }
    out->b = b;
    out->text = strdup(b ? "true" : "false");
    break;
  }
  case SAGD_CFG_REALS: {
    size_t n = 0;
    if (text[0] != '\0') {
      n = 1;
      for (const char *p = text; *p; p++) {
        n += *p == ',';
      }
    }
    size_t tcap = n * 26 + 1; /* each element at most 24 characters, plus ", " */
    out->list = calloc(n > 0 ? n : 1, sizeof(double));
    out->text = calloc(tcap, 1);
    if (out->list == NULL || out->text == NULL) {
      snprintf(why, cap, "out of memory");
      return -1;
    }
    const char *p = text;
    for (size_t e = 0; e < n; e++) {
      const char *comma = strchr(p, ',');
      size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
      char *elem = str_trimmed(p, len);
      if (elem == NULL) {
        snprintf(why, cap, "out of memory");
        return -1;
      }
      char ewhy[128];
      int bad = parse_real(elem, &out->list[e], ewhy, sizeof ewhy);
      if (bad) {
        if (elem[0] == '\0') {
          snprintf(why, cap, "expected %s (element %zu is empty)", type_expected(k->type),
                   e + 1);
        } else {
          snprintf(why, cap, "expected %s (element %zu, '%s', is not a finite real number)",
                   type_expected(k->type), e + 1, elem);
        }
      } else if (!constraint_ok(k->constraint, out->list[e])) {
        snprintf(why, cap, "expected every element %s (element %zu is %s)",
                 constraint_text(k->constraint), e + 1, elem);
        bad = 1;
      }
      free(elem);
      if (bad) {
        return 1;
      }
      format_real(out->list[e], canon, sizeof canon);
      sagd_text_append(out->text, tcap, "%s%s", e > 0 ? ", " : "", canon);
      p += len + 1;
    }
    out->n = n;
    break;
  }
  default:
    snprintf(why, cap, "has an unknown type in the key table");
    return 1;
  }
  if (out->text == NULL) {
    snprintf(why, cap, "out of memory");
    return -1;
  }
  return 0;
}

/* ---------------------------------------------------------------- create / destroy */

static int name_ok(const char *s) {
  if (s == NULL || s[0] == '\0' || strlen(s) > CFG_NAME_MAX) {
    return 0;
  }
  for (; *s; s++) {
    if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-') {
      return 0;
    }
  }
  return 1;
}

int sagd_config_create(const sagd_config_key *keys, sagd_config *cfg) {
  SAGD_CHECK(keys != NULL && cfg != NULL, SAGD_ERR_ARG, "sagd_config_create: NULL argument");
  *cfg = NULL;
  size_t n = 0;
  while (keys[n].section != NULL) {
    const sagd_config_key *k = &keys[n];
    SAGD_CHECK(name_ok(k->section) && name_ok(k->key), SAGD_ERR_INTERNAL,
               "config key table row %zu: section '%s' / key '%s': expected names of 1 to "
               "%d letters, digits, '_' or '-'",
               n, k->section, k->key != NULL ? k->key : "(null)", CFG_NAME_MAX);
    SAGD_CHECK(k->def != NULL, SAGD_ERR_INTERNAL, "config key table: %s.%s has no default",
               k->section, k->key);
    SAGD_CHECK(table_find(keys, n, k->section, k->key) < 0, SAGD_ERR_INTERNAL,
               "config key table: %s.%s is declared twice", k->section, k->key);
    n++;
  }
  struct sagd_config_s *c = calloc(1, sizeof *c);
  SAGD_CHECK(c != NULL, SAGD_ERR_MEM, "cannot allocate a config");
  c->keys = keys;
  c->nkeys = n;
  c->vals = calloc(n > 0 ? n : 1, sizeof *c->vals);
  c->assigned = calloc(n > 0 ? n : 1, 1);
  if (c->vals == NULL || c->assigned == NULL) {
    free(c->vals);
    free(c->assigned);
    free(c);
    SAGD_FAIL(SAGD_ERR_MEM, "cannot allocate the values of %zu config keys", n);
  }
  for (size_t i = 0; i < n; i++) {
    char why[256];
    int bad = parse_value(&keys[i], keys[i].def, &c->vals[i], why, sizeof why);
    if (bad != 0) {
      sagd_config_destroy(&c);
      if (bad < 0) {
        SAGD_FAIL(SAGD_ERR_MEM, "cannot allocate the default of %s.%s", keys[i].section,
                  keys[i].key);
      }
      SAGD_FAIL(SAGD_ERR_INTERNAL, "config key table: default %s.%s = '%s': %s",
                keys[i].section, keys[i].key, keys[i].def, why);
    }
  }
  *cfg = c;
  return SAGD_OK;
}

void sagd_config_destroy(sagd_config *cfg) {
  if (cfg == NULL || *cfg == NULL) {
    return;
  }
  struct sagd_config_s *c = *cfg;
  if (c->vals != NULL) {
    for (size_t i = 0; i < c->nkeys; i++) {
      value_free(&c->vals[i]);
    }
  }
  free(c->vals);
  free(c->assigned);
  free(c->reads); /* one block: the pointers and the strings */
  free(c->reader);
  free(c->text);
  free(c);
  *cfg = NULL;
}

/* ---------------------------------------------------------------- reading INI text */

typedef struct {
  const sagd_config_key *keys;
  size_t nkeys;
  const char *origin;
  const char *buf; /* the whole input */
  size_t len, pos;
  int lineno;      /* line most recently handed to inih */
  int indented;    /* that line starts with white space */
  int have_prev;   /* inih's prev_name is set: an indented line continues it */
  int last;        /* key set by the last name=value line, -1 if none/unknown */
  int section_line;
  char **raw; /* per key: raw value text set by this input */
  int *line;  /* per key: its line */
  int err_line; /* line of the recorded error, INT_MAX if none */
  int err_code;
  char err[CFG_MSG];
} parse_ctx;

/* Record an error at a line, keeping the earliest one. */
static void ctx_error(parse_ctx *c, int code, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void ctx_error(parse_ctx *c, int code, int line, const char *fmt, ...) {
  if (line >= c->err_line) {
    return;
  }
  c->err_line = line;
  c->err_code = code;
  if (line > 0) {
    snprintf(c->err, sizeof c->err, "%s:%d: ", c->origin, line);
  } else {
    snprintf(c->err, sizeof c->err, "%s: ", c->origin);
  }
  size_t len = strlen(c->err);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->err + len, sizeof c->err - len, fmt, ap);
  va_end(ap);
}

/* fgets-like reader over the buffer: counts lines, refuses over-long ones, and checks
 * section headers as inih will read them. */
static char *ctx_reader(char *str, int num, void *stream) {
  parse_ctx *c = stream;
  if (c->pos >= c->len || num < 3) {
    return NULL;
  }
  const char *s = c->buf + c->pos;
  const char *nl = memchr(s, '\n', c->len - c->pos);
  size_t n = nl != NULL ? (size_t)(nl - s) : c->len - c->pos;
  c->pos += n + (nl != NULL);
  if (n > 0 && s[n - 1] == '\r') {
    n--;
  }
  c->lineno++;
  size_t room = (size_t)num - 2;
  if (n > room) {
    ctx_error(c, SAGD_ERR_CONFIG, c->lineno,
              "line is %zu characters long; at most %zu are allowed (a long list of reals "
              "may continue on indented lines)",
              n, room);
    n = room;
  }
  memcpy(str, s, n);
  str[n] = '\n';
  str[n + 1] = '\0';
  c->indented = n > 0 && isspace((unsigned char)s[0]);

  /* A "[section]" line, unless inih takes it as the continuation of a value. */
  const char *p = str;
  if (c->lineno == 1 && (unsigned char)p[0] == 0xEF && (unsigned char)p[1] == 0xBB &&
      (unsigned char)p[2] == 0xBF) {
    p += 3; /* UTF-8 byte order mark, skipped by inih */
  }
  while (isspace((unsigned char)*p)) {
    p++;
  }
  if (*p == '[' && !(c->have_prev && p > str)) {
    const char *q = p + 1;
    int was_space = 0;
    while (*q && *q != ']' && !(was_space && *q == ';')) {
      was_space = isspace((unsigned char)*q);
      q++;
    }
    if (*q == ']') {
      c->have_prev = 0;
      c->last = -1;
      c->section_line = c->lineno;
      size_t slen = (size_t)(q - p - 1);
      if (!table_section_known(c->keys, c->nkeys, p + 1, slen)) {
        char known[CFG_MSG] = "";
        list_sections(c->keys, c->nkeys, known, sizeof known);
        ctx_error(c, SAGD_ERR_CONFIG, c->lineno, "unknown section [%.*s]; known sections: %s",
                  (int)slen, p + 1, known);
      }
    }
  }
  return str;
}

static int ctx_set_raw(parse_ctx *c, int idx, char *text) {
  if (text == NULL) {
    ctx_error(c, SAGD_ERR_MEM, 0, "out of memory while reading the configuration");
    return 0;
  }
  free(c->raw[idx]);
  c->raw[idx] = text;
  return 1;
}

static int ctx_handler(void *user, const char *section, const char *name, const char *value) {
  parse_ctx *c = user;
  int line = c->lineno;
  if (c->indented && c->have_prev) {
    /* inih passes an indented line as a continuation of the previous key's value. */
    if (c->last < 0) {
      return 1; /* the key itself was already reported */
    }
    const sagd_config_key *k = &c->keys[c->last];
    if (k->type != SAGD_CFG_REALS) {
      ctx_error(c, SAGD_ERR_CONFIG, line,
                "indented line '%s' continues the value of %s.%s (line %d); only lists of "
                "reals may continue on indented lines: remove the leading blanks",
                value, k->section, k->key, c->line[c->last]);
      return 0;
    }
    const char *prev = c->raw[c->last];
    size_t lp = strlen(prev);
    const char *sep = (lp == 0 || prev[lp - 1] == ',') ? (lp == 0 ? "" : " ") : ", ";
    char *joined = malloc(lp + strlen(sep) + strlen(value) + 1);
    if (joined != NULL) {
      sprintf(joined, "%s%s%s", prev, sep, value);
    }
    return ctx_set_raw(c, c->last, joined);
  }
  c->have_prev = name[0] != '\0';
  c->last = -1;
  if (section[0] == '\0') {
    char known[CFG_MSG] = "";
    list_sections(c->keys, c->nkeys, known, sizeof known);
    ctx_error(c, SAGD_ERR_CONFIG, line,
              "key '%s' comes before any [section] header; known sections: %s", name, known);
    return 0;
  }
  if (!table_section_known(c->keys, c->nkeys, section, strlen(section))) {
    char known[CFG_MSG] = "";
    list_sections(c->keys, c->nkeys, known, sizeof known);
    ctx_error(c, SAGD_ERR_CONFIG, c->section_line > 0 ? c->section_line : line,
              "unknown section [%s]; known sections: %s", section, known);
    return 0;
  }
  int idx = table_find(c->keys, c->nkeys, section, name);
  if (idx < 0) {
    char msg[CFG_MSG] = "";
    describe_unknown_key(c->keys, c->nkeys, section, name, msg, sizeof msg);
    ctx_error(c, SAGD_ERR_CONFIG, line, "%s", msg);
    return 0;
  }
  if (c->raw[idx] != NULL) {
    ctx_error(c, SAGD_ERR_CONFIG, line, "%s.%s is set twice (first at line %d)", section, name,
              c->line[idx]);
    return 0;
  }
  c->line[idx] = line;
  c->last = idx;
  return ctx_set_raw(c, idx, strdup(value));
}

/* The text of line `lineno` (1-based) of buf, trimmed, into out. */
static void line_text(const char *buf, size_t len, int lineno, char *out, size_t cap) {
  size_t pos = 0;
  for (int l = 1; l < lineno && pos < len; l++) {
    const char *nl = memchr(buf + pos, '\n', len - pos);
    pos = nl != NULL ? (size_t)(nl - buf) + 1 : len;
  }
  const char *s = buf + pos;
  const char *nl = memchr(s, '\n', len - pos);
  size_t n = nl != NULL ? (size_t)(nl - s) : len - pos;
  while (n > 0 && isspace((unsigned char)*s)) {
    s++;
    n--;
  }
  while (n > 0 && isspace((unsigned char)s[n - 1])) {
    n--;
  }
  if (n > 60) {
    snprintf(out, cap, "%.57s...", s);
  } else {
    snprintf(out, cap, "%.*s", (int)n, s);
  }
}

/* Parse INI text of length len and apply it to cfg if it is entirely valid. */
static int config_read_buffer(sagd_config cfg, const char *buf, size_t len, const char *origin) {
  parse_ctx c;
  memset(&c, 0, sizeof c);
  c.keys = cfg->keys;
  c.nkeys = cfg->nkeys;
  c.origin = origin;
  c.buf = buf;
  c.len = len;
  c.last = -1;
  c.err_line = INT_MAX;
  c.raw = calloc(cfg->nkeys + 1, sizeof *c.raw);
  c.line = calloc(cfg->nkeys + 1, sizeof *c.line);
  cfg_value *nv = calloc(cfg->nkeys + 1, sizeof *nv);
  if (c.raw == NULL || c.line == NULL || nv == NULL) {
    free(c.raw);
    free(c.line);
    free(nv);
    SAGD_FAIL(SAGD_ERR_MEM, "out of memory while reading config '%s'", origin);
  }

  int ret = ini_parse_stream(ctx_reader, &c, ctx_handler, &c);
  if (ret == -2) {
    ctx_error(&c, SAGD_ERR_MEM, 0, "out of memory while parsing");
  } else if (ret > 0 && ret < c.err_line) {
    char text[80];
    line_text(buf, len, ret, text, sizeof text);
    ctx_error(&c, SAGD_ERR_CONFIG, ret,
              "syntax error in '%s': expected '[section]', 'key = value' or a comment "
              "(';' or '#')",
              text);
  }
  /* Validate every assignment (an earlier-line error still wins). */
  for (size_t i = 0; i < cfg->nkeys; i++) {
    if (c.raw[i] == NULL) {
      continue;
    }
    char why[512];
    int bad = parse_value(&cfg->keys[i], c.raw[i], &nv[i], why, sizeof why);
    if (bad != 0) {
      ctx_error(&c, bad < 0 ? SAGD_ERR_MEM : SAGD_ERR_CONFIG, bad < 0 ? 0 : c.line[i],
                "%s.%s = '%s': %s", cfg->keys[i].section, cfg->keys[i].key, c.raw[i], why);
    }
  }

  int ok = c.err_line == INT_MAX;
  for (size_t i = 0; i < cfg->nkeys; i++) {
    if (ok && c.raw[i] != NULL) {
      value_free(&cfg->vals[i]);
      cfg->vals[i] = nv[i];
      cfg->assigned[i] = 1;
    } else {
      value_free(&nv[i]);
    }
    free(c.raw[i]);
  }
  free(c.raw);
  free(c.line);
  free(nv);
  if (!ok) {
    SAGD_FAIL(c.err_code, "%s", c.err);
  }
  free(cfg->text);
  cfg->text = NULL;
  return SAGD_OK;
}

int sagd_config_read_string(sagd_config cfg, const char *text, const char *origin) {
  SAGD_CHECK(cfg != NULL && text != NULL, SAGD_ERR_ARG,
             "sagd_config_read_string: NULL argument");
  SAGD_CALL(config_read_buffer(cfg, text, strlen(text), origin != NULL ? origin : "config"));
  return SAGD_OK;
}

int sagd_config_read_file(sagd_config cfg, const char *path) {
  SAGD_CHECK(cfg != NULL && path != NULL, SAGD_ERR_ARG, "sagd_config_read_file: NULL argument");
  FILE *fp = fopen(path, "rb");
  SAGD_CHECK(fp != NULL, SAGD_ERR_CONFIG, "cannot read config '%s': %s", path, strerror(errno));
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap);
  int err = 0;
  while (buf != NULL) {
    if (len + 1 >= cap) {
      char *nb = realloc(buf, cap * 2);
      if (nb == NULL) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = nb;
      cap *= 2;
    }
    size_t got = fread(buf + len, 1, cap - 1 - len, fp);
    len += got;
    if (got == 0) {
      if (ferror(fp)) {
        err = errno != 0 ? errno : EIO;
      }
      break;
    }
  }
  fclose(fp);
  SAGD_CHECK(buf != NULL, SAGD_ERR_MEM, "out of memory while reading config '%s'", path);
  if (err != 0) {
    free(buf);
    SAGD_FAIL(SAGD_ERR_CONFIG, "cannot read config '%s': %s", path, strerror(err));
  }
  buf[len] = '\0';
  if (memchr(buf, '\0', len) != NULL) {
    free(buf);
    SAGD_FAIL(SAGD_ERR_CONFIG, "config '%s' contains NUL bytes: expected an INI text file",
              path);
  }
  int rc = config_read_buffer(cfg, buf, len, path);
  free(buf);
  SAGD_CALL(rc);
  return SAGD_OK;
}

int sagd_config_set(sagd_config cfg, const char *assignment) {
  SAGD_CHECK(cfg != NULL && assignment != NULL, SAGD_ERR_ARG, "sagd_config_set: NULL argument");
  const char *eq = strchr(assignment, '=');
  SAGD_CHECK(eq != NULL, SAGD_ERR_CONFIG, "--set '%s': expected section.key=value", assignment);
  char *name = str_trimmed(assignment, (size_t)(eq - assignment));
  char *value = str_trimmed(eq + 1, strlen(eq + 1));
  char *dot = name != NULL ? strchr(name, '.') : NULL;
  int rc = SAGD_OK;
  char msg[CFG_MSG] = "";
  cfg_value v;
  memset(&v, 0, sizeof v);
  if (name == NULL || value == NULL) {
    rc = SAGD_ERR_MEM;
    snprintf(msg, sizeof msg, "out of memory");
  } else if (dot == NULL || dot == name || dot[1] == '\0') {
    rc = SAGD_ERR_CONFIG;
    snprintf(msg, sizeof msg, "--set '%s': expected section.key=value (e.g. sagd.delta=0.05)",
             assignment);
  } else {
    *dot = '\0';
    const char *sec = name, *key = dot + 1;
    int idx = table_find(cfg->keys, cfg->nkeys, sec, key);
    if (!table_section_known(cfg->keys, cfg->nkeys, sec, strlen(sec))) {
      rc = SAGD_ERR_CONFIG;
      snprintf(msg, sizeof msg, "--set %s.%s=%s: unknown section [%s]; known sections: ", sec,
               key, value, sec);
      list_sections(cfg->keys, cfg->nkeys, msg, sizeof msg);
    } else if (idx < 0) {
      rc = SAGD_ERR_CONFIG;
      snprintf(msg, sizeof msg, "--set %s.%s=%s: ", sec, key, value);
      describe_unknown_key(cfg->keys, cfg->nkeys, sec, key, msg, sizeof msg);
    } else {
      char why[512];
      int bad = parse_value(&cfg->keys[idx], value, &v, why, sizeof why);
      if (bad != 0) {
        rc = bad < 0 ? SAGD_ERR_MEM : SAGD_ERR_CONFIG;
        snprintf(msg, sizeof msg, "--set %s.%s=%s: %s", sec, key, value, why);
      } else {
        value_free(&cfg->vals[idx]);
        cfg->vals[idx] = v;
        cfg->assigned[idx] = 1;
        memset(&v, 0, sizeof v);
        free(cfg->text);
        cfg->text = NULL;
      }
    }
  }
  value_free(&v);
  free(name);
  free(value);
  if (rc != SAGD_OK) {
    SAGD_FAIL(rc, "%s", msg);
  }
  return SAGD_OK;
}

/* ---------------------------------------------------------------- getters */

static const cfg_value *config_get(sagd_config cfg, const char *section, const char *key,
                                   sagd_config_type type) {
  SAGD_ASSERT(cfg != NULL && section != NULL && key != NULL);
  int idx = table_find(cfg->keys, cfg->nkeys, section, key);
  if (idx < 0) {
    fprintf(stderr, "sagd: config key %s.%s is not declared in the key table\n", section, key);
  } else if (cfg->keys[idx].type != type) {
    fprintf(stderr, "sagd: config key %s.%s is a %s, read as a %s\n", section, key,
            type_name(cfg->keys[idx].type), type_name(type));
  }
  SAGD_ASSERT(idx >= 0 && cfg->keys[idx].type == type);
  if (cfg->reads != NULL &&
      !sagd_config_key_matches((const char *const *)cfg->reads, section, key)) {
    /* a type read a key it does not declare: its list is wrong (a bug, caught by tests) */
    fprintf(stderr, "sagd: internal error: %s reads config key %s.%s, which it does not "
                    "declare among the keys it reads\n", cfg->reader, section, key);
    SAGD_ASSERT(!"config key read but not declared");
  }
  return &cfg->vals[idx];
}

int sagd_config_key_matches(const char *const *patterns, const char *section, const char *key) {
  const size_t ls = strlen(section);
  for (size_t i = 0; patterns[i] != NULL; i++) {
    const char *p = patterns[i];
    if (strncmp(p, section, ls) == 0 && p[ls] == '.' &&
        (strcmp(p + ls + 1, "*") == 0 || strcmp(p + ls + 1, key) == 0)) {
      return 1;
    }
  }
  return 0;
}

int sagd_config_check_reads(sagd_config cfg, const char *const *reads, const char *reader,
                            const char *(*readers_of)(const char *section, const char *key,
                                                      char *buf, size_t cap)) {
  SAGD_ASSERT(cfg != NULL && reads != NULL && reader != NULL);
  char bad[CFG_MSG] = "";
  size_t nbad = 0;
  for (size_t i = 0; i < cfg->nkeys; i++) {
    const sagd_config_key *k = &cfg->keys[i];
    if (!cfg->assigned[i] || sagd_config_key_matches(reads, k->section, k->key)) {
      continue;
    }
    char who[256] = "";
    if (readers_of != NULL) {
      readers_of(k->section, k->key, who, sizeof who);
    }
    sagd_text_append(bad, sizeof bad, "%s%s.%s = '%s' (%s)", nbad ? "; " : "", k->section, k->key,
            cfg->vals[i].text, who[0] ? who : "read by nothing");
    nbad++;
  }
  if (nbad > 0) {
    SAGD_FAIL(SAGD_ERR_CONFIG,
              "%zu key%s set that %s does not read, so %s would have no effect: %s; remove "
              "%s, or choose what reads %s",
              nbad, nbad == 1 ? " is" : "s are", reader, nbad == 1 ? "it" : "they", bad,
              nbad == 1 ? "it" : "them", nbad == 1 ? "it" : "them");
  }
  /* the config keeps its own copy: one block holding the pointers, then the strings */
  size_t n = 0, chars = 0;
  for (; reads[n] != NULL; n++) {
    chars += strlen(reads[n]) + 1;
  }
  char **copy = malloc((n + 1) * sizeof *copy + chars);
  char *who = strdup(reader);
  if (copy == NULL || who == NULL) {
    free(copy);
    free(who);
    SAGD_FAIL(SAGD_ERR_MEM, "cannot allocate the list of the %zu keys %s reads", n, reader);
  }
  char *text = (char *)(copy + n + 1);
  for (size_t i = 0; i < n; i++) {
    const size_t len = strlen(reads[i]) + 1;
    copy[i] = memcpy(text, reads[i], len);
    text += len;
  }
  copy[n] = NULL;
  free(cfg->reads);
  free(cfg->reader);
  cfg->reads = copy;
  cfg->reader = who;
  return SAGD_OK;
}

const char *sagd_config_string(sagd_config cfg, const char *section, const char *key) {
  return config_get(cfg, section, key, SAGD_CFG_STRING)->text;
}

int64_t sagd_config_int(sagd_config cfg, const char *section, const char *key) {
  return config_get(cfg, section, key, SAGD_CFG_INT)->i;
}

double sagd_config_real(sagd_config cfg, const char *section, const char *key) {
  return config_get(cfg, section, key, SAGD_CFG_REAL)->r;
}

int sagd_config_bool(sagd_config cfg, const char *section, const char *key) {
  return config_get(cfg, section, key, SAGD_CFG_BOOL)->b;
}

size_t sagd_config_reals_len(sagd_config cfg, const char *section, const char *key) {
  return config_get(cfg, section, key, SAGD_CFG_REALS)->n;
}

int sagd_config_reals(sagd_config cfg, const char *section, const char *key, double *out,
                      size_t min_n, size_t cap, size_t *n) {
  const cfg_value *v = config_get(cfg, section, key, SAGD_CFG_REALS);
  if (n != NULL) {
    *n = v->n;
  }
  if (v->n < min_n || v->n > cap) {
    if (min_n == cap) {
      SAGD_FAIL(SAGD_ERR_CONFIG, "%s.%s = '%s': expected exactly %zu values, got %zu", section,
                key, v->text, cap, v->n);
    }
    SAGD_FAIL(SAGD_ERR_CONFIG, "%s.%s = '%s': expected between %zu and %zu values, got %zu",
              section, key, v->text, min_n, cap, v->n);
  }
  if (v->n > 0) {
    SAGD_CHECK(out != NULL, SAGD_ERR_ARG, "sagd_config_reals(%s.%s): NULL output", section, key);
    memcpy(out, v->list, v->n * sizeof *out);
  }
  return SAGD_OK;
}

/* ---------------------------------------------------------------- canonical text */

/* Write "key = value\n" for key i into buf (NULL: only measure); returns the length. Lists
 * of reals longer than CFG_WRAP wrap onto indented continuation lines. */
static size_t render_key(const sagd_config_key *k, const cfg_value *v, char *buf) {
  size_t len = 0;
#define EMIT_(s, n)                                                            \
  do {                                                                         \
    if (buf != NULL) {                                                         \
      memcpy(buf + len, (s), (n));                                             \
    }                                                                          \
    len += (n);                                                                \
  } while (0)
  size_t kl = strlen(k->key);
  EMIT_(k->key, kl);
  EMIT_(" = ", 3);
  if (k->type != SAGD_CFG_REALS) {
    EMIT_(v->text, strlen(v->text));
  } else {
    size_t col = kl + 3;
    const char *p = v->text;
    while (*p) {
      const char *comma = strchr(p, ',');
      size_t el = comma != NULL ? (size_t)(comma - p) : strlen(p);
      if (p != v->text) {
        if (col + 2 + el > CFG_WRAP) {
          EMIT_(",\n    ", 6);
          col = 4;
        } else {
          EMIT_(", ", 2);
          col += 2;
        }
      }
      EMIT_(p, el);
      col += el;
      p += el;
      while (*p == ',' || *p == ' ') {
        p++;
      }
    }
  }
  EMIT_("\n", 1);
#undef EMIT_
  return len;
}

/* Render the canonical text into buf (NULL: only measure); returns its length. */
static size_t render(sagd_config cfg, char *buf) {
  size_t len = 0;
  for (size_t i = 0; i < cfg->nkeys; i++) {
    if (!first_of_section(cfg->keys, i)) {
      continue;
    }
    const char *sec = cfg->keys[i].section;
    char head[CFG_NAME_MAX + 8];
    int hl = snprintf(head, sizeof head, "%s[%s]\n", len > 0 ? "\n" : "", sec);
    if (buf != NULL) {
      memcpy(buf + len, head, (size_t)hl);
    }
    len += (size_t)hl;
    for (size_t j = i; j < cfg->nkeys; j++) {
      if (strcmp(cfg->keys[j].section, sec) == 0) {
        len += render_key(&cfg->keys[j], &cfg->vals[j], buf != NULL ? buf + len : NULL);
      }
    }
  }
  if (buf != NULL) {
    buf[len] = '\0';
  }
  return len;
}

const char *sagd_config_text(sagd_config cfg) {
  SAGD_ASSERT(cfg != NULL);
  if (cfg->text == NULL) {
    size_t len = render(cfg, NULL);
    cfg->text = malloc(len + 1);
    SAGD_ASSERT(cfg->text != NULL);
    render(cfg, cfg->text);
  }
  return cfg->text;
}

uint64_t sagd_config_hash(sagd_config cfg) { return sagd_config_text_hash(sagd_config_text(cfg)); }

uint64_t sagd_config_text_hash(const char *text) {
  const unsigned char *p = (const unsigned char *)text;
  uint64_t h = 14695981039346656037ULL;
  for (; *p; p++) {
    h ^= *p;
    h *= 1099511628211ULL;
  }
  return h;
}

static size_t config_diff_(sagd_config a, sagd_config b, int skip_neutral, char *buf,
                           size_t cap) {
  SAGD_ASSERT(a != NULL && b != NULL && a->keys == b->keys);
  if (buf != NULL && cap > 0) {
    buf[0] = '\0';
  }
  size_t nd = 0;
  for (size_t i = 0; i < a->nkeys; i++) {
    if (skip_neutral && a->keys[i].neutral) {
      continue;
    }
    if (strcmp(a->vals[i].text, b->vals[i].text) != 0) {
      if (buf != NULL && cap > 0) {
        sagd_text_append(buf, cap, "%s%s.%s", nd > 0 ? ", " : "", a->keys[i].section, a->keys[i].key);
      }
      nd++;
    }
  }
  return nd;
}

size_t sagd_config_diff(sagd_config a, sagd_config b, char *buf, size_t cap) {
  return config_diff_(a, b, 0, buf, cap);
}

size_t sagd_config_diff_results(sagd_config a, sagd_config b, char *buf, size_t cap) {
  return config_diff_(a, b, 1, buf, cap);
}

int sagd_config_create_like(sagd_config like, sagd_config *cfg) {
  SAGD_CHECK(like != NULL, SAGD_ERR_ARG, "sagd_config_create_like: no configuration given");
  SAGD_CALL(sagd_config_create(like->keys, cfg));
  return SAGD_OK;
}

void sagd_config_print_keys(const sagd_config_key *keys, void *FILE_stream) {
  FILE *fp = FILE_stream != NULL ? FILE_stream : stdout;
  size_t n = 0, width = 0;
  while (keys[n].section != NULL) {
    size_t w = strlen(keys[n].section) + 1 + strlen(keys[n].key);
    width = w > width ? w : width;
    n++;
  }
  for (size_t i = 0; i < n; i++) {
    if (!first_of_section(keys, i)) {
      continue;
    }
    fprintf(fp, "%s[%s]\n", i > 0 ? "\n" : "", keys[i].section);
    for (size_t j = i; j < n; j++) {
      const sagd_config_key *k = &keys[j];
      if (strcmp(k->section, keys[i].section) != 0) {
        continue;
      }
      char name[2 * CFG_NAME_MAX + 2];
      snprintf(name, sizeof name, "%s.%s", k->section, k->key);
      const char *cons = k->type == SAGD_CFG_STRING || k->type == SAGD_CFG_BOOL
                             ? ""
                             : constraint_text(k->constraint);
      const char *def = k->def;
      if (def[0] == '\0') {
        def = k->type == SAGD_CFG_REALS ? "empty" : "\"\"";
      }
      fprintf(fp, "  %-*s  (%s%s%s, default %s)  %s\n", (int)width, name, type_name(k->type),
              cons[0] != '\0' ? " " : "", cons, def, k->help != NULL ? k->help : "");
    }
  }
}

int sagd_config_type_reads(sagd_config_type_keys keys, const char *section, const char *key) {
  for (size_t i = 0; keys != NULL && keys[i] != NULL; i++) {
    if (strcmp(keys[i]->section, section) == 0 && strcmp(keys[i]->key, key) == 0) {
      return 1;
    }
  }
  return 0;
}
