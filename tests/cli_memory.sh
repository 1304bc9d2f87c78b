#!/bin/sh
# SPDX-License-Identifier: MIT
# minicnn under a memory limit (ulimit -v) ends, never hangs: `minicnn version` exits, and a
# short training run either finishes or says "out of memory while <what> (<N> bytes)" and
# exits 1. OpenBLAS's own threads used to spin retrying their buffers at such limits, and the
# process then hung at exit. Usage: tests/cli_memory.sh path/to/minicnn [sanitize]
# (AddressSanitizer reserves terabytes of address space: the test is skipped there.)
set -eu
minicnn=$1
if [ "${2:-}" = sanitize ]; then
    echo "cli_memory: skipped under the sanitizers (ASan reserves huge virtual memory)"
    exit 0
fi
. "$(dirname "$0")/cli_common.sh"
cli_begin cli_memory
unset OPENBLAS_NUM_THREADS GOTO_NUM_THREADS OMP_NUM_THREADS
passed=0

# limited KB COMMAND...: runs the command under ulimit -v KB with a time limit; sets $rc.
limited() {
    kb=$1
    shift
    rc=0
    timeout -k 5 60 sh -c 'ulimit -v "$0"; exec "$@"' "$kb" "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
    [ "$rc" -ne 124 ] && [ "$rc" -ne 137 ] || fail "hangs under ulimit -v $kb: $*"
}

for kb in 100000 150000 400000; do
    limited "$kb" "$minicnn" version
    [ "$rc" -eq 0 ] && grep -q '^minicnn ' "$tmp/out" || fail "version at $kb KB: rc $rc: $(cat "$tmp/err")"
    passed=$((passed + 1))
done

# 6,000 images of 28x28 (4.7 MB of data, 19 MB as floats) and the reference network
awk 'BEGIN {
    printf "%c%c%c%c%c%c%c%c%c%c%c%c%c%c%c%c", 0, 0, 8, 3, 0, 0, 23, 112, 0, 0, 0, 28, 0, 0, 0, 28
    srand(1)
    for (i = 0; i < 6000 * 784; i++)
        printf "%c", 1 + int(rand() * 254)
}' >"$tmp/images"
awk 'BEGIN {
    printf "%c%c%c%c%c%c%c%c", 0, 0, 8, 1, 0, 0, 23, 112
    for (i = 0; i < 6000; i++)
        printf "%c", 1 + i % 9
}' >"$tmp/labels"
[ "$(wc -c <"$tmp/images")" -eq $((16 + 6000 * 784)) ] || fail "awk wrote $(wc -c <"$tmp/images") bytes"
oom=0 ok=0
for kb in 110000 120000 130000 140000 160000 200000 300000 400000 600000; do
    limited "$kb" "$minicnn" train --train-images "$tmp/images" --train-labels "$tmp/labels" \
        --test-images "$tmp/images" --test-labels "$tmp/labels" --max-epochs 1 \
        --mini-batch-size 128 --train-subset 512
    if [ "$rc" -eq 0 ]; then
        grep -q "^Test accuracy" "$tmp/out" || fail "train at $kb KB: $(tail -n 3 "$tmp/out")"
        ok=$((ok + 1))
    elif [ "$rc" -eq 1 ]; then
        grep -Eq '^minicnn: error: .*out of memory while .*[0-9]+ bytes' "$tmp/err" ||
            fail "train at $kb KB: $(cat "$tmp/err")"
        oom=$((oom + 1))
        [ -n "${VERBOSE:-}" ] && echo "$kb KB: $(cat "$tmp/err")"
    else
        fail "train at $kb KB: exit $rc: $(tail -n 3 "$tmp/err")"
    fi
    passed=$((passed + 1))
done
[ "$oom" -gt 0 ] && [ "$ok" -gt 0 ] || fail "$oom runs out of memory and $ok finished: the limits miss the edge"
echo "cli_memory: $passed passed, 0 failed"
