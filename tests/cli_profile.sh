#!/bin/sh
# SPDX-License-Identifier: MIT
# minicnn train --profile end to end: after training it prints one row per layer of the network,
# then the data, optimizer and other rows, and the shares of the step add up to 100 %; without
# the flag no profile is printed. Usage: tests/cli_profile.sh path/to/minicnn
set -eu
minicnn=$1
. "$(dirname "$0")/cli_common.sh"
cli_begin cli_profile
awk 'BEGIN {
    srand(5)
    print "f1,f2,kind,f3,f4"
    for (i = 0; i < 240; i++) {
        c = i % 3
        printf "%.4f,%.4f,k%d,%.4f,%.4f\n", c * 2 + rand(), -c + rand(), c, (c == 1) * 3 + rand(), rand()
    }
}' >"$tmp/t.csv"
cat >"$tmp/t.net" <<'NET'
layers = [
    featureInputLayer(4, 'Normalization', 'zscore', 'Name', 'in')
    fullyConnectedLayer(8, 'Name', 'hidden')
    batchNormalizationLayer('Name', 'bn')
    reluLayer('Name', 'act')
    dropoutLayer(0.1, 'Name', 'drop')
    fullyConnectedLayer(3, 'Name', 'scores')
    softmaxLayer('Name', 'sm')
    classificationLayer('Name', 'out')];
NET
"$minicnn" train --net "$tmp/t.net" --data "$tmp/t.csv" --response kind --max-epochs 4 \
    --mini-batch-size 16 --verbose false --threads 2 --profile >"$tmp/out" 2>"$tmp/err" ||
    fail "train --profile: $(cat "$tmp/err")"
grep -q "^Profile of 44 training iterations on 2 threads: " "$tmp/out" ||
    fail "no profile heading: $(cat "$tmp/out")"
# one row per layer, in the network's order, with its type
rows=$(sed -n '/^Profile of/,$p' "$tmp/out" | awk '$1 ~ /^[0-9]+$/ { print $1 ":" $2 }' | tr '\n' ' ')
[ "$rows" = "1:in 2:hidden 3:bn 4:act 5:drop 6:scores 7:sm 8:out " ] ||
    fail "layer rows '$rows': $(cat "$tmp/out")"
for part in data optimizer other total; do
    grep -q "^       $part " "$tmp/out" || fail "no '$part' row: $(cat "$tmp/out")"
done
grep -q "^    3  bn  *Batch Normalization  " "$tmp/out" || fail "no type column: $(cat "$tmp/out")"
# the shares (last column) of the layer rows and the three parts add up to 100 %
sum=$(sed -n '/^Profile of/,$p' "$tmp/out" |
    awk '$1 ~ /^[0-9]+$/ || $1 == "data" || $1 == "optimizer" || $1 == "other" { s += $NF }
         END { printf "%.2f", s }')
awk -v s="$sum" 'BEGIN { exit !(s > 99.5 && s < 100.5) }' || fail "shares add up to $sum %"
# every share and time is a number >= 0 (the rest of the step too)
sed -n '/^Profile of/,$p' "$tmp/out" | awk '$1 ~ /^[0-9]+$/ { if ($(NF) < 0 || $(NF-1) < 0 || $(NF-2) < 0) exit 1 }' ||
    fail "negative figures: $(cat "$tmp/out")"
grep -q "^Test accuracy: " "$tmp/out" || fail "no test accuracy: $(cat "$tmp/out")"

# without --profile: no table
"$minicnn" train --net "$tmp/t.net" --data "$tmp/t.csv" --response kind --max-epochs 1 \
    --mini-batch-size 16 --verbose false >"$tmp/out" 2>"$tmp/err" || fail "train: $(cat "$tmp/err")"
if grep -q "^Profile" "$tmp/out"; then fail "a profile without --profile"; fi
echo "cli_profile: ok"
