#!/bin/sh
# SPDX-License-Identifier: MIT
# minicnn train with separate validation data and --split counts, end to end on tiny synthetic
# data made here: --validation-data DIR, FILE.csv and test, the IDX pair
# --validation-images/--validation-labels, --split N (a count per class, as
# splitEachLabel(imds, N)), --batch-normalization-statistics, and the errors of each.
# Usage: tests/cli_validation.sh path/to/minicnn
set -eu
minicnn=$1
. "$(dirname "$0")/cli_common.sh"
cli_begin cli_validation

make_idx 40 1 "$tmp/train-images" "$tmp/train-labels"
make_idx 12 2 "$tmp/test-images" "$tmp/test-labels"
make_idx 10 3 "$tmp/val-images" "$tmp/val-labels"
"$minicnn" data export-png --train-images "$tmp/train-images" --train-labels "$tmp/train-labels" \
    --test-images "$tmp/test-images" --test-labels "$tmp/test-labels" "$tmp/img" >/dev/null
"$minicnn" data export-png --train-images "$tmp/val-images" --train-labels "$tmp/val-labels" \
    "$tmp/v" >/dev/null
cat >"$tmp/tiny.net" <<'NET'
layers = [
    imageInputLayer([8 8 1])
    convolution2dLayer(3,4)
    batchNormalizationLayer
    reluLayer
    fullyConnectedLayer(2)
    softmaxLayer
    classificationLayer]
NET
run() { "$minicnn" train --net "$tmp/tiny.net" --max-epochs 4 --mini-batch-size 8 \
    --validation-frequency 2 --threads 1 "$@" >"$tmp/out" 2>"$tmp/err"; }
expect_error() { # message, then the train flags
    want=$1
    shift
    if run "$@"; then fail "no error for: $*"; fi
    grep -qF -e "$want" "$tmp/err" || fail "expected '$want', got: $(cat "$tmp/err")"
}
val_column() { # the last row's validation accuracy in the table
    grep '^| *[0-9]' "$tmp/out" | tail -n 1 | awk -F'|' '{ gsub(/ /, "", $6); print $6 }'
}

# a separate validation folder: read, validated on, shown in the table
run --data "$tmp/img" --validation-data "$tmp/v/train" --report "$tmp/r.json" ||
    fail "validation folder: $(cat "$tmp/err")"
grep -q "^Validation folder $tmp/v/train: 10 images in 2 class folders, read at 8x8x1" "$tmp/out" ||
    fail "validation folder line: $(cat "$tmp/out")"
grep -q "Validation" "$tmp/out" && grep -q 'Accuracy' "$tmp/out" || fail "no validation columns"
v=$(val_column)
[ -n "$v" ] && [ "$v" != "" ] || fail "no validation accuracy in the last row: $(grep '^|' "$tmp/out" | tail -n 2)"
grep -q '"batch_normalization_statistics": "population"' "$tmp/r.json" ||
    fail "report: $(grep -o '"batch_normalization_statistics[^,]*' "$tmp/r.json")"
# the IDX pair
run --train-images "$tmp/train-images" --train-labels "$tmp/train-labels" \
    --test-images "$tmp/test-images" --test-labels "$tmp/test-labels" \
    --validation-images "$tmp/val-images" --validation-labels "$tmp/val-labels" ||
    fail "validation IDX pair: $(cat "$tmp/err")"
[ -n "$(val_column)" ] || fail "IDX pair: no validation accuracy"
run --data "$tmp/img" --validation-data test --batch-normalization-statistics moving ||
    fail "validation test: $(cat "$tmp/err")"

# errors of the validation flags
expect_error "give both --validation-images and --validation-labels" \
    --data "$tmp/img" --validation-images "$tmp/val-images"
expect_error "give either --validation-data or --validation-images and --validation-labels, not both" \
    --data "$tmp/img" --validation-data test --validation-images "$tmp/val-images" \
    --validation-labels "$tmp/val-labels"
