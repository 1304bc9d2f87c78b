#!/bin/sh
# SPDX-License-Identifier: MIT
# The script corpus of `minicnn run`: every NAME.m here that has a NAME.out runs in a fresh
# folder against a small DigitDataset (30 real MNIST digits per class, written by `minicnn data
# digitdataset`), and its standard output must be NAME.out, its standard error NAME.err (empty
# when there is none) and its exit status NAME.rc (0 when there is none), exactly; the verbose
# table's elapsed times (hh:mm:ss) are masked as XX:XX:XX.
#   run_test.sh MINICNN SCRIPTS-DIR
set -eu
cli=$1
dir=$(cd "$2" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$cli" data digitdataset --per-class 30 \
    --out "$work/root/toolbox/nnet/nndemos/nndatasets/DigitDataset" >/dev/null
status=0
count=0
for out in "$dir"/*.out; do
    name=$(basename "$out" .out)
    run="$work/$name"
    mkdir "$run"
    cp "$dir/$name.m" "$run/"
    rc=0
    (cd "$run" && MINICNN_MATLABROOT="$work/root" "$cli" run "$name.m" >stdout 2>stderr) || rc=$?
    sed -i 's/ [0-9][0-9]:[0-9][0-9]:[0-9][0-9] |/ XX:XX:XX |/' "$run/stdout"
    want_rc=0
    [ -f "$dir/$name.rc" ] && want_rc=$(cat "$dir/$name.rc")
    if [ -f "$dir/$name.err" ]; then cp "$dir/$name.err" "$run/want_err"; else : >"$run/want_err"; fi
    if ! cmp -s "$run/stdout" "$out"; then
        echo "run_test: $name.m: standard output differs (< expected, > got):" >&2
        diff "$out" "$run/stdout" >&2 || true
        status=1
    fi
    if ! cmp -s "$run/stderr" "$run/want_err"; then
        echo "run_test: $name.m: standard error differs (< expected, > got):" >&2
        diff "$run/want_err" "$run/stderr" >&2 || true
        status=1
    fi
    if [ "$rc" != "$want_rc" ]; then
        echo "run_test: $name.m: exit status $rc, expected $want_rc" >&2
        status=1
    fi
    count=$((count + 1))
done
[ $status -eq 0 ] && echo "run_test: all $count scripts print what they should"
exit $status
