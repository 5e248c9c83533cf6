/* The layout message of a dataset, read from its raw object header before libhdf5 decodes it
 * (see h5_layout.h). Formats: HDF5 File Format Specification, version 0 object headers
 * ("version 1": prefix of 16 bytes, messages with 8-byte headers aligned to 8) and version 2
 * ("OHDR": flags, optional times and attribute limits, a chunk-0 size of 1/2/4/8 bytes,
 * messages with 4-byte headers (+2 for creation order), a checksum per chunk, continuation
 * chunks "OCHK"); continuation message 0x0010 (address, length); Data Layout message 0x0008
 * versions 1..4 (chunked class 2: dimensionality counts the element-size dimension). */
#include "h5_layout.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LAYOUT_MSG 0x0008
#define CONT_MSG 0x0010
#define MAX_BLOCKS 64              /* header chunks followed */
#define MAX_BLOCK (1u << 20)       /* bytes of one header chunk */
#define MAX_DIMS 33                /* H5O_LAYOUT_NDIMS of libhdf5 1.10: rank 32 + element */

static uint64_t le_(const unsigned char *p, size_t n) {
  uint64_t v = 0;
  for (size_t i = n; i-- > 0;) {
    v = v << 8 | p[i];
  }
  return v;
}

/* n bytes at file offset off into buf; 0 on a short read. */
static int read_at_(FILE *fp, uint64_t off, unsigned char *buf, size_t n) {
  return fseeko(fp, (off_t)off, SEEK_SET) == 0 && fread(buf, 1, n, fp) == n;
}

/* One Data Layout message: 0 if libhdf5 can decode it, else 1 with the reason. */
static int layout_bad_(const unsigned char *d, size_t n, size_t sa, char *why, size_t cap) {
  if (n < 2) {
    snprintf(why, cap, "a layout message of %zu bytes", n);
    return 1;
  }
  const unsigned v = d[0];
  unsigned cls, nd;
  size_t dims_at, el = 4;
  if (v == 1 || v == 2) {
    if (n < 3) {
      snprintf(why, cap, "a truncated version-%u layout message", v);
      return 1;
    }
    nd = d[1];
    cls = d[2];
    dims_at = 8 + (cls != 0 ? sa : 0);
  } else if (v == 3) {
    cls = d[1];
    if (cls != 2) {
      return 0; /* compact and contiguous: sizes checked after the open (storage_plausible_) */
    }
    nd = n > 2 ? d[2] : 0;
    dims_at = 3 + sa;
  } else if (v == 4) {
    cls = d[1];
    if (cls != 2) {
      return 0;
    }
    if (n < 5) {
      snprintf(why, cap, "a truncated version-4 layout message");
      return 1;
    }
    nd = d[3];
    el = d[4];
    dims_at = 5;
    if (el < 1 || el > 8) {
      snprintf(why, cap, "chunk dimensions encoded in %zu bytes (expected 1 to 8)", el);
      return 1;
    }
  } else {
    snprintf(why, cap, "layout message version %u (expected 1 to 4)", v);
    return 1;
  }
  if (cls != 2) {
    return 0;
  }
  if (nd < 2 || nd > MAX_DIMS) {
    snprintf(why, cap, "a chunked layout of dimensionality %u (expected 2 to %d)", nd,
             MAX_DIMS);
    return 1;
  }
  if (dims_at + (size_t)nd * el > n) {
    snprintf(why, cap, "a chunked layout message of %zu bytes for %u dimensions", n, nd);
    return 1;
  }
  for (unsigned i = 0; i < nd; i++) {
    if (le_(d + dims_at + i * el, el) == 0) {
      snprintf(why, cap, "chunk dimension %u of 0", i);
      return 1;
    }
  }
  return 0;
}

