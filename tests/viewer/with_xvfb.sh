#!/bin/sh
# Runs a command on a private X server (xvfb-run picks a free display), or
# skips (77) where there is none to start.
command -v xvfb-run >/dev/null 2>&1 && command -v Xvfb >/dev/null 2>&1 || {
    echo "skipped: no Xvfb"
    exit 77
}
unset WAYLAND_DISPLAY
# -noreset: the server would otherwise reset, refusing connections, each
# time its last client leaves (every viewer closed)
exec xvfb-run -a -s "-screen 0 1600x1200x24 -nolisten tcp -noreset" "$@"
