#!/bin/sh
# SPDX-License-Identifier: MIT
# Data that does not fit the network is found before training, not after it: minicnn train
# with test labels beyond the network's classes, test images of another size, and validation
# data that does not fit each fail before the first iteration, naming the file and the numbers.
# Usage: tests/cli_data.sh path/to/minicnn
set -eu
minicnn=$1
. "$(dirname "$0")/cli_common.sh"
cli_begin cli_data

make_idx 40 1 "$tmp/train-images" "$tmp/train-labels" 8
make_idx 10 2 "$tmp/test-images" "$tmp/test-labels" 8
make_idx 10 3 "$tmp/test10-images" "$tmp/test10-labels" 10
cp "$tmp/test-labels" "$tmp/test-labels-5"
printf '\005' | dd of="$tmp/test-labels-5" bs=1 seek=12 conv=notrunc 2>/dev/null
tiny_net "$tmp/tiny.net"

# train_fails WHAT EXPECTED TEST-IMAGES TEST-LABELS [FLAGS]: exit 1, the message, no iteration.
train_fails() {
    what=$1 want=$2 images=$3 labels=$4
    shift 4
    if "$minicnn" train --net "$tmp/tiny.net" --train-images "$tmp/train-images" \
        --train-labels "$tmp/train-labels" --test-images "$images" --test-labels "$labels" \
        --max-epochs 2 --mini-batch-size 8 "$@" >"$tmp/out" 2>"$tmp/err"; then
        fail "$what: training succeeded"
    fi
    if grep -q '^|  *1 |' "$tmp/out"; then
        fail "$what: found only after training: $(cat "$tmp/err")"
    fi
    grep -qF "$want" "$tmp/err" || fail "$what: $(cat "$tmp/err")"
}
train_fails "test label 5" \
    "test-labels-5: observation 5 has label 5, outside the network's 2 classes (0 to 1): the test data do not fit the network" \
    "$tmp/test-images" "$tmp/test-labels-5"
train_fails "test label 5 as validation data" "observation 5 has label 5" \
    "$tmp/test-images" "$tmp/test-labels-5" --validation-data test
train_fails "10x10 test images" \
    "test10-images: the test data are images of 10x10 but the network's input layer takes 8x8" \
    "$tmp/test10-images" "$tmp/test10-labels"
# classify checks the same before evaluating
"$minicnn" train --net "$tmp/tiny.net" --train-images "$tmp/train-images" \
    --train-labels "$tmp/train-labels" --test-images "$tmp/test-images" \
    --test-labels "$tmp/test-labels" --max-epochs 2 --mini-batch-size 8 \
    --save "$tmp/tiny.mcnn" >"$tmp/out" 2>"$tmp/err" || fail "training: $(cat "$tmp/err")"
if "$minicnn" classify "$tmp/tiny.mcnn" --test-images "$tmp/test-images" \
    --test-labels "$tmp/test-labels-5" >"$tmp/out" 2>"$tmp/err"; then
    fail "classify with label 5 succeeded"
fi
grep -qF "observation 5 has label 5" "$tmp/err" || fail "classify: $(cat "$tmp/err")"
echo "cli_data: 5 passed, 0 failed"
