#!/usr/bin/env bash
# Prepares this checkout: Debian packages the pipeline and its tests call, the Debian roots the consumer tests run
# systemd-sysupdate in (one per systemd a host may run), and node_modules. Idempotent and quiet when there is nothing
# to do.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"

# Tools the pipeline runs (image formats, signatures) and the tests verify with (gpg, sqop, aws for the benchmark,
# python3 for the test peer that never accepts a connection, mmdebstrap for the host roots).
packages=(squashfs-tools erofs-utils e2fsprogs gnupg sqop awscli zip unzip ca-certificates python3 mmdebstrap)
hosts_dir="$root/.cache/hosts"
mirror=http://deb.debian.org/debian

say() { printf 'setup: %s\n' "$*"; }

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    say "missing Debian packages: ${missing[*]}; run as root, or run:"
    echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}"
    exit 1
  fi
  say "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The hosts the consumer tests run systemd-sysupdate in (tools/test-peers/src/host.ts): bookworm with systemd 254
# from backports (bookworm's own 252 lacks what the tests use), trixie (257) and forky (262). mmdebstrap's extract
# variant unpacks the packages and their dependencies without running maintainer scripts: ~15 s and ~80-90 MB a root
# on an idle machine (a full `--variant=essential` root: ~30 s and ~140 MB). Each root is rebuilt when its
# recipe changes; the host's apt sources are never touched.
#   forky: its Release file is past Valid-Until on this mirror; systemd >= 258 dlopen()s libcurl for systemd-pull,
#   which forky's systemd-container only suggests.
build_host() { # release suite sources include [mmdebstrap options...]
  local release=$1 suite=$2 sources=$3 include=$4
  shift 4
  # the recipe: this function's text and its arguments, so a change to either rebuilds the root
  local dir="$hosts_dir/$release" recipe
  recipe=$( (declare -f build_host; printf '%s\n' "$@" "$suite" "$sources" "$include") | sha256sum | cut -c1-64)
  [ -f "$dir/recipe" ] && [ "$(cat "$dir/recipe")" = "$recipe" ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    say "host root $release is missing; run this script as root to build it (mmdebstrap)"
    exit 1
  fi
  say "building host root $release ($include) into ${dir#$root/}"
  rm -rf "$dir" && mkdir -p "$dir"
  local -a mirrors
  read -r -a mirrors <<<"$sources"
  mirrors=("${mirrors[@]/#/deb $mirror }")
  mirrors=("${mirrors[@]/%/ main}")
  # dash, coreutils, diffutils, sed and gpg: what the snippet's merge script runs
  if ! mmdebstrap --quiet --variant=extract --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr "$@" \
    --include="$include,dash,coreutils,diffutils,sed,gpg" "$suite" "$dir/root.new" "${mirrors[@]}" \
    >"$dir/build.log" 2>&1; then
    say "building host root $release failed; see ${dir#$root/}/build.log"
    exit 1
  fi
  ln -sf dash "$dir/root.new/usr/bin/sh" # what dash's maintainer script would do: units' scripts say #!/bin/sh
  chroot "$dir/root.new" systemctl --version | sed -n '1s/^systemd \([0-9]*\).*/\1/p' >"$dir/systemd-version"
  mv "$dir/root.new" "$dir/root"
  rm -f "$dir/build.log"
  printf '%s' "$recipe" >"$dir/recipe"
}
bpo=bookworm-backports
# In parallel: a build mostly waits for the mirror (measured: 3 roots in 62 s at once, 159 s one after another).
pids=()
build_host bookworm-backports bookworm "bookworm $bpo" \
  "systemd/$bpo,systemd-container/$bpo,libsystemd-shared/$bpo,libsystemd0/$bpo,libudev1/$bpo" &
pids+=($!)
build_host trixie trixie trixie systemd,systemd-container &
pids+=($!)
build_host forky forky forky systemd,systemd-container,libcurl4t64 --aptopt='Acquire::Check-Valid-Until "false"' &
pids+=($!)
for pid in "${pids[@]}"; do wait "$pid" || exit 1; done

# qemu-aarch64 (from Debian's qemu-user-static, the one binary kept): the host check runs the arm64 binary it reads out
# of an arm64 image on an amd64 machine (a native arm64 runner merges and runs it for real). ~15 s once.
qemu="$root/.cache/qemu-user/qemu-aarch64-static"
if [ "$(dpkg --print-architecture)" = amd64 ] && [ ! -x "$qemu" ]; then
  say "unpacking qemu-aarch64-static from qemu-user-static into ${qemu#$root/}"
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download -qq qemu-user-static 2>/dev/null)
  dpkg-deb --fsys-tarfile "$tmp"/qemu-user-static_*.deb | tar -x -C "$tmp" ./usr/bin/qemu-aarch64-static
  mkdir -p "$(dirname "$qemu")"
  mv "$tmp/usr/bin/qemu-aarch64-static" "$qemu"
  rm -rf "$tmp"
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "npm ci"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi
