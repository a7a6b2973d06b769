/* diffusers_names.c — the names diffusers gives the Cosmos-1.0 networks,
 * mapped back to the official ones. diffusers' converter
 * (scripts/convert_cosmos_to_diffusers.py) renames the official state dict
 * by plain substring replacement; these tables undo it piece by piece
 * (the tests run that replacement forwards over the official names and
 * check that every name comes back). Tensors are only renamed, never
 * reshaped; the converter drops logvar.*, pos_embedder.seq and the
 * tokenizer's Haar buffers, which orrery's loaders do not need. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

typedef struct rename_rule {
    const char *diffusers, *official;
} rename_rule;

/* DiT names outside the blocks, after "net.". */
static const rename_rule dit_top[] = {
    {"time_embed.t_embedder.", "t_embedder.1."},
    {"time_embed.norm.", "affline_norm."},
    {"patch_embed.proj.", "x_embedder.proj.1."},
    {"learnable_pos_embed.", "extra_pos_embedder."},
    {"norm_out.linear_1.", "final_layer.adaLN_modulation.1."},
    {"norm_out.linear_2.", "final_layer.adaLN_modulation.2."},
    {"proj_out.", "final_layer.linear."},
};

/* Inside transformer_blocks.<i> = blocks.block<i>: self-attention (0),
 * cross-attention (1), MLP (2) and their adaLN modulations. */
static const rename_rule dit_block[] = {
    {"attn1.to_q.", "blocks.0.block.attn.to_q.0."},
    {"attn1.norm_q.", "blocks.0.block.attn.to_q.1."},
    {"attn1.to_k.", "blocks.0.block.attn.to_k.0."},
    {"attn1.norm_k.", "blocks.0.block.attn.to_k.1."},
    {"attn1.to_v.", "blocks.0.block.attn.to_v.0."},
    {"attn1.to_out.0.", "blocks.0.block.attn.to_out.0."},
    {"attn2.to_q.", "blocks.1.block.attn.to_q.0."},
    {"attn2.norm_q.", "blocks.1.block.attn.to_q.1."},
    {"attn2.to_k.", "blocks.1.block.attn.to_k.0."},
    {"attn2.norm_k.", "blocks.1.block.attn.to_k.1."},
    {"attn2.to_v.", "blocks.1.block.attn.to_v.0."},
    {"attn2.to_out.0.", "blocks.1.block.attn.to_out.0."},
    {"ff.net.0.proj.", "blocks.2.block.layer1."},
    {"ff.net.2.", "blocks.2.block.layer2."},
    {"norm1.linear_1.", "blocks.0.adaLN_modulation.1."},
    {"norm1.linear_2.", "blocks.0.adaLN_modulation.2."},
    {"norm2.linear_1.", "blocks.1.adaLN_modulation.1."},
    {"norm2.linear_2.", "blocks.1.adaLN_modulation.2."},
    {"norm3.linear_1.", "blocks.2.adaLN_modulation.1."},
    {"norm3.linear_2.", "blocks.2.adaLN_modulation.2."},
};

static const char *match_prefix(const char *name, const rename_rule *rules, size_t n, const rename_rule **rule) {
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(rules[i].diffusers);
        if (!strncmp(name, rules[i].diffusers, len) && name[len]) {
            *rule = &rules[i];
            return name + len;
        }
    }
    return NULL;
}

static orr_status write_name(char *buf, size_t size, const char *name, const char *fmt, ...) ORR_PRINTF(4, 5);

static orr_status write_name(char *buf, size_t size, const char *name, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= size)
        return orr_error(ORR_ERR_ARGUMENT, "names: the official name of '%s' needs %d bytes, more than the %zu given",
                         name, n + 1, size);
    return ORR_OK;
}

static orr_status unknown(const char *layout, const char *name) {
    return orr_error(ORR_ERR_NOT_FOUND, "names: '%s' is not a tensor name of the %s layout", name, layout);
}

static orr_status map_dit(const char *name, char *buf, size_t size) {
    const rename_rule *rule;
    const char *rest = match_prefix(name, dit_top, sizeof dit_top / sizeof dit_top[0], &rule);
    if (rest) return write_name(buf, size, name, "net.%s%s", rule->official, rest);
    const char *p = name + strlen("transformer_blocks.");
    if (strncmp(name, "transformer_blocks.", strlen("transformer_blocks.")) != 0 || *p < '0' || *p > '9')
        return unknown("diffusers DiT", name);
    const char *digits = p;
    while (*p >= '0' && *p <= '9') p++;
    if (*p != '.' || p - digits > 6 || (*digits == '0' && p - digits > 1)) return unknown("diffusers DiT", name);
    rest = match_prefix(p + 1, dit_block, sizeof dit_block / sizeof dit_block[0], &rule);
    if (!rest) return unknown("diffusers DiT", name);
    return write_name(buf, size, name, "net.blocks.block%.*s.%s%s", (int)(p - digits), digits, rule->official, rest);
}

