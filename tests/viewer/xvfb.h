/* xvfb.h — a private X server for the viewer tests, so that they never
 * open windows on a user's desktop and see the same screen everywhere. */
#ifndef ORR_TEST_XVFB_H
#define ORR_TEST_XVFB_H

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

/* Starts Xvfb on a free display (it picks one and tells it through
 * -displayfd) and points DISPLAY at it. Returns its pid, or -1 when no X
 * server can be started (the caller skips). */
static pid_t xvfb_start(void) {
    int fds[2];
    if (pipe(fds)) return -1;
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        close(fds[0]);
        char fd[16];
        snprintf(fd, sizeof fd, "%d", fds[1]);
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) {
            dup2(null, 1);
            dup2(null, 2);
        }
        /* -noreset: without it the server resets when its last client leaves,
         * and refuses connections meanwhile (a viewer opened right after
         * another closed would find no display) */
        execlp("Xvfb", "Xvfb", "-displayfd", fd, "-screen", "0", "1600x1200x24", "-nolisten", "tcp", "-noreset",
               (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char number[32] = {0};
    size_t got = 0;
    struct pollfd p = {fds[0], POLLIN, 0};
    while (got < sizeof number - 1 && poll(&p, 1, 10000) > 0) {
        ssize_t n = read(fds[0], number + got, sizeof number - 1 - got);
        if (n <= 0) break;
        got += (size_t)n;
        if (number[got - 1] == '\n') break;
    }
    close(fds[0]);
    if (!got || number[0] < '0' || number[0] > '9') {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
        return -1;
    }
    char display[40];
    snprintf(display, sizeof display, ":%d", atoi(number));
    setenv("DISPLAY", display, 1);
    setenv("SDL_VIDEODRIVER", "x11", 1);
    unsetenv("WAYLAND_DISPLAY");
    return pid;
}

static void xvfb_stop(pid_t pid) {
    if (pid <= 0) return;
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

#endif
