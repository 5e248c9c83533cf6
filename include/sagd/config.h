/**
 * @file config.h
 * @brief INI configuration (inih) validated against a table of known keys.
 *
 * Every key the program accepts is declared once in a sagd_config_key table (section, key,
 * type, default, constraint, help). Reading rejects unknown sections and keys, values of
 * the wrong type and values that break the constraint, each with a message naming
 * "section.key", the value, and what was expected. `--set section.key=value` overrides go
 * through the same checks. sagd_config_text() renders the complete effective configuration
 * (every key, defaults included) in a canonical order: that text is stored in run files and
 * hashed to recognise "the same config" on resume.
 */
#ifndef SAGD_CONFIG_H
#define SAGD_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  SAGD_CFG_STRING,
  SAGD_CFG_INT,     /**< signed 64-bit integer */
  SAGD_CFG_REAL,    /**< finite double */
  SAGD_CFG_BOOL,    /**< true/false/yes/no/on/off/1/0 */
  SAGD_CFG_REALS    /**< comma-separated list of finite doubles */
} sagd_config_type;

typedef enum {
  SAGD_CFG_ANY = 0,
  SAGD_CFG_POSITIVE,    /**< > 0 */
  SAGD_CFG_NONNEGATIVE, /**< >= 0 */
  SAGD_CFG_AT_LEAST_1   /**< >= 1 */
} sagd_config_constraint;

typedef struct {
  const char *section;
  const char *key;
  sagd_config_type type;
  const char *def; /**< default value as text ("" = empty string/list) */
  sagd_config_constraint constraint;
  const char *help;
  int neutral;     /**< 1: cannot change a run's results (may differ when resuming) */
} sagd_config_key;

/** The keys a type reads (a sampler, schedule, optimizer, VAE method: its `keys` member):
 *  NULL-terminated pointers to rows, NULL when it reads none. A row may be shared by several
 *  types; the program's key table holds each row once (experiment.h, sagd_config_keys). */
typedef const sagd_config_key *const *sagd_config_type_keys;

/** 1 if `keys` (may be NULL) holds section.key. */
int sagd_config_type_reads(sagd_config_type_keys keys, const char *section, const char *key);

typedef struct sagd_config_s *sagd_config;

/** Create a configuration holding the defaults of `keys` (terminated by a {NULL} row).
 *  The table must outlive the config. */
int sagd_config_create(const sagd_config_key *keys, sagd_config *cfg);
void sagd_config_destroy(sagd_config *cfg);

/** Read an INI file over the current values. Errors: unreadable file, syntax error (with
 *  line), unknown section/key, bad value. On error the config is unchanged. */
int sagd_config_read_file(sagd_config cfg, const char *path);
/** Read INI text (same rules) — used for configs stored in run files. `origin` names it in
 *  messages. */
int sagd_config_read_string(sagd_config cfg, const char *text, const char *origin);
/** Apply one "section.key=value" override. */
int sagd_config_set(sagd_config cfg, const char *assignment);

/** Typed getters (the key must exist in the table: asking for an undeclared key is a bug). */
const char *sagd_config_string(sagd_config cfg, const char *section, const char *key);
int64_t sagd_config_int(sagd_config cfg, const char *section, const char *key);
double sagd_config_real(sagd_config cfg, const char *section, const char *key);
int sagd_config_bool(sagd_config cfg, const char *section, const char *key);
/** A list: *n elements copied into out (up to cap). Returns SAGD_ERR_CONFIG if the list
 *  length is not in [min_n, cap], naming the key. */
int sagd_config_reals(sagd_config cfg, const char *section, const char *key, double *out,
                      size_t min_n, size_t cap, size_t *n);

/** The number of values of a list key (0 when empty). */
size_t sagd_config_reals_len(sagd_config cfg, const char *section, const char *key);

/** 1 if section.key matches one of `patterns` (NULL-terminated: "section.key", or
 *  "section.*" for a whole section). */
int sagd_config_key_matches(const char *const *patterns, const char *section, const char *key);
/** Keys a run does not read are bad input. Every key given a value by the text read or by
 *  --set must match `reads` (the patterns `reader`, e.g. an experiment, declares it reads);
 *  otherwise SAGD_ERR_CONFIG naming every such key, its value and (through readers_of, may be
 *  NULL) who does read it. On success the getters are restricted to `reads` from then on:
 *  reading an undeclared key is a bug in the declaration and aborts, naming it. cfg keeps a
 *  copy of `reads` and `reader`. */
int sagd_config_check_reads(sagd_config cfg, const char *const *reads, const char *reader,
                            const char *(*readers_of)(const char *section, const char *key,
                                                      char *buf, size_t cap));

/** Canonical text of the full effective configuration (owned by cfg). */
const char *sagd_config_text(sagd_config cfg);
/** 64-bit FNV-1a hash of sagd_config_text(). */
uint64_t sagd_config_hash(sagd_config cfg);
/** The same hash of a config text (e.g. one stored in a run file). */
uint64_t sagd_config_text_hash(const char *text);
/** The keys whose values differ between two configs over the same table, as a
 *  comma-separated "section.key" list written into buf; returns the number of differences. */
size_t sagd_config_diff(sagd_config a, sagd_config b, char *buf, size_t cap);

/** The same, skipping the keys marked `neutral` (they cannot change results): what decides
 *  whether a checkpoint or result belongs to this configuration. */
size_t sagd_config_diff_results(sagd_config a, sagd_config b, char *buf, size_t cap);
/** A new configuration holding the defaults of the key table `like` was created with. */
int sagd_config_create_like(sagd_config like, sagd_config *cfg);

/** Print every key with type, default and help (for --help). */
void sagd_config_print_keys(const sagd_config_key *keys, void *FILE_stream);

#ifdef __cplusplus
}
#endif
#endif
