#!/bin/sh
# SPDX-License-Identifier: MIT
# The image-folder commands end to end, on a tiny synthetic data set made here: IDX files ->
# minicnn data export-png -> minicnn train --data DIR -> minicnn predict / classify, and the
# errors a user meets on the way. Usage: tests/cli_png.sh path/to/minicnn
set -eu
minicnn=$1
. "$(dirname "$0")/cli_common.sh"
cli_begin cli_png

make_idx 40 1 "$tmp/train-images" "$tmp/train-labels"
make_idx 10 2 "$tmp/test-images" "$tmp/test-labels"

# export
"$minicnn" data export-png --train-images "$tmp/train-images" --train-labels "$tmp/train-labels" \
    --test-images "$tmp/test-images" --test-labels "$tmp/test-labels" "$tmp/out" >"$tmp/log"
grep -q "Wrote 40 train images in 2 class folders" "$tmp/log" || fail "export: $(cat "$tmp/log")"
[ -f "$tmp/out/train/0/00.png" ] && [ -f "$tmp/out/train/1/39.png" ] &&
    [ -f "$tmp/out/test/1/9.png" ] || fail "export wrote $(find "$tmp/out" | head)"
if "$minicnn" data export-png --train-images "$tmp/train-images" \
    --train-labels "$tmp/train-labels" "$tmp/out" 2>"$tmp/err"; then
    fail "export into a non-empty folder succeeded"
fi
grep -q "exists and is not empty" "$tmp/err" || fail "export: $(cat "$tmp/err")"
"$minicnn" data export-png --train-images "$tmp/train-images" \
    --train-labels "$tmp/train-labels" --force "$tmp/out" >/dev/null

# train on the folder, with the classes from the folder names
tiny_net "$tmp/tiny.net"
"$minicnn" train --net "$tmp/tiny.net" --data "$tmp/out" --max-epochs 30 --mini-batch-size 8 \
    --verbose false --min-accuracy 0.9 --save "$tmp/model.mcnn" >"$tmp/log" ||
    fail "train: $(cat "$tmp/log")"
grep -q "Image folder $tmp/out: 2 classes (0, 1); 40 training images" "$tmp/log" ||
    fail "train: $(cat "$tmp/log")"
# one folder split per class
"$minicnn" train --net "$tmp/tiny.net" --data "$tmp/out/train" --split 0.5 --max-epochs 1 \
    --mini-batch-size 8 --verbose false >"$tmp/log" || fail "split: $(cat "$tmp/log")"
grep -q "20 training and 20 test images" "$tmp/log" || fail "split: $(cat "$tmp/log")"

# predict: the right class first; a broken file is named and does not hide the others
"$minicnn" predict "$tmp/model.mcnn" "$tmp/out/test/1/9.png" --top-k 1 >"$tmp/log"
[ "$(sed -n 2p "$tmp/log" | awk '{print $1}')" = 1 ] || fail "predict: $(cat "$tmp/log")"
echo "not an image" >"$tmp/bad.png"
if "$minicnn" predict "$tmp/model.mcnn" "$tmp/bad.png" "$tmp/out/test/0/0.png" --json \
    >"$tmp/log" 2>"$tmp/err"; then
    fail "predict with a broken image exited 0"
fi
grep -q "$tmp/bad.png: not a PNG file" "$tmp/err" || fail "predict: $(cat "$tmp/err")"
grep -q '"file": "'"$tmp"'/out/test/0/0.png", "predictions": \[{"class": "0"' "$tmp/log" ||
    fail "predict --json: $(cat "$tmp/log")"
"$minicnn" classify "$tmp/model.mcnn" --data "$tmp/out" >"$tmp/log" ||
    fail "classify: $(cat "$tmp/log")"
grep -q "Accuracy: " "$tmp/log" || fail "classify: $(cat "$tmp/log")"

# errors a user meets
mkdir "$tmp/out/train/empty"
if "$minicnn" train --net "$tmp/tiny.net" --data "$tmp/out" 2>"$tmp/err" >/dev/null; then
    fail "an empty class folder was accepted"
fi
grep -q "class folder '$tmp/out/train/empty' holds no PNG files" "$tmp/err" ||
    fail "empty class: $(cat "$tmp/err")"
if "$minicnn" train --data "$tmp/out" --split 0.5 2>"$tmp/err" >/dev/null; then
    fail "--split with train/ and test/ was accepted"
fi
echo "cli_png: ok"
