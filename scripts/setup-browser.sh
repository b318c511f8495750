#!/usr/bin/env bash
# Makes sure a Chromium is there for the browser tests and `deno task serve`'s page checks: Debian's
# `chromium` (its WebGPU runs headless on Mesa lavapipe through ANGLE, or on its own SwiftShader; the
# SwiftShader Vulkan driver it ships also serves `deno task doctor`). Browser downloads by test tools do not
# work here; this uses the distribution's package. Without root/apt it only says what to install.
set -euo pipefail
if [ -n "${CHROMIUM:-}" ] && [ -x "$CHROMIUM" ]; then
  echo "setup: chromium at $CHROMIUM"
  exit 0
fi
if command -v chromium >/dev/null; then
  echo "setup: $(chromium --version 2>/dev/null | head -n 1)"
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "setup: no chromium. As root run: apt-get update && apt-get install -y chromium" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium >/dev/null
echo "setup: installed $(chromium --version 2>/dev/null | head -n 1)"
