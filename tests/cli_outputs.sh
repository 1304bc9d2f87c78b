#!/bin/sh
# SPDX-License-Identifier: MIT
# Every file minicnn train writes, end to end: destinations checked before training, targets
# that are not regular files refused, links followed, checkpoints of concurrent runs all kept,
# no temporary left by SIGTERM, stale temporaries of dead processes removed, a model field that
# does not fit refused without keeping the report from being written.
# Usage: tests/cli_outputs.sh path/to/minicnn
set -eu
minicnn=$1
. "$(dirname "$0")/cli_common.sh"
cli_begin cli_outputs
passed=0
ok() {
    passed=$((passed + 1))
}

make_idx 40 1 "$tmp/train-images" "$tmp/train-labels" 8
make_idx 10 2 "$tmp/test-images" "$tmp/test-labels" 8
tiny_net "$tmp/tiny.net"
# About 50 MB of weights: a save that takes long enough to be interrupted.
cat >"$tmp/big.net" <<'NET'
layers = [
    imageInputLayer([8 8 1])
    fullyConnectedLayer(200000)
    reluLayer
    fullyConnectedLayer(2)
    softmaxLayer
    classificationLayer]
NET

train() { # NET EPOCHS [FLAGS]: minicnn train on the tiny data
    net=$1 epochs=$2
    shift 2
    "$minicnn" train --net "$net" --train-images "$tmp/train-images" \
        --train-labels "$tmp/train-labels" --test-images "$tmp/test-images" \
        --test-labels "$tmp/test-labels" --max-epochs "$epochs" --mini-batch-size 8 --threads 1 \
        "$@"
}
# The same in the background: the shell's child is minicnn itself, so $! is minicnn's PID.
train_bg() {
    net=$1 epochs=$2
    shift 2
    exec "$minicnn" train --net "$net" --train-images "$tmp/train-images" \
        --train-labels "$tmp/train-labels" --test-images "$tmp/test-images" \
        --test-labels "$tmp/test-labels" --max-epochs "$epochs" --mini-batch-size 8 --threads 1 \
        "$@"
}

# refused WHAT EXPECTED [FLAGS]: exit 1 before any iteration (no table row), the message.
refused() {
    what=$1 want=$2
    shift 2
    start=$(date +%s)
    if train "$tmp/tiny.net" 1000 "$@" >"$tmp/out" 2>"$tmp/err"; then
        fail "$what: training succeeded"
    fi
    seconds=$(($(date +%s) - start))
    if grep -q '^|  *[0-9]' "$tmp/out"; then
        fail "$what: found only after training: $(cat "$tmp/err")"
    fi
    [ "$seconds" -lt 30 ] || fail "$what: took ${seconds}s"
    grep -qF -- "$want" "$tmp/err" || fail "$what: $(cat "$tmp/err")"
    ok
}

# 1. Destinations that cannot be written: found before training (1000 epochs would take long).
: >"$tmp/a-file"
refused "--report in a missing folder" \
    "--report '$tmp/missing/r.json': the folder '$tmp/missing' does not exist" \
    --report "$tmp/missing/r.json"
refused "--report under a file" "--report: cannot write '$tmp/a-file/r.json': Not a directory" --report "$tmp/a-file/r.json"
refused "--plots in a missing folder" "--plots '$tmp/missing/p.png'" --plots training-progress "$tmp/missing/p.png"
refused "--log in a missing folder" "--log '$tmp/missing/l.csv'" --log "$tmp/missing/l.csv"
refused "--save onto a folder" "cannot write '$tmp/': the path names a folder" --save "$tmp/"
refused "--save onto a folder" "is a folder" --save "$tmp"
refused "--checkpoint-path a file" "--checkpoint-path '$tmp/a-file' is a file, not a folder" \
    --checkpoint-path "$tmp/a-file"
refused "--checkpoint-path missing" "--checkpoint-path '$tmp/nope': the folder does not exist" \
    --checkpoint-path "$tmp/nope"
