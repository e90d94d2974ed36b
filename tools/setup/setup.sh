#!/usr/bin/env bash
# Prepares this checkout: Debian packages the pipeline and its tests call, systemd-sysupdate 254 unpacked
# (not installed) for the consumer tests, and node_modules. Idempotent and quiet when there is nothing to do.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"

# Tools the pipeline runs (image formats, signatures) and the tests verify with (gpg, sqop, aws for the benchmark,
# python3 for the test peer that never accepts a connection).
packages=(squashfs-tools erofs-utils e2fsprogs gnupg sqop awscli zip unzip ca-certificates python3)
backports_list=/etc/apt/sources.list.d/bookworm-backports.sources
sysupdate_dir="$root/.cache/systemd-254"

say() { printf 'setup: %s\n' "$*"; }

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
need_backports=0
[ -f "$backports_list" ] || need_backports=1

if [ ${#missing[@]} -gt 0 ] || [ $need_backports -eq 1 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    say "missing Debian packages: ${missing[*]:-none}; run as root, or run:"
    [ $need_backports -eq 1 ] && printf "  sudo tee %s <<'X'\nTypes: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\nX\n" "$backports_list"
    echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}"
    exit 1
  fi
  if [ $need_backports -eq 1 ]; then
    # Only for `apt-get download` of systemd 254 below: backports have pin priority 100, so nothing installed changes.
    cat >"$backports_list" <<'X'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
X
  fi
  say "installing ${missing[*]:-apt lists}"
  apt-get update -qq
  [ ${#missing[@]} -gt 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# systemd-sysupdate 254 (bookworm has 252, which lacks what the consumer tests use), unpacked beside the checkout.
if [ ! -x "$sysupdate_dir/root/lib/systemd/systemd-sysupdate" ]; then
  say "unpacking systemd 254 from bookworm-backports into ${sysupdate_dir#$root/}"
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download -qq systemd/bookworm-backports systemd-container/bookworm-backports \
    libsystemd-shared/bookworm-backports 2>/dev/null)
  mkdir -p "$sysupdate_dir/root"
  for deb in "$tmp"/*.deb; do dpkg -x "$deb" "$sysupdate_dir/root"; done
  rm -rf "$tmp"
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "npm ci"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi
