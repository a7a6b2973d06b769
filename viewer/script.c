/* script.c — scripted input: each line acts as a user would (keys, the
 * mouse), through SDL's event queue so that it takes the same path as real
 * input; "wait" runs updates on a virtual clock of 1/60 s each, so that a
 * script plays the same on any machine. Used by tests, demos and
 * `orrery view --script`. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "viewer.h"

static void push(SDL_Event *e) {
    e->common.timestamp = SDL_GetTicks();
    SDL_PushEvent(e);
}

static orr_status command_key(orr_viewer *v, const char *spec) {
    Uint16 mod = KMOD_NONE;
    const char *name = spec;
    for (;;) {
        if (SDL_strncasecmp(name, "shift+", 6) == 0) mod |= KMOD_LSHIFT, name += 6;
        else if (SDL_strncasecmp(name, "ctrl+", 5) == 0) mod |= KMOD_LCTRL, name += 5;
        else if (SDL_strncasecmp(name, "alt+", 4) == 0) mod |= KMOD_LALT, name += 4;
        else break;
    }
    SDL_Keycode sym = SDL_GetKeyFromName(name);
    if (sym == SDLK_UNKNOWN)
        return orr_error(ORR_ERR_ARGUMENT, "viewer: unknown key '%s' in 'key %s' (SDL key names: space, Right, a, ?)",
                         name, spec);
    SDL_Event e = {0};
    e.key.windowID = SDL_GetWindowID(v->window);
    e.key.keysym.sym = sym;
    e.key.keysym.scancode = SDL_GetScancodeFromKey(sym);
    e.key.keysym.mod = mod;
    e.type = SDL_KEYDOWN;
    e.key.state = SDL_PRESSED;
    push(&e);
    e.type = SDL_KEYUP;
    e.key.state = SDL_RELEASED;
    push(&e);
    return ORR_OK;
}

static void mouse_motion(orr_viewer *v, int x, int y, bool held) {
    SDL_Event e = {0};
    e.type = SDL_MOUSEMOTION;
    e.motion.windowID = SDL_GetWindowID(v->window);
    e.motion.x = x;
    e.motion.y = y;
    e.motion.state = held ? SDL_BUTTON_LMASK : 0;
    push(&e);
}

static void mouse_button(orr_viewer *v, int x, int y, bool down) {
    SDL_Event e = {0};
    e.type = down ? SDL_MOUSEBUTTONDOWN : SDL_MOUSEBUTTONUP;
    e.button.windowID = SDL_GetWindowID(v->window);
    e.button.button = SDL_BUTTON_LEFT;
    e.button.state = down ? SDL_PRESSED : SDL_RELEASED;
    e.button.clicks = 1;
    e.button.x = x;
    e.button.y = y;
    push(&e);
}

/* Reads n integers after the command word; false when they are not there. */
static bool ints(const char *args, int n, int *out) {
    const char *s = args;
    for (int i = 0; i < n; i++) {
        char *end;
        errno = 0;
        long x = strtol(s, &end, 10);
        if (end == s || errno || x < -1000000 || x > 1000000) return false;
        out[i] = (int)x;
        s = end;
    }
    while (*s == ' ' || *s == '\t') s++;
    return *s == 0;
}

orr_status orr_viewer_command(orr_viewer *v, const char *line) {
    if (!v || !line) return orr_error(ORR_ERR_ARGUMENT, "viewer_command: viewer and line must not be NULL");
    char word[16] = "", rest[512] = "";
    while (*line == ' ' || *line == '\t') line++;
    size_t len = strcspn(line, "\r\n");
    if (len == 0 || line[0] == '#') return ORR_OK;
    if (sscanf(line, "%15s", word) != 1) return ORR_OK;
    const char *args = line + strlen(word);
    while (*args == ' ' || *args == '\t') args++;
    snprintf(rest, sizeof rest, "%.*s", (int)(len - (size_t)(args - line)), args);
    int n[4];
    if (strcmp(word, "key") == 0 && rest[0]) return command_key(v, rest);
    if (strcmp(word, "move") == 0 && ints(rest, 2, n)) {
        mouse_motion(v, n[0], n[1], false);
        return ORR_OK;
    }
    if (strcmp(word, "click") == 0 && ints(rest, 2, n)) {
        mouse_motion(v, n[0], n[1], false);
        mouse_button(v, n[0], n[1], true);
        mouse_button(v, n[0], n[1], false);
        return ORR_OK;
    }
    if (strcmp(word, "drag") == 0 && ints(rest, 4, n)) {
        mouse_motion(v, n[0], n[1], false);
        mouse_button(v, n[0], n[1], true);
        mouse_motion(v, n[2], n[3], true);
        mouse_button(v, n[2], n[3], false);
        return ORR_OK;
    }
    if (strcmp(word, "wheel") == 0 && ints(rest, 1, n)) {
        SDL_Event e = {0};
        e.type = SDL_MOUSEWHEEL;
        e.wheel.windowID = SDL_GetWindowID(v->window);
        e.wheel.y = n[0];
        e.wheel.direction = SDL_MOUSEWHEEL_NORMAL;
        push(&e);
        return ORR_OK;
    }
    if (strcmp(word, "wait") == 0 && ints(rest, 1, n) && n[0] >= 0) {
        orr_status st = ORR_OK;
        for (int i = 0; i < n[0] && !st && v->open; i++) st = orr_viewer_update(v, 1.0 / 60, NULL);
        return st;
    }
    if (strcmp(word, "screenshot") == 0 && rest[0]) {
        orr_status st = orr_viewer_update(v, 0, NULL); /* what earlier lines asked for comes first */
        return st ? st : orr_viewer_screenshot(v, rest);
    }
    if (strcmp(word, "quit") == 0 && !rest[0]) {
        SDL_Event e = {0};
        e.type = SDL_QUIT;
        push(&e);
        return orr_viewer_update(v, 0, NULL);
    }
    return orr_error(ORR_ERR_FORMAT,
                     "viewer: cannot read '%.*s': expected key NAME, move X Y, click X Y, drag X0 Y0 X1 Y1, "
                     "wheel N, wait N, screenshot PATH or quit", (int)len, line);
}

orr_status viewer_script_run(orr_viewer *v, const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return orr_error(ORR_ERR_IO, "viewer: cannot open the script %s: %s", path, strerror(errno));
    char line[1024];
    orr_status st = ORR_OK;
    for (int number = 1; !st && v->open && fgets(line, sizeof line, f); number++)
        if ((st = orr_viewer_command(v, line))) orr_error_context(st, "%s:%d: ", path, number);
    fclose(f);
    return st;
}
