# Sourced by scripts/check-artifacts.sh: what runs aarch64 artifacts on an x86_64 host.
# qemu-user from Debian (there is no PyPI route), and Debian's arm64 glibc and Python 3.11
# unpacked into a sysroot, not installed: about 7 MB of packages, fetched once per sysroot.
# Installing needs root and apt (Debian or a derivative whose mirror carries arm64).

AARCH64_PACKAGES=(libc6 libgcc-s1 zlib1g libexpat1 python3.11-minimal libpython3.11-minimal libpython3.11-stdlib)

# aarch64_runtime SYSROOT: qemu-aarch64 on PATH and SYSROOT/usr/bin/python3, or exit 1 saying
# what is missing.
aarch64_runtime() {
  local sysroot=$1 debs
  if command -v qemu-aarch64 >/dev/null && [ -x "$sysroot/usr/bin/python3" ]; then
    return
  fi
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "aarch64 checks need qemu-user and Debian's arm64 packages: run as root on Debian," >&2
    echo "or install qemu-user and unpack ${AARCH64_PACKAGES[*]} (arm64) into $sysroot" >&2
    exit 1
  fi
  if ! command -v qemu-aarch64 >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-user >/dev/null \
      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-user >/dev/null; }
  fi
  if [ ! -x "$sysroot/usr/bin/python3" ]; then
    if ! dpkg --print-foreign-architectures | grep -qx arm64; then
      dpkg --add-architecture arm64
    fi
    apt-get update -qq
    debs=$(mktemp -d)
    chmod 755 "$debs"   # apt's download user writes there
    (cd "$debs" && apt-get download -qq "${AARCH64_PACKAGES[@]/%/:arm64}")
    rm -rf "$sysroot.partial" && mkdir -p "$sysroot.partial"
    for deb in "$debs"/*.deb; do dpkg-deb -x "$deb" "$sysroot.partial"; done
    ln -sf python3.11 "$sysroot.partial/usr/bin/python3"
    rm -rf "$debs" "$sysroot" && mv "$sysroot.partial" "$sysroot"
  fi
}