refused "--save and --report the same" "--save and --report both name" \
    --save "$tmp/same" --report "$tmp/same"
if [ "$(id -u)" != 0 ]; then
    mkdir "$tmp/ro" && chmod 555 "$tmp/ro"
    refused "--report in a read-only folder" "Permission denied" --report "$tmp/ro/r.json"
fi

# 2. Not regular files: refused, and left what they are.
mkfifo "$tmp/fifo"
refused "--save onto a FIFO" "is a FIFO (named pipe); minicnn writes regular files only" \
    --save "$tmp/fifo"
refused "--report onto a FIFO" "is a FIFO" --report "$tmp/fifo"
[ -p "$tmp/fifo" ] || fail "the FIFO was replaced"
refused "--save /dev/null" "cannot write '/dev/null': it is a character device" --save /dev/null
[ -c /dev/null ] || fail "/dev/null is no longer a character device"
ln -s fifo "$tmp/to-fifo"
refused "--plots onto a link to a FIFO" "its link target" --plots training-progress "$tmp/to-fifo"
[ -p "$tmp/fifo" ] || fail "the FIFO was replaced"

# 3. A symbolic link: its target gets the new model, the link stays.
mkdir "$tmp/models"
train "$tmp/tiny.net" 1 --save "$tmp/models/real.mcnn" >"$tmp/out" 2>"$tmp/err" ||
    fail "training: $(cat "$tmp/err")"
cp "$tmp/models/real.mcnn" "$tmp/old.mcnn"
ln -s models/real.mcnn "$tmp/link.mcnn"
train "$tmp/tiny.net" 2 --save "$tmp/link.mcnn" --seed 7 >"$tmp/out" 2>"$tmp/err" ||
    fail "training onto a link: $(cat "$tmp/err")"
[ -L "$tmp/link.mcnn" ] || fail "the link was replaced by a file"
if cmp -s "$tmp/models/real.mcnn" "$tmp/old.mcnn"; then
    fail "the link's target still holds the old model"
fi
"$minicnn" classify "$tmp/models/real.mcnn" --test-images "$tmp/test-images" \
    --test-labels "$tmp/test-labels" >/dev/null 2>"$tmp/err" || fail "classify: $(cat "$tmp/err")"
ok

# 4. A stale temporary of a dead process is removed on the next save; a live one is kept.
sh -c 'exit 0' &
dead=$!
wait "$dead" || true
echo stale >"$tmp/s.mcnn.tmp.$dead"
echo live >"$tmp/s.mcnn.tmp.$$"
train "$tmp/tiny.net" 1 --save "$tmp/s.mcnn" >"$tmp/out" 2>"$tmp/err" ||
    fail "training: $(cat "$tmp/err")"
[ ! -e "$tmp/s.mcnn.tmp.$dead" ] || fail "the stale s.mcnn.tmp.$dead is still there"
[ -e "$tmp/s.mcnn.tmp.$$" ] || fail "the live process's temporary was removed"
ok

