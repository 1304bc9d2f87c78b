#!/bin/sh
# SPDX-License-Identifier: MIT
# minicnn train on a CSV table end to end, on a synthetic table made here (three classes of
# points in four features around different centres, text labels, quoted cells, a missing value),
# and the errors a user meets on the way. Usage: tests/cli_csv.sh path/to/minicnn
set -eu
minicnn=$1
. "$(dirname "$0")/cli_common.sh"
cli_begin cli_csv

awk 'BEGIN {
    srand(3)
    print "f1,\"f 2\",kind,f3,f4"
    split("alpha beta gamma", name, " ")
    for (i = 0; i < 300; i++) {
        c = i % 3
        printf "%.4f,%.4f,\"%s\",%.4f,%.4f\n", c * 2 + rand(), -c + rand(), name[c + 1],
            (c == 1) * 3 + rand(), rand()
    }
}' >"$tmp/t.csv"
cat >"$tmp/t.net" <<'NET'
layers = [
    featureInputLayer(4, 'Normalization', 'zscore')
    fullyConnectedLayer(8)
    reluLayer
    fullyConnectedLayer(3)
    softmaxLayer
    classificationLayer];
NET
shift_run() { t=$1; shift; "$minicnn" train --net "$tmp/t.net" --solver adam --max-epochs 20 \
    --mini-batch-size 16 --threads "$t" "$@" >"$tmp/out" 2>"$tmp/err"; }

# trains well above chance (1/3), the classes named after the response's text
shift_run 2 --data "$tmp/t.csv" --response kind --save "$tmp/m2.mcnn" ||
    fail "train: $(cat "$tmp/err")"
grep -q "Table $tmp/t.csv: 300 rows of 4 predictors, 3 classes (alpha, beta, gamma); 225 training and 75 test rows" "$tmp/out" ||
    fail "summary line: $(cat "$tmp/out")"
acc=$(sed -n 's/^Test accuracy: \([0-9.]*\)%.*/\1/p' "$tmp/out")
[ -n "$acc" ] || fail "no test accuracy: $(cat "$tmp/out")"
awk -v a="$acc" 'BEGIN { exit !(a >= 90) }' || fail "test accuracy $acc% below 90%"
# the same model on one thread, byte for byte
shift_run 1 --data "$tmp/t.csv" --response kind --save "$tmp/m1.mcnn" ||
    fail "train, 1 thread: $(cat "$tmp/err")"
cmp -s "$tmp/m1.mcnn" "$tmp/m2.mcnn" || fail "1 and 2 threads saved different models"

# errors: a misspelt response, a missing value, a ragged row, a text predictor, wrong widths
expect_error() { # message, then the train flags
    want=$1
    shift
    if shift_run 1 "$@"; then fail "no error for: $*"; fi
    grep -qF -e "$want" "$tmp/err" || fail "expected '$want', got: $(cat "$tmp/err")"
}
expect_error "no column named 'knd' for the response (did you mean 'kind'?)" \
    --data "$tmp/t.csv" --response knd
sed '5s/^[^,]*,/NA,/' "$tmp/t.csv" >"$tmp/na.csv"
expect_error "na.csv:5, column 'f1': missing value ('NA')" --data "$tmp/na.csv" --response kind
shift_run 1 --data "$tmp/na.csv" --response kind --omit-missing ||
    fail "--omit-missing: $(cat "$tmp/err")"
grep -q "299 rows of 4 predictors.*; 1 rows with a missing value left out" "$tmp/out" ||
    fail "--omit-missing summary: $(cat "$tmp/out")"
sed '7s/,[^,]*$//' "$tmp/t.csv" >"$tmp/ragged.csv"
expect_error "ragged.csv:7: 4 fields where the header has 5" --data "$tmp/ragged.csv" \
    --response kind
expect_error "t.csv:2, column 'kind': 'alpha' is not a number" --data "$tmp/t.csv"
cut -d, -f1-4 "$tmp/t.csv" >"$tmp/narrow.csv"
expect_error "has 3 predictor columns but the network's featureInputLayer takes 4 features; make its input size 3" \
    --data "$tmp/narrow.csv" --response kind
expect_error "--response and --omit-missing apply to CSV tables" --data mnist --response kind
cp "$tmp/t.net" "$tmp/keep.net"
sed 's/featureInputLayer(4[^)]*)/imageInputLayer([2 2 1])/' "$tmp/keep.net" >"$tmp/t.net"
expect_error "a CSV table needs a featureInputLayer" --data "$tmp/t.csv" --response kind
echo "cli_csv: all passed"
