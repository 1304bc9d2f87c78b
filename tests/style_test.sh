#!/bin/sh
# SPDX-License-Identifier: MIT
# The sources follow the repository's .clang-format (clang-format --dry-run -Werror) and each
# source file carries an SPDX licence line. Usage: tests/style_test.sh SOURCE_DIR
set -eu
cd "$1"
fail() {
    echo "style: FAILED: $*" >&2
    exit 1
}
command -v clang-format >/dev/null 2>&1 || fail "clang-format is not installed (scripts/setup installs it)"
if [ -d .git ] && command -v git >/dev/null 2>&1; then
    c_files=$(git ls-files 'src/*.c' 'src/*.h' 'apps/*.c' 'apps/*.h' 'include/*.h' 'tests/*.c' \
        'tests/*.h' 'bench/*.c' 'examples/*.c' 'examples/*.cpp')
else
    c_files=$(find src apps include tests bench examples -name '*.c' -o -name '*.h' -o -name '*.cpp' |
        grep -v '/corpus/' | sort)
fi
[ -n "$c_files" ] || fail "no sources found in $1"
n=0
for f in $c_files; do
    clang-format --dry-run -Werror "$f" 2>"${TMPDIR:-/tmp}/minicnn-style.$$" ||
        { cat "${TMPDIR:-/tmp}/minicnn-style.$$" >&2; rm -f "${TMPDIR:-/tmp}/minicnn-style.$$"; fail "$f is not formatted: clang-format -i $f"; }
    grep -q 'SPDX-License-Identifier: MIT' "$f" || fail "$f has no SPDX-License-Identifier line"
    n=$((n + 1))
done
rm -f "${TMPDIR:-/tmp}/minicnn-style.$$"
for f in scripts/setup scripts/test scripts/fuzz bench/run .ci/run CMakeLists.txt tests/CMakeLists.txt; do
    grep -q 'SPDX-License-Identifier: MIT' "$f" || fail "$f has no SPDX-License-Identifier line"
done
echo "style: $n C sources formatted, every source with its SPDX line"
