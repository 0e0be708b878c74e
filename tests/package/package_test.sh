#!/usr/bin/env bash
# The installed package, used the way a consumer uses it (CTest `package`, no GPU needed):
# install the build tree into a fresh prefix, check what is there (and that nothing points back
# into the source or build tree), build a library with the installed CLI from the bundled data,
# configure and build examples/ against the prefix as a separate CMake project, build the
# pkg-config consumer with a plain cc line, and run every consumer. Without a GPU the consumers
# plan and print their dispatch decisions and run reports `unavailable`; with one they run and
# check their outputs.
#
#   package_test.sh SOURCE_DIR BUILD_DIR WORK_DIR
# Environment (set by tests/package/CMakeLists.txt): GQF_CMAKE, GQF_NINJA, GQF_CXX, GQF_LIBDIR,
# GQF_BUILD_TYPE, GQF_VERSION, GQF_SOVERSION.
set -euo pipefail
src=$1 build=$2 work=$3
cmake=${GQF_CMAKE:-cmake}

fail() {
  echo "package_test: FAIL: $*" >&2
  exit 1
}
step() { echo "== $*"; }
# expect FILE TEXT: FILE holds TEXT (fixed string).
expect() { grep -qF -- "$2" "$1" || { cat "$1"; fail "$1 lacks '$2'"; }; }
# count FILE TEXT: the lines of FILE holding TEXT.
count() { grep -cF -- "$2" "$1" || true; }

rm -rf "$work"
mkdir -p "$work"
prefix=$work/prefix
libdir=$prefix/$GQF_LIBDIR
# A cache of the test's own: the library build and the default kernels compile once per build tree.
export GQAFORGE_CACHE_DIR=$build/package-test-cache

step "cmake --install into $prefix"
"$cmake" --install "$build" --prefix "$prefix" >"$work/install.log" 2>&1 || { cat "$work/install.log"; fail "install"; }

step "the installed tree"
config=$(echo "$GQF_BUILD_TYPE" | tr '[:upper:]' '[:lower:]')
cat >"$work/expected.txt" <<EOF
bin/gqaforge
include/gqaforge/gqaforge.h
$GQF_LIBDIR/cmake/gqaforge/gqaforgeConfig.cmake
$GQF_LIBDIR/cmake/gqaforge/gqaforgeConfigVersion.cmake
$GQF_LIBDIR/cmake/gqaforge/gqaforgeStaticTargets-$config.cmake
$GQF_LIBDIR/cmake/gqaforge/gqaforgeStaticTargets.cmake
$GQF_LIBDIR/cmake/gqaforge/gqaforgeTargets-$config.cmake
$GQF_LIBDIR/cmake/gqaforge/gqaforgeTargets.cmake
$GQF_LIBDIR/libgqaforge.a
$GQF_LIBDIR/libgqaforge.so
$GQF_LIBDIR/libgqaforge.so.$GQF_SOVERSION
$GQF_LIBDIR/libgqaforge.so.$GQF_VERSION
$GQF_LIBDIR/pkgconfig/gqaforge-static.pc
$GQF_LIBDIR/pkgconfig/gqaforge.pc
EOF
# The CPU backend module, when LLVM was there to build it.
if [ -f "$build/lib/libgqaforge_cpu.so" ]; then echo "$GQF_LIBDIR/gqaforge/libgqaforge_cpu.so" >>"$work/expected.txt"; fi
sort -o "$work/expected.txt" "$work/expected.txt"
(cd "$prefix" && find . -type f -o -type l | sed 's|^\./||' | sort) >"$work/installed.txt"
diff -u "$work/expected.txt" "$work/installed.txt" || fail "the installed files differ from the expected (- expected, + installed)"

# Nothing installed may name the source or build tree: not the CMake and pkg-config files (the
# targets are relative to the prefix), not the run paths of the binaries.
if grep -rIlF -e "$src" -e "$build" "$prefix"; then fail "the files above name the source or build tree"; fi
for bin in "$prefix/bin/gqaforge" "$libdir/libgqaforge.so"; do
  if readelf -d "$bin" | grep -E 'RPATH|RUNPATH' | grep -qF -e "$src" -e "$build"; then
    fail "$bin has a run path into the build: $(readelf -d "$bin" | grep -E 'RPATH|RUNPATH')"
  fi
done

