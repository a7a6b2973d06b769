#!/bin/sh
# `orrery view` as a user runs it: a video and a weight map made with
# orrery, a key script (step, screenshot, overlay off, screenshot, quit),
# and the screenshots' pixels: frame 2 under the heatmap, then frame 2.
# usage: test_view_cli.sh ORRERY   (starts its own Xvfb; 77 when it cannot)
set -eu
orrery=$1
here=$(cd "$(dirname "$0")" && pwd)
if [ -z "${ORR_TEST_XVFB:-}" ]; then
    ORR_TEST_XVFB=1 exec "$here/with_xvfb.sh" "$0" "$@"
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# 6 frames of 48x64, frame t filled with (10t, 255 - 10t, 40); weights 0.5
"$orrery" -e "
local orrery, media = require 'orrery', require 'orrery.media'
local f = orrery.empty({6, 48, 64, 3}, 'u8')
for t = 0, 5 do
  for i = 0, 48 * 64 - 1 do
    f:set(t * 48 * 64 * 3 + i * 3, 10 * t); f:set(t * 48 * 64 * 3 + i * 3 + 1, 255 - 10 * t)
    f:set(t * 48 * 64 * 3 + i * 3 + 2, 40)
  end
end
media.save_video('$dir/solid.mp4', f, {fps = 24})
orrery.save('$dir/weights.safetensors', {w = orrery.full({6, 8}, 0.5)})
"
cat > "$dir/keys.txt" <<KEYS
# two frames on, a look with the overlay and one without
key Right
key Right
screenshot $dir/overlay.png
key o
screenshot $dir/plain.png
quit
KEYS
"$orrery" view --size 640x480 --script "$dir/keys.txt" --overlay "$dir/weights.safetensors@0" --range 0,1 \
    "$dir/solid.mp4"

# (320, 200) lies inside the one pane's image; the heatmap's middle colour
# (188, 55, 84) is blended at 160/255 over the frame
"$orrery" -e "
local media = require 'orrery.media'
local frame, hot = {20, 235, 40}, {188, 55, 84}
local function check(file, want, tol)
  local img = media.read_png('$dir/' .. file)
  for j = 1, 3 do
    local got = img:get(200, 320, j - 1)
    if math.abs(got - want[j]) > tol then
      error(('%s: channel %d is %d, expected %d'):format(file, j - 1, got, want[j]))
    end
  end
end
local blended = {}
for j = 1, 3 do blended[j] = math.floor((hot[j] * 160 + frame[j] * 95 + 127) / 255) end
check('plain.png', frame, 8)
check('overlay.png', blended, 6)
print('test_view_cli: passed')
"
