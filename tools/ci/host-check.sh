#!/usr/bin/env bash
# A host's view of one published version, with real systemd tools (the machine's own, or a root's, see SYSTEMD_ROOT):
#  1. systemd-sysupdate installs the version's image for ARCH with the transfer definition the bucket publishes
#     (`<name>-<arch>.conf`, target paths moved into a scratch directory), verifying SHA256SUMS.gpg with the release
#     key given here (never the bucket's keyring) and the image's sha256;
#  2. systemd-dissect reads the image and its extension-release (ARCHITECTURE must be ARCH's);
#  3. on a machine of that architecture systemd-sysext merges the image into a scratch root and the merged binary runs
#     (`<binary> --version` must print the version); elsewhere sysext refuses a foreign ARCHITECTURE, so the binary is
#     copied out of the image, its ELF machine checked, and run under qemu-user when one is found.
# Usage: host-check.sh --url URL --version V --arch amd64|arm64 --key FILE [--name alloy] [--binary usr/bin/alloy]
#   URL: the bucket prefix's public URL; FILE: the release public key (armored or binary).
# Env: SYSTEMD_ROOT: where systemd's binaries are (default: the systemd 254 root tools/setup/setup.sh builds under
#   .cache/hosts/bookworm-backports/root when present, else / , the machine's own); QEMU_AARCH64 / QEMU_X86_64 (default:
#   on PATH, or .cache/qemu-user).
# Needs root (a private mount namespace, loop devices, overlayfs): CI runs it in a privileged container.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
name=alloy
url='' version='' arch='' key='' binary=''
while [ $# -gt 0 ]; do
  case "$1" in
    --url) url=${2%/} ;;
    --version) version=$2 ;;
    --arch) arch=$2 ;;
    --key) key=$2 ;;
    --name) name=$2 ;;
    --binary) binary=$2 ;;
    *) echo "host-check: unknown argument \"$1\" (expected --url, --version, --arch, --key, --name, --binary)" >&2; exit 2 ;;
  esac
  shift 2
done
binary=${binary:-usr/bin/$name}
for v in url version arch key; do
  [ -n "${!v}" ] || { echo "host-check: --$v is required" >&2; exit 2; }
done
case "$arch" in
  amd64) release_arch=x86-64 machine=62 qemu_name=x86_64 native_m=x86_64 ;;
  arm64) release_arch=arm64 machine=183 qemu_name=aarch64 native_m=aarch64 ;;
  *) echo "host-check: --arch \"$arch\" must be amd64 or arm64" >&2; exit 2 ;;