readelf -d "$libdir/libgqaforge.so" | grep -qF "[libgqaforge.so.$GQF_SOVERSION]" ||
  fail "SONAME of libgqaforge.so is not libgqaforge.so.$GQF_SOVERSION: $(readelf -d "$libdir/libgqaforge.so" | grep SONAME)"

step "exported symbols"
# The shared library exports the C API and nothing else; every function the header declares is
# defined in both libraries.
nm -D --defined-only "$libdir/libgqaforge.so" | awk '{print $NF}' | sort >"$work/exports.txt"
if grep -v '^gqaforge_' "$work/exports.txt" >"$work/foreign.txt"; then
  head -20 "$work/foreign.txt"
  fail "libgqaforge.so exports $(wc -l <"$work/foreign.txt") symbols outside gqaforge_* (first above)"
fi
grep -E '^GQAFORGE_API' "$prefix/include/gqaforge/gqaforge.h" | grep -oE 'gqaforge_[a-z_]+\(' | tr -d '(' | sort -u \
  >"$work/declared.txt"
[ -s "$work/declared.txt" ] || fail "found no GQAFORGE_API declaration in the installed header"
missing=$(comm -23 "$work/declared.txt" "$work/exports.txt")
[ -z "$missing" ] || fail "libgqaforge.so does not export: $missing"
nm --defined-only "$libdir/libgqaforge.a" 2>/dev/null | awk '$2 == "T" {print $3}' | sort -u >"$work/archive.txt"
missing=$(comm -23 "$work/declared.txt" "$work/archive.txt")
[ -z "$missing" ] || fail "libgqaforge.a does not define: $missing"

step "a library from the bundled data, with the installed CLI"
lib=$work/h200-8x1-d64.gqalib
"$prefix/bin/gqaforge" library build --db "$src/data/h200-tuned.tsv" --heads 8:1 --head-dim 64 --allow-older-codegen -o "$lib" \
  >"$work/library.log" 2>&1 || { cat "$work/library.log"; fail "gqaforge library build"; }

if [ -f "$build/lib/libgqaforge_cpu.so" ]; then
  step "the installed CPU backend module, found from the installed layout"
  "$prefix/bin/gqaforge" check --backend cpu --phase decode --heads 8:2 --head-dim 64 --kv-len 999 \
    >"$work/cpu-check.log" 2>&1 || { cat "$work/cpu-check.log"; fail "gqaforge check --backend cpu"; }
  grep -qF "($prefix/bin/../$GQF_LIBDIR/gqaforge/libgqaforge_cpu.so)" "$work/cpu-check.log" ||
    fail "the installed CLI did not load the installed CPU module: $(head -n 1 "$work/cpu-check.log")"
  grep -q "^PASS" "$work/cpu-check.log" || fail "the CPU kernel failed the gate: $(cat "$work/cpu-check.log")"
fi

step "examples/ against the prefix (CMake, Ninja)"
"$cmake" -S "$src/examples" -B "$work/examples" -G Ninja -DCMAKE_MAKE_PROGRAM="$GQF_NINJA" \
  -DCMAKE_CXX_COMPILER="$GQF_CXX" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_C_FLAGS=-Werror -DCMAKE_CXX_FLAGS=-Werror \
  >"$work/examples-configure.log" 2>&1 || { cat "$work/examples-configure.log"; fail "configuring examples/"; }
found=$(sed -n 's/^gqaforge_DIR:PATH=//p' "$work/examples/CMakeCache.txt")
[ "$found" = "$libdir/cmake/gqaforge" ] || fail "examples/ found gqaforge at '$found', not in the prefix"
"$cmake" --build "$work/examples" >"$work/examples-build.log" 2>&1 || { cat "$work/examples-build.log"; fail "building examples/"; }
readelf -d "$work/examples/gqaforge_c_example" | grep -qF "[libgqaforge.so.$GQF_SOVERSION]" ||
  fail "gqaforge_c_example does not link libgqaforge.so"
if readelf -d "$work/examples/gqaforge_cpp_example" | grep -qF libgqaforge; then
  fail "gqaforge_cpp_example links libgqaforge.so, not the static archive"
fi