int sagd_h5_layout_check(const char *path, size_t sa, size_t ss, uint64_t base, uint64_t addr,
                         char *why, size_t cap) {
  why[0] = '\0';
  if (sa < 1 || sa > 8 || ss < 1 || ss > 8) {
    snprintf(why, cap, "offsets of %zu and lengths of %zu bytes", sa, ss);
    return 1;
  }
  FILE *fp = fopen(path, "rb");
  if (fp == NULL) {
    snprintf(why, cap, "cannot read the file");
    return -1;
  }
  unsigned char *buf = NULL; /* one header chunk at a time, grown to the largest */
  size_t bufcap = 0;
  int bad = 0;
  unsigned char pre[16];
  uint64_t at[MAX_BLOCKS], len[MAX_BLOCKS];
  size_t nb = 0, next = 0;
  int v2 = 0, order = 0; /* v2: messages carry a creation order (header flags bit 2) */
  uint64_t nmsgs = UINT64_MAX, seen = 0;
  if (!read_at_(fp, base + addr, pre, sizeof pre)) {
    snprintf(why, cap, "an object header past the end of the file");
    bad = 1;
  } else if (memcmp(pre, "OHDR", 4) == 0) {
    v2 = 1;
    const unsigned flags = pre[5];
    order = (flags & 0x04) != 0;
    size_t p = 6 + ((flags & 0x20) ? 16 : 0) + ((flags & 0x10) ? 4 : 0);
    const size_t szlen = (size_t)1 << (flags & 3);
    unsigned char s[8];
    if (!read_at_(fp, base + addr + p, s, szlen)) {
      snprintf(why, cap, "a truncated object header");
      bad = 1;
    } else {
      at[0] = base + addr + p + szlen;
      len[0] = le_(s, szlen) + 4; /* messages, then the checksum */
      nb = 1;
    }
  } else if (pre[0] == 1) {
    nmsgs = le_(pre + 2, 2);
    at[0] = base + addr + 16;
    len[0] = le_(pre + 8, 4);
    nb = 1;
  } else {
    snprintf(why, cap, "an object header of version %u", pre[0]);
    bad = 1;
  }
  while (bad == 0 && next < nb && seen < nmsgs) {
    const uint64_t b = at[next], n = len[next];
    next++;
    if (n > bufcap && n <= MAX_BLOCK) {
      unsigned char *g = realloc(buf, (size_t)n);
      if (g == NULL) {
        bad = -1;
        break;
      }
      buf = g;
      bufcap = (size_t)n;
    }
    if (n > MAX_BLOCK || !read_at_(fp, b, buf, (size_t)n)) {
      snprintf(why, cap, "an object header chunk of %llu bytes past the end of the file",
               (unsigned long long)n);
      bad = 1;
      break;
    }
    size_t q = 0;
    if (v2 && next > 1) {
      if (n < 8 || memcmp(buf, "OCHK", 4) != 0) {
        snprintf(why, cap, "a continuation chunk without its signature");
        bad = 1;
        break;
      }
      q = 4;
    }
    const size_t end = v2 ? (size_t)n - 4 : (size_t)n; /* v2: the checksum ends a chunk */
    const size_t hdr = v2 ? 4 : 8;
    while (bad == 0 && q + hdr <= end && seen < nmsgs) {
      const unsigned type = v2 ? buf[q] : (unsigned)le_(buf + q, 2);
      const size_t msz = v2 ? (size_t)le_(buf + q + 1, 2) : (size_t)le_(buf + q + 2, 2);
      q += hdr + (size_t)(v2 && order ? 2 : 0);
      if (q + msz > end) {
        snprintf(why, cap, "a header message of %zu bytes past its chunk", msz);
        bad = 1;
        break;
      }
      seen++;
      if (type == LAYOUT_MSG) {
        bad = layout_bad_(buf + q, msz, sa, why, cap);
      } else if (type == CONT_MSG && msz >= sa + ss) {
        if (nb == MAX_BLOCKS) {
          snprintf(why, cap, "more than %d object header chunks", MAX_BLOCKS);
          bad = 1;
          break;
        }
        at[nb] = base + le_(buf + q, sa);
        len[nb] = le_(buf + q + sa, ss);
        nb++;
      }
      q += msz;
    }
  }
  free(buf);
  fclose(fp);
  return bad;
}
