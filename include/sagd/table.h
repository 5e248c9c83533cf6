/**
 * @file table.h
 * @brief What one finished run contributes to `sagd table`: cells of values.
 *
 * An experiment's table op (sagd_experiment_type.table_read) reads its verified result file
 * and adds cells. A cell is named by a setting (the row group: "exponential", "high-dim
 * exponential (p=100)"), a metric ("D") and a method ("sagd"), and holds the run's values
 * of it (one for a scalar, p for per-dimension values). `sagd table` pools the values of
 * every run by (setting, metric, method) and prints their mean (SE) in the experiment's
 * layout, next to the paper's value where the cell has one. Nothing here is collective.
 */
#ifndef SAGD_TABLE_H
#define SAGD_TABLE_H

#include <stddef.h>

#include "sagd/h5.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  const char *setting;      /**< row group; also the CSV "setting" */
  int setting_order;        /**< settings with order >= 0 come first, ascending (the paper's
                                 order); -1: after them, in order of appearance */
  const char *metric;       /**< key (CSV "metric") */
  const char *metric_label; /**< printed (NULL: the key) */
  const char *method;       /**< key (CSV "method") */
  const char *method_label; /**< printed (NULL: the key) */
  const double *values;     /**< the run's values of the cell, n >= 1 */
  size_t n;
  double paper;             /**< the paper's value of the cell, or NAN */
} sagd_table_cell;

/** How an experiment's table is printed. */
typedef struct {
  const char *title;      /**< Markdown heading (printed after "## ") */
  const char *intro;      /**< the paragraph under it */
  int methods_as_rows;    /**< 0: a row per (setting, metric), a column per method (Table 1);
                               1: a row per method, a column per metric */
  const char *row_header; /**< methods_as_rows: heading of the method column */
  int decimals;           /**< digits after the point of means and SEs */
} sagd_table_layout;

typedef struct sagd_table_cells_s *sagd_table_cells;

int sagd_table_cells_create(sagd_table_cells *t);
/** Accepts NULL and *t == NULL. */
void sagd_table_cells_destroy(sagd_table_cells *t);
/** Add a copy of a cell (its strings and values are copied). */
int sagd_table_cells_add(sagd_table_cells t, const sagd_table_cell *c);
size_t sagd_table_cells_count(const struct sagd_table_cells_s *t);
/** Cell i (0 <= i < count), in the order added; valid until the next add or destroy. */
const sagd_table_cell *sagd_table_cells_get(const struct sagd_table_cells_s *t, size_t i);

/** Read a dataset of at most one dimension (a scalar or a vector) into a malloc'ed array of
 *  *n values; SAGD_ERR_CORRUPT naming the path otherwise. Collective over the file's
 *  communicator (sagd table uses MPI_COMM_SELF). */
int sagd_table_read_values(sagd_h5 f, const char *path, double **v, size_t *n);
/** Read exactly `want` values of a scalar or vector dataset into out. */
int sagd_table_read_fixed(sagd_h5 f, const char *path, double *out, size_t want);

#ifdef __cplusplus
}
#endif
#endif
