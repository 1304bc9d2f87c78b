#!/bin/sh
# SPDX-License-Identifier: MIT
# The image-folder commands end to end, on a tiny synthetic data set made here: IDX files ->
# minicnn data export-png -> minicnn train --data DIR -> minicnn predict / classify, and the
# errors a user meets on the way. Usage: tests/cli_png.sh path/to/minicnn
set -eu
minicnn=$1
tmp=$(mktemp -d /tmp/minicnn-cli-png-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export LC_ALL=C
fail() {
    echo "cli_png: FAILED: $*" >&2
    exit 1
}

# IDX files of N 8x8 images: class 0 is bright on the left, class 1 on the right, with noise
# (pixel values 20..235, never 0, so that awk's %c writes them all).
make_idx() { # n seed images labels
    printf '\000\000\010\003\000\000\000\'"$(printf %o "$1")"'\000\000\000\010\000\000\000\010' >"$3"
    printf '\000\000\010\001\000\000\000\'"$(printf %o "$1")" >"$4"
    awk -v n="$1" -v seed="$2" 'BEGIN {
        srand(seed)
        for (i = 0; i < n; i++) {
            c = i % 2
            for (p = 0; p < 64; p++) {
                left = (p % 8) < 4
                v = ((left && c == 0) || (!left && c == 1)) ? 200 : 40
                printf "%c", v + int(rand() * 30) - 15
            }
        }
    }' >>"$3"
    awk -v n="$1" 'BEGIN { for (i = 0; i < n; i++) printf "%c", (i % 2) ? 1 : 2 }' |
        tr '\002' '\000' >>"$4"
}
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
cat >"$tmp/tiny.net" <<'EOF'
layers = [
    imageInputLayer([8 8 1])
    convolution2dLayer(3,4)
    reluLayer
    fullyConnectedLayer(2)
    softmaxLayer
    classificationLayer]
EOF
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