# 5. Two runs with the same --checkpoint-path at once: every checkpoint of both is kept (they
# collide on iteration and second), each loads.
mkdir "$tmp/ckpt"
train "$tmp/tiny.net" 4 --checkpoint-path "$tmp/ckpt" >"$tmp/out1" 2>"$tmp/err1" &
p1=$!
train "$tmp/tiny.net" 4 --checkpoint-path "$tmp/ckpt" >"$tmp/out2" 2>"$tmp/err2" &
p2=$!
wait "$p1" || fail "run 1: $(cat "$tmp/err1")"
wait "$p2" || fail "run 2: $(cat "$tmp/err2")"
n=$(ls "$tmp/ckpt" | grep -c '^net_checkpoint__.*\.mcnn$' || true)
[ "$n" -eq 8 ] || fail "2 runs x 4 epochs made $n checkpoints: $(ls "$tmp/ckpt")"
[ -z "$(ls "$tmp/ckpt" | grep '\.tmp\.' || true)" ] || fail "temporaries left: $(ls "$tmp/ckpt")"
for c in "$tmp"/ckpt/*.mcnn; do
    "$minicnn" classify "$c" --test-images "$tmp/test-images" --test-labels "$tmp/test-labels" \
        >/dev/null 2>"$tmp/err" || fail "classify $c: $(cat "$tmp/err")"
done
ok

# 6. SIGTERM while a big model is being saved: the old file is kept, no temporary is left, and
# the exit status says SIGTERM.
echo old >"$tmp/big.mcnn"
caught=0
for attempt in 1 2 3; do
    (train_bg "$tmp/big.net" 1 --save "$tmp/big.mcnn" >"$tmp/out" 2>"$tmp/err") &
    pid=$!
    i=0
    while kill -0 "$pid" 2>/dev/null; do
        set -- "$tmp"/big.mcnn.tmp.*
        if [ -e "$1" ]; then
            kill -TERM "$pid"
            caught=1
            break
        fi
        i=$((i + 1))
    done
    status=0
    wait "$pid" || status=$?
    [ "$caught" = 1 ] && break
done
[ "$caught" = 1 ] || fail "never saw the temporary of the save (3 attempts)"
[ "$status" -eq 143 ] || fail "killed while saving: exit status $status, not 143: $(cat "$tmp/err")"
set -- "$tmp"/big.mcnn.tmp.*
[ ! -e "$1" ] || fail "SIGTERM left $(ls "$tmp" | grep big.mcnn.tmp)"
[ "$(cat "$tmp/big.mcnn")" = old ] || fail "the old big.mcnn was not kept"
ok

# 7. SIGTERM during training with --log: the log keeps its lines so far, no temporary.
(train_bg "$tmp/tiny.net" 100000 --log "$tmp/run.csv" >"$tmp/out" 2>"$tmp/err") &
pid=$!
while kill -0 "$pid" 2>/dev/null && ! grep -q '^|  *1 ' "$tmp/out"; do
    sleep 0.1
done
sleep 0.5
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
[ "$status" -eq 143 ] || fail "killed while training: exit status $status: $(cat "$tmp/err")"
head -n 1 "$tmp/run.csv" | grep -q '^epoch,iteration' || fail "the log was not kept"
[ "$(wc -l <"$tmp/run.csv")" -gt 2 ] || fail "the log holds no iteration"
set -- "$tmp"/run.csv.tmp.*
[ ! -e "$1" ] || fail "SIGTERM left the log's temporary"
ok

# 8. A class name longer than its 2-byte field: --save fails after training, naming the field,
# writes nothing (the old model stays), and the report is written all the same.
awk 'BEGIN {
    printf "layers = [imageInputLayer([8 8 1])\n  convolution2dLayer(3,4)\n  reluLayer\n"
    printf "  fullyConnectedLayer(2)\n  softmaxLayer\n  classificationLayer(%cClasses%c, {%ca%c, %c", 39, 39, 39, 39, 39
    for (i = 0; i < 70000; i++)
        printf "x"
    printf "%c})]\n", 39
}' >"$tmp/long.net"
cp "$tmp/old.mcnn" "$tmp/long.mcnn"
status=0
train "$tmp/long.net" 2 --save "$tmp/long.mcnn" --report "$tmp/long.json" >"$tmp/out" 2>"$tmp/err" ||
    status=$?
[ "$status" -eq 1 ] || fail "a 70,000-byte class name: exit status $status: $(cut -c1-300 "$tmp/err")"
grep -qF "cannot save '$tmp/long.mcnn': the length of class name 2 is 70000 but the model file's field holds at most 65535 (2 bytes); nothing was written" "$tmp/err" ||
    fail "a 70,000-byte class name: $(cut -c1-300 "$tmp/err")"
cmp -s "$tmp/long.mcnn" "$tmp/old.mcnn" || fail "the old model was replaced"
grep -q '"test_accuracy"' "$tmp/long.json" || fail "the report was not written after the failed save"
ok

echo "cli_outputs: $passed passed, 0 failed"
