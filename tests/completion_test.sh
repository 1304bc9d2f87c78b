#!/bin/bash
# SPDX-License-Identifier: MIT
# The bash completion (scripts/completion/minicnn.bash) offers each command's flags as its
# --help lists them: no flag missing, none that the command does not know; and the manual page
# (docs/minicnn.1) names every command and every flag.
#   completion_test.sh MINICNN COMPLETION-FILE MAN-PAGE
set -eu
cli=$1
# shellcheck source=/dev/null
source "$2"
man=$(sed 's/\\-/-/g' "$3")
status=0
for cmd in train classify predict normlab inspect "data export-png" "data preview-augmented" "data digitdataset" run layer; do
    read -ra words <<<"minicnn $cmd --"
    COMP_WORDS=("${words[@]}")
    COMP_CWORD=$((${#words[@]} - 1))
    COMPREPLY=()
    _minicnn
    offered=$(printf '%s\n' "${COMPREPLY[@]}" | grep -vx -- --help | sort -u)
    # shellcheck disable=SC2086 # "data export-png" is two words
    listed=$("$cli" $cmd --help 2>&1 | grep -o -- '--[a-z][a-z0-9-]*' | grep -vx -- '--help\|--FLAG' | sort -u)
    if [ "$offered" != "$listed" ]; then
        echo "completion_test: 'minicnn $cmd': the completion and --help differ (< completion, > --help):" >&2
        diff <(echo "$offered") <(echo "$listed") >&2 || true
        status=1
    fi
    for word in ${cmd%% *} $listed; do
        if ! printf '%s\n' "$man" | grep -q -- "$word\([^a-z-]\|$\)"; then
            echo "completion_test: the manual page does not mention $word ('minicnn $cmd')" >&2
            status=1
        fi
    done
done
[ $status -eq 0 ] && echo "completion_test: every command's flags match its --help and are in the manual"
exit $status
