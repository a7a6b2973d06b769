/* verify_networks.c — the table of built-in networks for `orrery verify`.
 * A model registers its runners here, under the official class name its
 * fixtures carry in their `network` metadata (or the function in `call`). */
#include "internal.h"
#include "verify_networks.h"
#include "models/tokenizer.h"

void orr_verify_register_builtin_networks(void) {
    /* tokenizers */
    orr_verify_register("CausalContinuousVideoTokenizer", tok_verify_continuous_video);
    orr_verify_register("CausalDiscreteVideoTokenizer", tok_verify_discrete_video);
    orr_verify_register("ContinuousImageTokenizer", tok_verify_continuous_image);
    orr_verify_register("DiscreteImageTokenizer", tok_verify_discrete_image);
    /* diffusion */
    void orr_diffusion_register_verify(void); /* core/models/dit_verify.c */
    orr_diffusion_register_verify();
    /* transfer */
    void orr_transfer_register_verify(void); /* core/models/transfer_verify.c */
    orr_transfer_register_verify();
    void orr_preproc_register_verify(void); /* core/preprocess/preproc_verify.c */
    orr_preproc_register_verify();
}
