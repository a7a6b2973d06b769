#!/bin/sh
# Runs `orrery verify` on one shared golden fixture; skips (77) when the
# fixtures are not on this machine (they live outside the repository).
orrery=$1 golden=$2 fixture=$3
[ -d "$golden/$fixture" ] || { echo "no $golden/$fixture: skipped"; exit 77; }
exec "$orrery" verify --quiet "$golden/$fixture"
