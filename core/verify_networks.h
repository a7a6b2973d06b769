/* verify_networks.h — the networks `orrery verify` knows out of the box. */
#ifndef ORR_VERIFY_NETWORKS_H
#define ORR_VERIFY_NETWORKS_H

/* Registers every built-in runner with orr_verify_register; each model
 * file adds its own line to verify_networks.c. */
void orr_verify_register_builtin_networks(void);

#endif
