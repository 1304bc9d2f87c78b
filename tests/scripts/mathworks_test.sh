#!/bin/sh
# SPDX-License-Identifier: MIT
# MathWorks' "Create Simple Deep Learning Network for Classification" example, copied as written
# (mathworks_digits.m), on the full DigitDataset made from the real MNIST digits: it prints
# MATLAB's output (the label counts, the image size, the accuracy) and the training-progress
# figure, and its accuracy reaches MIN.   mathworks_test.sh MINICNN SCRIPTS-DIR MIN
set -eu
cli=$1
dir=$(cd "$2" && pwd)
min=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$cli" data digitdataset --out "$work/root/toolbox/nnet/nndemos/nndatasets/DigitDataset" >/dev/null
cp "$dir/mathworks_digits.m" "$work/"
(cd "$work" && MINICNN_MATLABROOT="$work/root" "$cli" run mathworks_digits.m >stdout 2>stderr)
# everything but the accuracy's value is exactly what the script must print
head -n -2 "$work/stdout" >"$work/head"
if ! cmp -s "$work/head" "$dir/mathworks_digits.head"; then
    echo "mathworks_test: the output differs (< expected, > got):" >&2
    diff "$dir/mathworks_digits.head" "$work/head" >&2 || true
    exit 1
fi
if ! cmp -s "$work/stderr" "$dir/mathworks_digits.err"; then
    echo "mathworks_test: standard error differs (< expected, > got):" >&2
    diff "$dir/mathworks_digits.err" "$work/stderr" >&2 || true
    exit 1
fi
accuracy=$(tail -n 2 "$work/stdout" | head -n 1 | tr -d ' ')
if ! awk -v a="$accuracy" -v m="$min" 'BEGIN { exit !(a + 0 >= m + 0) }'; then
    echo "mathworks_test: accuracy $accuracy, below $min" >&2
    exit 1
fi
if [ ! -s "$work/mathworks_digits_training_progress.png" ]; then
    echo "mathworks_test: no training-progress figure" >&2
    exit 1
fi
echo "mathworks_test: MathWorks' example as written: accuracy $accuracy (at least $min), figure written"
