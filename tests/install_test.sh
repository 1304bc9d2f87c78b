#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs the build tree into a temporary prefix and uses only what was installed: builds the
# C and C++ examples with pkg-config (shared and --static) and with find_package (shared and
# static), runs each on a few hundred MNIST images, runs the installed command (version, data
# found under PREFIX/share/minicnn), and checks that the shared library exports only mc_*.
#   install_test.sh BUILD_DIR SOURCE_DIR
set -eu
build=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
fail() { echo "install_test: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" || { cat "$tmp/install.log"; fail "cmake --install failed"; }
libdir=$prefix/lib
[ -d "$libdir/pkgconfig" ] || libdir=$(dirname "$(find "$prefix" -name minicnn.pc | head -n 1)")/..
for f in bin/minicnn include/minicnn/minicnn.h include/minicnn/version.h share/minicnn/networks/reference-gray.net \
         share/man/man1/minicnn.1 share/bash-completion/completions/minicnn; do
    [ -e "$prefix/$f" ] || fail "$f was not installed"
done
so=$(find "$prefix" -name 'libminicnn.so.*.*' | head -n 1)
[ -n "$so" ] || fail "no libminicnn.so.X.Y.Z installed"
find "$prefix" -name libminicnn.a | grep -q . || fail "no libminicnn.a installed"
soname=$(objdump -p "$so" | awk '$1 == "SONAME" {print $2}')
case $soname in libminicnn.so.[0-9]*) ;; *) fail "soname '$soname' is not libminicnn.so.MAJOR" ;; esac

# Only the public API leaves the shared library.
others=$(nm -D --defined-only "$so" | awk '{print $NF}' | grep -v '^mc_[A-Za-z0-9]' || true)
[ -z "$others" ] || fail "libminicnn.so exports symbols outside mc_*: $(echo "$others" | head -n 5)"
nm -D --defined-only "$so" | grep -q ' mc_ctx_create$' || fail "mc_ctx_create is not exported"

# A few hundred images of the MNIST digits: each run takes well under a second.
mnist=$prefix/share/minicnn/mnist
[ -e "$mnist/t10k-labels-idx1-ubyte" ] || mnist=$src/data/mnist
set -- "$mnist/train-images-idx3-ubyte" "$mnist/train-labels-idx1-ubyte" \
       "$mnist/t10k-images-idx3-ubyte" "$mnist/t10k-labels-idx1-ubyte"
run_args() { # NAME PROGRAM DATA...: runs an example, which must save a model
    name=$1
    prog=$2
    shift 2
    "$prog" "$@" "$tmp/$name.mcnn" 300 >"$tmp/$name.out" 2>&1 || { cat "$tmp/$name.out"; fail "$name failed"; }
    [ -s "$tmp/$name.mcnn" ] || fail "$name saved no model"
    echo "install_test: $name: $(grep accuracy "$tmp/$name.out" | head -n 1)"
}

# pkg-config, from the installed minicnn.pc only.
export PKG_CONFIG_PATH="$libdir/pkgconfig"
pkg-config --modversion minicnn >/dev/null || fail "pkg-config does not find minicnn.pc"
cflags=$(pkg-config --cflags minicnn)
libs=$(pkg-config --libs minicnn)
static_libs=$(pkg-config --static --libs minicnn)
# shellcheck disable=SC2086 # the flags are words
cc -std=c11 -Wall -Wextra -Werror $cflags "$src/examples/train.c" -o "$tmp/pc_c" $libs -Wl,-rpath,"$libdir" \
    || fail "the C example does not build with pkg-config"
# shellcheck disable=SC2086
c++ -std=c++11 -Wall -Wextra -Werror $cflags "$src/examples/train.cpp" -o "$tmp/pc_cpp" $libs -Wl,-rpath,"$libdir" \
    || fail "the C++ example does not build with pkg-config"
# shellcheck disable=SC2086
cc -std=c11 $cflags "$src/examples/train.c" -o "$tmp/pc_c_static" "$libdir/libminicnn.a" $static_libs \
    || fail "the C example does not link statically with pkg-config --static"
ldd "$tmp/pc_c_static" | grep -q libminicnn && fail "the static link still needs libminicnn.so"
run_args pkgconfig-c "$tmp/pc_c" "$@"
run_args pkgconfig-c++ "$tmp/pc_cpp" "$@"
run_args pkgconfig-static "$tmp/pc_c_static" "$@"

# find_package(minicnn), shared and static.
for kind in shared static; do
    static=OFF; [ $kind = static ] && static=ON
    cmake -S "$src/examples" -B "$tmp/cmake-$kind" -DCMAKE_PREFIX_PATH="$prefix" \
          -DMINICNN_STATIC=$static -DCMAKE_BUILD_TYPE=Release >"$tmp/cmake-$kind.log" 2>&1 \
        || { cat "$tmp/cmake-$kind.log"; fail "find_package(minicnn) ($kind) fails"; }
    cmake --build "$tmp/cmake-$kind" >>"$tmp/cmake-$kind.log" 2>&1 \
        || { cat "$tmp/cmake-$kind.log"; fail "the examples do not build with find_package ($kind)"; }
    run_args cmake-$kind-c "$tmp/cmake-$kind/train" "$@"
    run_args cmake-$kind-c++ "$tmp/cmake-$kind/train_cpp" "$@"
done

# The installed command: its version is the project's, its data is found under the prefix
# even with the source tree out of reach (run from an empty folder).
mkdir "$tmp/empty"
cd "$tmp/empty"
version=$("$prefix/bin/minicnn" --version) || fail "minicnn --version failed"
[ "$version" = "minicnn $(pkg-config --modversion minicnn)" ] || fail "minicnn --version says '$version'"
"$prefix/bin/minicnn" version >/dev/null || fail "minicnn version failed"
"$prefix/bin/minicnn" train --data mnist --train-subset 200 --mini-batch-size 50 --max-epochs 1 --threads 1 \
    --report "$tmp/report.json" >"$tmp/train.out" 2>&1 || { cat "$tmp/train.out"; fail "the installed minicnn train failed"; }
grep -q "\"version\": \"$(pkg-config --modversion minicnn)\"" "$tmp/report.json" \
    || fail "the --report JSON does not give the version"
grep -q "\"net\": \"$prefix/bin/../share/minicnn/networks/reference-gray.net\"" "$tmp/report.json" \
    || fail "the installed command did not take its network from PREFIX/share/minicnn"
echo "install_test: passed ($version)"
