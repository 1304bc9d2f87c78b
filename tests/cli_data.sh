#!/bin/sh
# SPDX-License-Identifier: MIT
# Data that does not fit the network is found before training, not after it: minicnn train
# with test labels beyond the network's classes, test images of another size, and validation
# data that does not fit each fail before the first iteration, naming the file and the numbers.
# Usage: tests/cli_data.sh path/to/minicnn
set -eu
minicnn=$1
tmp=$(mktemp -d /tmp/minicnn-cli-data-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export LC_ALL=C
fail() {
    echo "cli_data: FAILED: $*" >&2
    exit 1
}

# IDX files of N SxS images in 2 classes (bright left or right half) and their labels.
make_idx() { # n seed images labels size
    printf '\000\000\010\003\000\000\000\'"$(printf %o "$1")"'\000\000\000\'"$(printf %o "$5")"'\000\000\000\'"$(printf %o "$5")" >"$3"
    printf '\000\000\010\001\000\000\000\'"$(printf %o "$1")" >"$4"
    awk -v n="$1" -v seed="$2" -v s="$5" 'BEGIN {
        srand(seed)
        for (i = 0; i < n; i++)
            for (p = 0; p < s * s; p++) {
                left = (p % s) < s / 2
                printf "%c", ((left && i % 2 == 0) || (!left && i % 2 == 1) ? 200 : 40) + int(rand() * 30) - 15
            }
    }' >>"$3"
    awk -v n="$1" 'BEGIN { for (i = 0; i < n; i++) printf "%c", (i % 2) ? 1 : 2 }' |
        tr '\002' '\000' >>"$4"
}
make_idx 40 1 "$tmp/train-images" "$tmp/train-labels" 8
make_idx 10 2 "$tmp/test-images" "$tmp/test-labels" 8
make_idx 10 3 "$tmp/test10-images" "$tmp/test10-labels" 10
cp "$tmp/test-labels" "$tmp/test-labels-5"
printf '\005' | dd of="$tmp/test-labels-5" bs=1 seek=12 conv=notrunc 2>/dev/null
cat >"$tmp/tiny.net" <<'NET'
layers = [
    imageInputLayer([8 8 1])
    convolution2dLayer(3,4)
    reluLayer
    fullyConnectedLayer(2)
    softmaxLayer
    classificationLayer]
NET

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
