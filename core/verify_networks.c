/* verify_networks.c — the table of built-in networks for `orrery verify`.
 * A model registers its runners here, under the official class name its
 * fixtures carry in their `network` metadata (or the function in `call`). */
#include "internal.h"
#include "verify_networks.h"

void orr_verify_register_builtin_networks(void) {
    /* tokenizers */
    /* diffusion */
}
