/**
 * @file images.h
 * @brief Grey-level image sets (MNIST and its kind): read from IDX files or from sagd's HDF5.
 *
 * Two sources, told apart by the file's first bytes:
 *  - an IDX file (the format of the original MNIST and of Debian's dataset-fashion-mnist):
 *    magic 0x00000803 (unsigned bytes, 3 dimensions n × rows × cols, big-endian sizes), plain
 *    or gzip-compressed (read through zlib); labels come from a separate idx1 file
 *    (magic 0x00000801, n bytes);
 *  - an HDF5 file written by jobs/mnist-convert.py (the set-up's data/mnist/mnist.h5): the
 *    split's group holds `images` (uint8 [n, rows, cols]) and `labels` (uint8 [n]).
 * Pixels are kept as bytes k and given out as k/255 (both sources store bytes, so the two
 * agree exactly). Every defect of a file (unknown magic, a size that does not match the
 * bytes present, a truncated or over-long file, labels of another count or outside 0..9) is
 * SAGD_ERR_DATA (exit 2) naming the file and what was expected. Not collective: every rank
 * that needs the images reads them.
 */
#ifndef SAGD_IMAGES_H
#define SAGD_IMAGES_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sagd_images_s *sagd_images;

/** Read at most max_n images (0 = all) from `path`. split names the HDF5 group ("train" or
 *  "test") and must be NULL for an IDX file; labels_path is an idx1 file for an IDX images
 *  file (NULL: no labels) and must be NULL for HDF5 (its labels are in the file). */
int sagd_images_read(const char *path, const char *split, const char *labels_path,
                     size_t max_n, sagd_images *img);
void sagd_images_destroy(sagd_images *img);

size_t sagd_images_count(sagd_images img);
size_t sagd_images_rows(sagd_images img);
size_t sagd_images_cols(sagd_images img);
/** Labels 0..9 of the images, or NULL when the source has none. */
const uint8_t *sagd_images_labels(sagd_images img);
/** The raw bytes, image by image, row-major ([count × rows × cols]). */
const uint8_t *sagd_images_bytes(sagd_images img);

/** Images first .. first+count-1 as doubles k/255 into out[count × rows × cols]
 *  (SAGD_ERR_ARG when the range is outside the set). */
int sagd_images_get(sagd_images img, size_t first, size_t count, double *out);

/** *hdf5 = 1 if `path` is an HDF5 file (read it by split), 0 otherwise (an IDX file, or
 *  something sagd_images_read will refuse). SAGD_ERR_DATA if it cannot be read. */
int sagd_images_probe(const char *path, int *hdf5);

/** "IDX" or "HDF5": where the images came from. */
const char *sagd_images_format(sagd_images img);

#ifdef __cplusplus
}
#endif
#endif
