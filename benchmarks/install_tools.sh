#!/usr/bin/env bash
# Install the command-line tools the benchmark compares with, when running as
# root on Debian or Ubuntu; otherwise list the missing ones and go on, since
# the runner reports each missing tool in docs/benchmarks.md.
set -uo pipefail

missing=()
command -v mogrify >/dev/null 2>&1 || missing+=(imagemagick)
command -v vipsthumbnail >/dev/null 2>&1 || missing+=(libvips-tools)
command -v jpegtran >/dev/null 2>&1 || missing+=(libjpeg-turbo-progs)
command -v parallel >/dev/null 2>&1 || missing+=(parallel)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" \
        || echo "bench: apt-get could not install ${missing[*]}; those tools will be listed as missing" >&2
else
    echo "bench: not installed: ${missing[*]} (apt-get install them as root); those tools will be listed as missing" >&2
fi
exit 0
