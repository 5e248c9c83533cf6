/* Registries of type tables looked up by name (see registry.h). */
#include <stdio.h>
#include <string.h>

#include "sagd/registry.h"

/* A pointer to a struct, suitably converted, points to its first member (C11 6.7.2.1). */
const char *sagd_registry_name(const void *entry) { return *(const char *const *)entry; }

const void *sagd_registry_find(const void *const *list, const char *name) {
  for (size_t i = 0; name != NULL && list[i] != NULL; i++) {
    if (strcmp(sagd_registry_name(list[i]), name) == 0) {
      return list[i];
    }
  }
  return NULL;
}

size_t sagd_registry_count(const void *const *list) {
  size_t n = 0;
  while (list[n] != NULL) {
    n++;
  }
  return n;
}

const char *sagd_registry_names(const void *const *list, char *buf, size_t cap) {
  size_t len = 0;
  if (cap > 0) {
    buf[0] = '\0';
  }
  for (size_t i = 0; list[i] != NULL && len + 1 < cap; i++) {
    const int k = snprintf(buf + len, cap - len, "%s%s", i ? ", " : "",
                           sagd_registry_name(list[i]));
    len = k < 0 ? cap : len + (size_t)k;
  }
  return buf;
}
