#!/bin/sh
# SPDX-License-Identifier: MIT
# The shared library exports the public API only: every defined dynamic symbol is mc_*, none
# is an internal mc__* or nf_*, and the API is there.   exports_test.sh LIBMINICNN.SO
set -eu
so=$1
symbols=$(nm -D --defined-only "$so" | awk '{print $NF}')
others=$(printf '%s\n' "$symbols" | grep -v '^mc_[A-Za-z0-9]' || true)
if [ -n "$others" ]; then
    echo "exports_test: $so exports symbols outside the public mc_* API:" >&2
    printf '%s\n' "$others" | head -n 20 >&2
    exit 1
fi
for f in mc_ctx_create mc_version mc_net_forward mc_train mc_model_save; do
    printf '%s\n' "$symbols" | grep -qx "$f" || { echo "exports_test: $f is not exported" >&2; exit 1; }
done
echo "exports_test: $(printf '%s\n' "$symbols" | wc -l) symbols, all mc_*"
