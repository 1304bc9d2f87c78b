/* SPDX-License-Identifier: MIT */
/* minicnn run (apps/run.c) and minicnn data digitdataset (apps/digits.c). */
#ifndef MINICNN_SCRIPT_CLI_H
#define MINICNN_SCRIPT_CLI_H

int cmd_run(int argc, char **argv);

/* minicnn data digitdataset: argv[0] is "digitdataset". */
int cmd_data_digitdataset(int argc, char **argv);

/* The folder `matlabroot` names for scripts, on the heap (free it), NULL after printing "out of
 * memory": $MINICNN_MATLABROOT when set, else EXE_DIR/matlabroot in the build tree (next to the
 * executable) or EXE_DIR/../share/minicnn/matlabroot when installed, whichever exists (the
 * first when neither does). */
char *cli_matlabroot(void);

/* Where `minicnn data digitdataset` writes: MATLABROOT/toolbox/nnet/nndemos/nndatasets/
 * DigitDataset. */
#define CLI_DIGITDATASET_PATH "toolbox/nnet/nndemos/nndatasets/DigitDataset"

#endif
