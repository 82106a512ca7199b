#!/usr/bin/env bash
# Installs Debian's Chromium, the browser the finance report's tests open the page in, when it
# is absent. The tests drive /usr/bin/chromium itself: no tool downloads a browser of its own.
set -euo pipefail

CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

if [ -x "$CHROMIUM" ]; then
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    as_root=""
elif command -v sudo >/dev/null 2>&1; then
    as_root="sudo"
else
    echo "ensure_chromium: $CHROMIUM is missing and installing it needs root (apt-get install chromium)" >&2
    exit 1
fi

echo "ensure_chromium: installing Debian's chromium package"
$as_root apt-get update -qq
$as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null

if [ ! -x "$CHROMIUM" ]; then
    echo "ensure_chromium: apt-get installed chromium but $CHROMIUM is not there" >&2
    exit 1
fi
echo "ensure_chromium: $("$CHROMIUM" --version 2>/dev/null)"