esac
[ "$(id -u)" -eq 0 ] || { echo "host-check: needs root (mount namespace, loop devices); run it in a privileged container" >&2; exit 1; }
sd=${SYSTEMD_ROOT:-$here/.cache/hosts/bookworm-backports/root}
[ -n "${SYSTEMD_ROOT:-}" ] || [ -x "$sd/usr/lib/systemd/systemd-sysupdate" ] || sd=/
[ -x "$sd/usr/lib/systemd/systemd-sysupdate" ] || {
  echo "host-check: no systemd-sysupdate in $sd/usr/lib/systemd: install systemd (the runner's) or run tools/setup/setup.sh" >&2
  exit 1
}
libdir=$(dirname "$(find "$sd/usr/lib" -maxdepth 3 -name 'libsystemd-shared-*.so' | head -1)")
run_sd() { LD_LIBRARY_PATH=$libdir SYSTEMD_PULL_PATH=$sd/usr/lib/systemd/systemd-pull SYSTEMD_LOG_COLOR=0 SYSTEMD_PAGER=cat "$@"; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
report() { printf 'host-check %s %s: %-9s %s\n' "$name $version" "$arch" "$1" "$2"; }
fail() { report "$1" "FAILED: $2"; failed=1; }

# The release key as a binary keyring (what systemd reads at /etc/systemd/import-pubring.gpg).
if grep -q -- '-----BEGIN PGP PUBLIC KEY BLOCK-----' "$key"; then
  gpg --batch --quiet --dearmor <"$key" >"$work/import-pubring.gpg"
else
  cp "$key" "$work/import-pubring.gpg"
fi

# 1. sysupdate, with the published transfer definition
mkdir -p "$work/sysupdate.d" "$work/extensions" "$work/etc-extensions"
conf=$name-$arch.conf
curl -fsS --max-time 60 -o "$work/$conf" "$url/$conf" || { fail sysupdate "cannot download $url/$conf"; exit 1; }
sed -e "s#^Path=/opt/extensions/.*#Path=$work/extensions#" -e "s#^CurrentSymlink=.*#CurrentSymlink=$work/etc-extensions/$name.raw#" \
  "$work/$conf" >"$work/sysupdate.d/$name.conf"
# Inside the namespace only: the keyring over /etc/systemd/import-pubring.gpg (or a directory holding just it).
keyring_mount='if [ -e /etc/systemd/import-pubring.gpg ]; then mount --bind "$0/import-pubring.gpg" /etc/systemd/import-pubring.gpg;
  else mount --bind "$0" /etc/systemd; fi'
if run_sd unshare -m sh -c "set -e; mount --make-rprivate /; $keyring_mount; exec \"\$@\"" "$work" \
  "$sd/usr/lib/systemd/systemd-sysupdate" --definitions="$work/sysupdate.d" --no-pager update "$version" >"$work/sysupdate.log" 2>&1; then
  image=$work/extensions/$name-$version-$arch.raw
  if [ -f "$image" ] && grep -q 'Signature verification succeeded' "$work/sysupdate.log"; then
    report sysupdate "installed $(basename "$image") (SHA256SUMS.gpg verified with the release key, sha256 checked)"
  else
    fail sysupdate "no verified $name-$version-$arch.raw: $(tail -3 "$work/sysupdate.log" | tr '\n' ' ')"
  fi
else
  fail sysupdate "$(tail -5 "$work/sysupdate.log" | tr '\n' ' ')"
fi
[ "$failed" -eq 0 ] || exit 1

# A scratch root holding the image under the name hosts link it by (the transfer's CurrentSymlink, <name>.raw): its
# extension-release file is named after that name, so dissect and sysext find it there.
root=$work/root
mkdir -p "$root/usr/lib" "$root/var/lib/extensions"
cp /etc/os-release "$root/usr/lib/os-release"
cp "$image" "$root/var/lib/extensions/$name.raw"
image=$root/var/lib/extensions/$name.raw

# 2. dissect: the image is a system extension for this architecture
dissected=$(run_sd "$sd/usr/bin/systemd-dissect" --json=short "$image" 2>&1) || { fail dissect "$dissected"; exit 1; }
if grep -q "\"ARCHITECTURE=$release_arch\"" <<<"$dissected" && grep -q '"useSystemExtension":true' <<<"$dissected"; then
  report dissect "a system extension, ARCHITECTURE=$release_arch"
else
  fail dissect "expected a sysext with ARCHITECTURE=$release_arch: $dissected"
fi

# 3. merge and run where the architecture is native; elsewhere copy the binary out and run it under qemu-user
expect_version() {
  local out
  if out=$("$@" --version 2>&1) && grep -q -- "$version" <<<"$out"; then
    report run "/$binary --version: $(head -1 <<<"$out")"
  else
    fail run "/$binary --version printed \"$(head -1 <<<"$out")\", expected $version"
  fi
}
if [ "$(uname -m)" = "$native_m" ]; then
  # systemd-sysext mounts in a child namespace: a shared mount of the scratch root carries the merge back to ours.
  merged=$(run_sd unshare -m sh -c 'set -e; mount --make-rprivate /; mount -t tmpfs tmpfs /run
    mount --bind "$0" "$0"; mount --make-rshared "$0"; "$1" --root="$0" merge >&2
    test -x "$0/$2" && test -f "$0/usr/lib/systemd/system/$3.service" && "$0/$2" --version' \
    "$root" "$sd/usr/bin/systemd-sysext" "$binary" "$name" 2>"$work/merge.log") || true
  if grep -q -- "$version" <<<"$merged"; then
    report merge "systemd-sysext merged $name.raw: /$binary and $name.service present"
    report run "/$binary --version: $(head -1 <<<"$merged")"
  else
    fail merge "$(tr '\n' ' ' <"$work/merge.log") $merged"
  fi
else
  report merge "not on this $(uname -m) machine: systemd-sysext merges only ARCHITECTURE=$release_arch (a native runner does)"
  run_sd "$sd/usr/bin/systemd-dissect" --copy-from "$image" "/$binary" "$work/binary" >/dev/null 2>&1 || {
    fail copy "cannot copy /$binary out of the image"
    exit 1
  }
  found=$(od -An -t u2 -j 18 -N 2 "$work/binary" | tr -d ' ')
  if [ "$found" = "$machine" ]; then report elf "/$binary is an ELF executable for $arch (e_machine $machine)"; else fail elf "e_machine $found, expected $machine"; fi
  var=QEMU_$(tr '[:lower:]' '[:upper:]' <<<"$qemu_name")
  qemu=${!var:-$(command -v "qemu-$qemu_name-static" || command -v "qemu-$qemu_name" || true)}
  [ -n "$qemu" ] || [ ! -x "$here/.cache/qemu-user/qemu-$qemu_name-static" ] || qemu=$here/.cache/qemu-user/qemu-$qemu_name-static
  if [ -n "$qemu" ]; then
    chmod +x "$work/binary"
    expect_version "$qemu" "$work/binary"
  else
    report run "not run: no qemu-$qemu_name on this machine"
  fi
fi
exit "$failed"