expect_error "--validation-data takes none, test, an image folder or a CSV table; '$tmp/nothere' is neither a folder nor a .csv file" \
    --data "$tmp/img" --validation-data "$tmp/nothere"
expect_error "--validation-data $tmp/img/train is the training data (--data): it would validate on the images it trains on" \
    --data "$tmp/img/train" --split 0.5 --validation-data "$tmp/img/train"
expect_error "--validation-data $tmp/img has a train/ folder: give a folder of class folders" \
    --data "$tmp/img/train" --validation-data "$tmp/img"
mkdir -p "$tmp/odd/0" "$tmp/odd/7"
cp "$tmp/v/train/0/0.png" "$tmp/odd/0/" 2>/dev/null || cp "$(find "$tmp/v/train/0" -name '*.png' | head -n 1)" "$tmp/odd/0/"
cp "$(find "$tmp/v/train/1" -name '*.png' | head -n 1)" "$tmp/odd/7/"
expect_error "class '7'" --data "$tmp/img" --validation-data "$tmp/odd"
expect_error "unknown BatchNormalizationStatistics 'movin' (did you mean 'moving'?)" \
    --data "$tmp/img" --batch-normalization-statistics movin

# --split N: N images of each class to training, the rest test
run --data "$tmp/img/train" --split 15 || fail "split 15: $(cat "$tmp/err")"
grep -q "30 training and 10 test images, 15 of each class to training" "$tmp/out" ||
    fail "split 15: $(grep 'Image folder' "$tmp/out")"
expect_error "--split 21: cannot take 21 files of each class for training: class '0' has only 20" \
    --data "$tmp/img/train" --split 21
expect_error "splitting $tmp/img/train with --split 20 leaves no test images" \
    --data "$tmp/img/train" --split 20
expect_error "or a whole number of images per class (1 or more), not 2.5" \
    --data "$tmp/img/train" --split 2.5

# tables: --split N, and a validation table with the same --response
awk 'BEGIN {
    srand(5)
    print "a,b,kind"
    for (i = 0; i < 60; i++) { c = i % 3; printf "%.3f,%.3f,k%d\n", c + rand() / 2, -c + rand() / 2, c }
}' >"$tmp/t.csv"
awk 'BEGIN {
    srand(6)
    print "a,b,kind"
    for (i = 0; i < 15; i++) { c = i % 3; printf "%.3f,%.3f,k%d\n", c + rand() / 2, -c + rand() / 2, c }
}' >"$tmp/v.csv"
printf 'a,b,c,kind\n1,2,3,k0\n' >"$tmp/wide.csv"
cat >"$tmp/t.net" <<'NET'
layers = [
    featureInputLayer(2, 'Normalization', 'zscore')
    fullyConnectedLayer(3)
    softmaxLayer
    classificationLayer];
NET
trun() { "$minicnn" train --net "$tmp/t.net" --solver adam --max-epochs 3 --mini-batch-size 8 \
    --validation-frequency 2 --threads 1 --response kind "$@" >"$tmp/out" 2>"$tmp/err"; }
trun --data "$tmp/t.csv" --split 12 --validation-data "$tmp/v.csv" ||
    fail "table with a validation table: $(cat "$tmp/err")"
grep -q "36 training and 24 test rows, 12 of each class to training" "$tmp/out" ||
    fail "table split 12: $(grep '^Table' "$tmp/out")"
grep -q "^Validation table $tmp/v.csv: 15 rows of 2 predictors." "$tmp/out" ||
    fail "validation table line: $(cat "$tmp/out")"
[ -n "$(val_column)" ] || fail "table: no validation accuracy"
if trun --data "$tmp/t.csv" --split 21; then fail "table --split 21 succeeded"; fi
grep -qF "split 21 takes 21 rows of each class for training, but class 'k0' has only 20" "$tmp/err" ||
    fail "table split 21: $(cat "$tmp/err")"
if trun --data "$tmp/t.csv" --validation-data "$tmp/wide.csv"; then fail "wide validation table"; fi
grep -qF "the validation table $tmp/wide.csv has 3 predictor columns but the network's featureInputLayer takes 2 features" "$tmp/err" ||
    fail "wide validation table: $(cat "$tmp/err")"
if trun --data "$tmp/t.csv" --validation-data "$tmp/img/test"; then fail "folder with a table"; fi
grep -qF "is an image folder but the training data is a CSV table" "$tmp/err" ||
    fail "folder with a table: $(cat "$tmp/err")"
expect_error "is a CSV table, which goes with a CSV training table" \
    --data "$tmp/img" --validation-data "$tmp/v.csv"
# classify on a table: the held-out rows of the same --split and --seed give train's test
# accuracy; the whole table without --split; the same column checks as train
trun --data "$tmp/t.csv" --split 12 --seed 4 --save "$tmp/t.mcnn" || fail "train for classify: $(cat "$tmp/err")"
acc=$(sed -n 's/^Test accuracy: \([0-9.]*\)% (24 images).*/\1/p' "$tmp/out")
[ -n "$acc" ] || fail "train for classify: $(grep 'Test accuracy' "$tmp/out")"
"$minicnn" classify "$tmp/t.mcnn" --data "$tmp/t.csv" --response kind --split 12 --seed 4 \
    >"$tmp/out" 2>"$tmp/err" || fail "classify --split: $(cat "$tmp/err")"
grep -q "^Accuracy: $acc% (24 rows)" "$tmp/out" || fail "classify --split: want $acc%, got $(grep '^Accuracy' "$tmp/out")"
"$minicnn" classify "$tmp/t.mcnn" --data "$tmp/v.csv" --response kind >"$tmp/out" 2>"$tmp/err" ||
    fail "classify a table: $(cat "$tmp/err")"
grep -q "^Test table $tmp/v.csv: 15 rows of 2 predictors." "$tmp/out" && grep -q "^Accuracy: .* (15 rows)" "$tmp/out" ||
    fail "classify a table: $(cat "$tmp/out")"
grep -q "^ *k0 " "$tmp/out" || fail "classify a table: no confusion matrix row for k0: $(cat "$tmp/out")"
cexpect() { # message, then the classify flags
    want=$1
    shift
    if "$minicnn" classify "$tmp/t.mcnn" "$@" >"$tmp/out" 2>"$tmp/err"; then fail "no error for classify $*"; fi
    grep -qF -e "$want" "$tmp/err" || fail "classify: expected '$want', got: $(cat "$tmp/err")"
}
cexpect "the test table $tmp/wide.csv has 3 predictor columns but the network's featureInputLayer takes 2 features" \
    --data "$tmp/wide.csv" --response kind
cexpect "no column named 'knd' for the response (did you mean 'kind'?)" --data "$tmp/v.csv" --response knd
sed '3s/^[^,]*,/NA,/' "$tmp/v.csv" >"$tmp/na.csv"
cexpect "na.csv:3, column 'a': missing value ('NA')" \
    --data "$tmp/na.csv" --response kind
"$minicnn" classify "$tmp/t.mcnn" --data "$tmp/na.csv" --response kind --omit-missing >"$tmp/out" 2>"$tmp/err" ||
    fail "classify --omit-missing: $(cat "$tmp/err")"
grep -q "14 rows of 2 predictors; 1 rows with a missing value left out" "$tmp/out" || fail "omit-missing: $(cat "$tmp/out")"
printf 'a,b,kind\n1,2,k9\n' >"$tmp/k9.csv"
cexpect "k9" --data "$tmp/k9.csv" --response kind
cexpect "--response and --omit-missing apply to CSV tables" --data "$tmp/img" --response kind
echo "cli_validation: passed"