/* The tokenizer: one dotted segment (or a few) at a time. */
static const rename_rule vae_segments[] = {
    {"mid_block.resnets.0", "mid.block_1"},
    {"mid_block.resnets.1", "mid.block_2"},
    {"mid_block.attentions.0", "mid.attn_1.0"},
    {"mid_block.temp_attentions.0", "mid.attn_1.1"},
    {"down_blocks", "down"},
    {"resnets", "block"},
    {"downsamplers.0", "downsample"},
    {"upsamplers.0", "upsample"},
    {"to_q", "q.conv3d"},
    {"to_k", "k.conv3d"},
    {"to_v", "v.conv3d"},
    {"to_out.0", "proj_out.conv3d"},
    {"conv_s", "0.conv3d"},
    {"conv_t", "1.conv3d"},
    {"conv_shortcut", "nin_shortcut.conv3d"},
};

/* Convolutions that are a bare CausalConv3d officially: "x.weight" there
 * is "x.conv3d.weight". */
static const char *const vae_bare_convs[] = {"conv1", "conv2", "conv3", "quant_conv", "post_quant_conv"};

static bool is_leaf(const char *s) { return !strcmp(s, "weight") || !strcmp(s, "bias"); }

/* The segment starting at s matches `pattern` (one or more segments). */
static size_t match_segments(const char *s, const char *pattern) {
    size_t n = strlen(pattern);
    return !strncmp(s, pattern, n) && (s[n] == '.' || !s[n]) ? n : 0;
}

static orr_status map_vae(const char *name, char *buf, size_t size) {
    size_t used = 0;
    const char *s = name;
    if (strncmp(s, "encoder.", 8) && strncmp(s, "decoder.", 8) && strncmp(s, "quant_conv.", 11) &&
        strncmp(s, "post_quant_conv.", 16))
        return unknown("diffusers VAE", name);
    while (*s) {
        char part[64];
        const char *out = NULL;
        size_t n = 0;
        for (size_t i = 0; !out && i < sizeof vae_segments / sizeof vae_segments[0]; i++)
            if ((n = match_segments(s, vae_segments[i].diffusers))) out = vae_segments[i].official;
        if (!out && (n = match_segments(s, "up_blocks"))) {
            /* diffusers numbers the decoder's levels the other way round */
            const char *level = s + n + 1;
            if (!s[n] || level[0] < '0' || level[0] > '2' || (level[1] && level[1] != '.'))
                return unknown("diffusers VAE", name);
            snprintf(part, sizeof part, "up.%c", '2' - (level[0] - '0'));
            out = part;
            n += 2;
        }
        for (size_t i = 0; !out && i < sizeof vae_bare_convs / sizeof vae_bare_convs[0]; i++)
            if ((n = match_segments(s, vae_bare_convs[i])) && s[n] && is_leaf(s + n + 1)) {
                snprintf(part, sizeof part, "%s.conv3d", vae_bare_convs[i]);
                out = part;
            }
        if (!out) {
            const char *dot = strchr(s, '.');
            n = dot ? (size_t)(dot - s) : strlen(s);
            out = s;
        }
        size_t len = out == s ? n : strlen(out);
        if (used + len + 2 > size)
            return orr_error(ORR_ERR_ARGUMENT, "names: the official name of '%s' does not fit in %zu bytes", name, size);
        if (used) buf[used++] = '.';
        memcpy(buf + used, out, len);
        used += len;
        buf[used] = 0;
        s += n;
        if (*s == '.') s++;
    }
    return ORR_OK;
}

orr_status orr_name_map_apply(orr_name_map map, const char *name, char *buf, size_t size) {
    if (!name || !buf || !size) return orr_error(ORR_ERR_ARGUMENT, "names: name or buffer is NULL");
    switch (map) {
    case ORR_NAMES_OFFICIAL:
        return write_name(buf, size, name, "%s", name);
    case ORR_NAMES_DIFFUSERS_DIT:
        return map_dit(name, buf, size);
    case ORR_NAMES_DIFFUSERS_VAE:
        return map_vae(name, buf, size);
    default:
        return orr_error(ORR_ERR_ARGUMENT, "names: map %d is not a layout (AUTO must be detected first)", (int)map);
    }
}

orr_name_map orr_name_map_detect(const orr_checkpoint *ckpt) {
    for (int64_t i = 0; i < orr_ckpt_count(ckpt); i++) {
        const char *name = orr_ckpt_name(ckpt, i);
        if (!strncmp(name, "transformer_blocks.", 19) || !strcmp(name, "patch_embed.proj.weight"))
            return ORR_NAMES_DIFFUSERS_DIT;
        if ((!strncmp(name, "encoder.", 8) || !strncmp(name, "decoder.", 8)) &&
            (strstr(name, ".conv_s.") || strstr(name, "_blocks.")))
            return ORR_NAMES_DIFFUSERS_VAE;
    }
    return ORR_NAMES_OFFICIAL;
}
