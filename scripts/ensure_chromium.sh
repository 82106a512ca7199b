#!/usr/bin/env bash
# Checks that Debian's Chromium is installed: the finance report's tests open the page in
# /usr/bin/chromium itself (no tool downloads a browser of its own). It installs nothing:
# `make test` runs it first and stops with the way to install it; CI (.ci/run) installs it.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
    exit 0
fi

cat >&2 <<MESSAGE
ensure_chromium: $CHROMIUM is missing; the finance report's tests open the page in it.
Install Debian's chromium package (it provides $CHROMIUM), then run make test again:
    sudo apt-get update && sudo apt-get install -y chromium
MESSAGE
exit 1
