#!/usr/bin/env bash
# Builds llama.cpp (libllama, ggml and llama-server, CPU) from the source bundle shipped inside the
# npm package node-llama-cpp, pinned by version and sha256, and links it at third_party/llama.
# The build is cached by version and CPU flags under $HYBRIDGATE_CACHE (default
# /var/cache/hybridgate), so a second run, or a fresh clone on the same machine, builds nothing.
# Nothing is fetched but that one npm package; llama.cpp's own web-UI download is switched off.
set -euo pipefail
cd "$(dirname "$0")/.."

NPM_PACKAGE=node-llama-cpp
NPM_VERSION=3.22.1
NPM_SHA256=a0d9dd80eacd2ab1cfe71aee57ac8a806487fd70b3d2a38fbec637752d9e5c5f

cache_root=${HYBRIDGATE_CACHE:-/var/cache/hybridgate}
# -march=native code must not be reused on a CPU with other features.
cpu_key=$(grep -m1 '^flags' /proc/cpuinfo | sha256sum | cut -c1-12)
prefix="$cache_root/llama.cpp/$NPM_VERSION-$cpu_key"
link=third_party/llama

if [ ! -f "$prefix/.complete" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  echo "llama: fetching $NPM_PACKAGE@$NPM_VERSION from the npm registry"
  (cd "$work" && npm pack --silent "$NPM_PACKAGE@$NPM_VERSION" >/dev/null)
  tarball="$work/$NPM_PACKAGE-$NPM_VERSION.tgz"
  actual=$(sha256sum "$tarball" | cut -d' ' -f1)
  if [ "$actual" != "$NPM_SHA256" ]; then
    echo "llama: sha256 mismatch for $NPM_PACKAGE@$NPM_VERSION: expected $NPM_SHA256, got $actual" >&2
    exit 1
  fi
  tar -xzf "$tarball" -C "$work" package/llama/gitRelease.bundle package/llama/llama.cpp.info.json
  git clone -q "$work/package/llama/gitRelease.bundle" "$work/src" 2>/dev/null
  echo "llama: building llama.cpp $(grep -o '"tag": *"[^"]*"' "$work/package/llama/llama.cpp.info.json")" \
    "(libllama + llama-server, CPU; takes a while on 2 cores, once)"
  cmake -S "$work/src" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DBUILD_SHARED_LIBS=OFF -DGGML_NATIVE=ON -DGGML_OPENMP=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=ON \
    -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_APP=OFF -DLLAMA_BUILD_UI=OFF \
    -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_CURL=OFF \
    -DLLAMA_BUILD_NUMBER=0 >"$work/configure.log" 2>&1 ||
    { tail -40 "$work/configure.log" >&2; exit 1; }
  cmake --build "$work/build" -j"${HYBRIDGATE_JOBS:-2}" --target llama llama-server \
    >"$work/build.log" 2>&1 || { tail -60 "$work/build.log" >&2; exit 1; }

  staging="$prefix.tmp"
  rm -rf "$staging"
  mkdir -p "$staging/include" "$staging/lib" "$staging/bin" "$staging/share"
  cp "$work/src/include/"*.h "$work/src/ggml/include/"*.h "$staging/include/"
  find "$work/build" -name 'libllama.a' -o -name 'libggml*.a' | xargs -I{} cp {} "$staging/lib/"
  cp "$work/build/bin/llama-server" "$staging/bin/"
  # The vocabulary the test-model generator borrows (a real tokenizer, see src/engine/tiny_model).
  cp "$work/src/models/ggml-vocab-llama-spm.gguf" "$staging/share/"
  cp "$work/src/LICENSE" "$staging/share/LICENSE.llama.cpp"
  echo "$NPM_PACKAGE@$NPM_VERSION sha256:$NPM_SHA256" >"$staging/share/SOURCE"
  touch "$staging/.complete"
  rm -rf "$prefix"
  mv "$staging" "$prefix"
fi

mkdir -p third_party
if [ "$(readlink "$link" 2>/dev/null)" != "$prefix" ]; then
  rm -rf "$link"
  ln -s "$prefix" "$link"
fi
echo "llama: ok ($prefix)"
