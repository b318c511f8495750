#!/usr/bin/env bash
# Makes sure WebGPU has an adapter: a GPU driver, or Mesa's software Vulkan (lavapipe). Deno itself comes
# from `npm ci`. On Debian 12 we take Mesa 25 from bookworm-backports: its lavapipe reads storage buffers
# about 9x faster than Debian 12's own Mesa 22.3. Without root/apt it only says what to install.
set -euo pipefail

have_vulkan_icd() {
  compgen -G "/usr/share/vulkan/icd.d/*.json" >/dev/null || compgen -G "/etc/vulkan/icd.d/*.json" >/dev/null
}

mesa_version() {
  dpkg-query -W -f '${Version}' mesa-vulkan-drivers 2>/dev/null || true
}

want_backports() {
  [ -r /etc/os-release ] && grep -q 'VERSION_CODENAME=bookworm' /etc/os-release
}

if have_vulkan_icd && { ! want_backports || [[ "$(mesa_version)" != 22.* ]]; }; then
  version=$(mesa_version)
  echo "setup: Vulkan driver present (${version:-not Mesa})"
  exit 0
fi

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "setup: no usable Vulkan driver. As root run:" >&2
  echo "  echo 'deb http://deb.debian.org/debian bookworm-backports main' > /etc/apt/sources.list.d/backports.list" >&2
  echo "  apt-get update && apt-get install -y -t bookworm-backports mesa-vulkan-drivers" >&2
  echo "(other distributions: install Mesa's Vulkan drivers, package mesa-vulkan-drivers or vulkan-swrast)" >&2
  have_vulkan_icd && exit 0 # Mesa 22.3 works, only slower
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
if want_backports; then
  echo "deb http://deb.debian.org/debian bookworm-backports main" >/etc/apt/sources.list.d/backports.list
  apt-get update -qq
  apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers >/dev/null
else
  apt-get update -qq
  apt-get install -y -qq mesa-vulkan-drivers >/dev/null
fi
echo "setup: installed mesa-vulkan-drivers $(mesa_version)"