step "the pkg-config consumers"
export PKG_CONFIG_PATH=$libdir/pkgconfig
# Strict C99: the header is plain C. The shared one finds libgqaforge.so at run time through the
# run path given here; the static one needs nothing.
cc -std=c99 -pedantic-errors -Wall -Wextra -Werror "$src/examples/pkgconfig/describe.c" -o "$work/describe" \
  $(pkg-config --cflags --libs gqaforge) -Wl,-rpath,"$libdir" || fail "cc ... \$(pkg-config --cflags --libs gqaforge)"
cc -std=c99 -Wall -Wextra -Werror "$src/examples/pkgconfig/describe.c" -o "$work/describe-static" \
  $(pkg-config --cflags --libs gqaforge-static) || fail "cc ... \$(pkg-config --cflags --libs gqaforge-static)"
if readelf -d "$work/describe-static" | grep -qF libgqaforge; then fail "describe-static links libgqaforge.so"; fi
for flag in -lgqaforge -lsqlite3 -lnvrtc -lstdc++; do
  pkg-config --static --libs gqaforge | grep -qe "$flag" || fail "pkg-config --static --libs gqaforge lacks $flag"
done

step "run the consumers"
set +e
"$work/examples/gqaforge_c_example" "$lib" >"$work/c.out" 2>&1
c_rc=$?
"$work/examples/gqaforge_cpp_example" "$lib" >"$work/cpp.out" 2>&1
cpp_rc=$?
"$work/describe" "$lib" >"$work/describe.out" 2>&1
describe_rc=$?
"$work/describe-static" "$lib" >"$work/describe-static.out" 2>&1
describe_static_rc=$?
set -e
for out in c cpp describe describe-static; do
  echo "-- $out"
  cat "$work/$out.out"
done
[ $c_rc -eq 0 ] || fail "gqaforge_c_example exited with $c_rc"
[ $cpp_rc -eq 0 ] || fail "gqaforge_cpp_example exited with $cpp_rc"
[ $describe_rc -eq 0 ] || fail "describe exited with $describe_rc"
[ $describe_static_rc -eq 0 ] || fail "describe-static exited with $describe_static_rc"

# The dispatch decisions: the library has 8:1 d64 tuned; prefill 8:1 d128 gets the default.
expect "$work/c.out" "gqaforge $GQF_VERSION"
expect "$work/c.out" "format 1, sm_90a"
expect "$work/c.out" "decode 8:1 d64 bf16 causal q1, batch 1, q_len 1, kv_len 4096"
expect "$work/c.out" "prefill 8:1 d128 bf16 causal, batch 2, q_len 512, kv_len 512"
[ "$(count "$work/c.out" "  decision   exact")" -ge 2 ] || fail "gqaforge_c_example: fewer than 2 exact decisions"
[ "$(count "$work/c.out" "  decision   default")" -eq 1 ] || fail "gqaforge_c_example: not 1 default decision"
[ "$(count "$work/c.out" "  reason     ")" -eq 5 ] || fail "gqaforge_c_example: not 5 reasons"
expect "$work/c.out" "0 of 5 problems failed"
expect "$work/cpp.out" "decode   decode 8:1 d64 bf16 causal q1"
expect "$work/cpp.out" "prefill  prefill 8:1 d64 bf16 causal"
expect "$work/cpp.out" "no-jit   prefill 32:8 d128: failed_precondition"
expect "$work/cpp.out" "done"
expect "$work/describe.out" "decode 8:1 d64 bf16 causal q1 -> "
expect "$work/describe-static.out" "decode 8:1 d64 bf16 causal q1 -> "

if grep -qF "device     none" "$work/c.out"; then
  # No GPU: every run says so, with the status name and a message.
  [ "$(count "$work/c.out" "  run        unavailable: ")" -eq 5 ] || fail "gqaforge_c_example: not 5 'unavailable' runs"
  [ "$(count "$work/cpp.out" ": run unavailable: ")" -eq 4 ] || fail "gqaforge_cpp_example: not 4 'unavailable' runs"
  echo "package_test: ok (no GPU: planned, runs unavailable)"
else
  [ "$(count "$work/c.out" "  run        ok, output checked")" -eq 5 ] || fail "gqaforge_c_example: not 5 checked runs"
  [ "$(count "$work/cpp.out" "layers ok, output checked")" -eq 4 ] || fail "gqaforge_cpp_example: not 4 checked steps"
  echo "package_test: ok (GPU: runs checked)"
fi
