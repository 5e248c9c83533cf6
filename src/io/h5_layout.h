/* A dataset's layout message read from its raw object header, before libhdf5 decodes it.
 * Private to src/io.
 *
 * libhdf5 1.10.8 divides by zero (SIGFPE in H5D__chunk_set_info) or writes past its layout
 * (SIGSEGV in H5D__chunk_set_sizes) when it opens a dataset whose chunked layout declares a
 * dimensionality of 0, a chunk dimension of 0 or more dimensions than it holds (found by
 * fuzz_images). No API looks at a layout without decoding it, so sagd reads the object header
 * itself first. */
#ifndef SAGD_IO_H5_LAYOUT_H
#define SAGD_IO_H5_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

/* The object header at `addr` (relative to the base address `base`) of the HDF5 file `path`,
 * whose offsets and lengths take sa and ss bytes: 0 if its layout message (if any) is one
 * libhdf5 can decode; 1 if not, or if the header cannot be walked, with the reason in why;
 * -1 if the file cannot be read. Not collective (every rank may call it). */
int sagd_h5_layout_check(const char *path, size_t sa, size_t ss, uint64_t base, uint64_t addr,
                         char *why, size_t cap);

#endif
