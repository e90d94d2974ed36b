#!/bin/sh
# Nx runtime input of the image and sign targets: the first version line of each image tool, in one command (Nx runs it
# once per invocation for both targets). mkfs.erofs 1.5 has no --version; it prints its version when it runs, as
# toolVersions in libs/sysext-image reads it. A missing tool yields the shell's "not found" line instead.
first() { "$@" 2>&1 | head -n 1; }
first mksquashfs -version
dir=$(mktemp -d) && first mkfs.erofs "$dir/empty.img" "$dir"
rm -rf "$dir"
first mkfs.ext4 -V
