# SPDX-License-Identifier: MIT
# What the command-line tests share (sourced by tests/cli_*.sh): a temporary folder removed on
# exit, fail(), IDX files of a tiny two-class data set, and the tiny network that fits it.

# cli_begin NAME: $tmp, removed on exit; C locale; fail() prefixed with NAME.
cli_begin() {
    cli_name=$1
    tmp=$(mktemp -d "/tmp/minicnn-$1-XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    export LC_ALL=C
}

fail() {
    echo "$cli_name: FAILED: $*" >&2
    exit 1
}

# make_idx N SEED IMAGES LABELS [SIZE]: IDX files of N SIZExSIZE images (default 8) in two
# classes, class 0 bright on the left half, class 1 on the right, with noise (pixel values
# 20..235, never 0, so that awk's %c writes them all); labels 0 and 1 alternate.
make_idx() {
    s=${5:-8}
    printf '\000\000\010\003\000\000\000\'"$(printf %o "$1")"'\000\000\000\'"$(printf %o "$s")"'\000\000\000\'"$(printf %o "$s")" >"$3"
    printf '\000\000\010\001\000\000\000\'"$(printf %o "$1")" >"$4"
    awk -v n="$1" -v seed="$2" -v s="$s" 'BEGIN {
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

# tiny_net FILE: a network for the 8x8 images of make_idx.
tiny_net() {
    cat >"$1" <<'NET'
layers = [
    imageInputLayer([8 8 1])
    convolution2dLayer(3,4)
    reluLayer
    fullyConnectedLayer(2)
    softmaxLayer
    classificationLayer]
NET
}
