/**
 * @file registry.h
 * @brief The one lookup of every pluggable kind (samplers, schedules, optimizers,
 *        activations, truths, likelihoods, VAE methods, experiments).
 *
 * A registry is a NULL-terminated array of pointers to const type tables whose FIRST member
 * is `const char *name`; each kind keeps one such array in the file that defines its types
 * (adding a type is one line there) and exposes it as `sagd_<kind>_list()`. Names are taken
 * from the types themselves, so no parallel list can drift. Not collective.
 */
#ifndef SAGD_REGISTRY_H
#define SAGD_REGISTRY_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/** View a typed registry (`const T *const *`) as the generic one. */
#define SAGD_REGISTRY(list) ((const void *const *)(list))

/** The entry named `name`, NULL if none (or name is NULL). */
const void *sagd_registry_find(const void *const *list, const char *name);
/** The entry's name (the type table's first member). */
const char *sagd_registry_name(const void *entry);
/** Number of entries. */
size_t sagd_registry_count(const void *const *list);
/** The names as "a, b, c" in buf (cap bytes, truncated): the choices error messages list.
 *  Returns buf. */
const char *sagd_registry_names(const void *const *list, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
