/* What each experiment contributes to `sagd table` (the table op of its experiment type,
 * experiment.h): layouts, the paper's values and the readers. Private to src/experiments. */
#ifndef SAGD_EXPERIMENTS_TABLES_H
#define SAGD_EXPERIMENTS_TABLES_H

#include "sagd/config.h"
#include "sagd/h5.h"
#include "sagd/table.h"

extern const sagd_table_layout exp_deconv_table, exp_em_gamma_table, exp_mnist_table;
int exp_deconv_table_read(sagd_h5 f, sagd_config cfg, sagd_table_cells out);
int exp_em_gamma_table_read(sagd_h5 f, sagd_config cfg, sagd_table_cells out);
int exp_mnist_table_read(sagd_h5 f, sagd_config cfg, sagd_table_cells out);

#endif
