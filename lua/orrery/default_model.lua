-- default_model.lua — the built-in model of the demo: the official
-- Text2World architecture (GeneralDIT with every switch of the 7B model, the
-- CV8x8x8 tokenizer) shrunk to run in seconds on a laptop CPU.
--
-- Its weights are RANDOM (drawn from Philox with a fixed seed): orrery has no
-- trained weights of its own yet, so what it generates is structured noise.
return {
  seed = 20261125,
  dit_network = "GeneralDIT",
  dit_config = [[{
    "patch_spatial": 2, "patch_temporal": 1, "block_config": "FA-CA-MLP",
    "concat_padding_mask": true, "pos_emb_cls": "rope3d", "pos_emb_learnable": false,
    "pos_emb_interpolation": "crop", "block_x_format": "THWBD", "affline_emb_norm": true,
    "use_adaln_lora": true, "extra_per_block_abs_pos_emb": true,
    "extra_per_block_abs_pos_emb_type": "learnable",
    "rope_h_extrapolation_ratio": 1.0, "rope_w_extrapolation_ratio": 1.0,
    "rope_t_extrapolation_ratio": 2.0, "mlp_ratio": 4.0,
    "max_img_h": 32, "max_img_w": 32, "max_frames": 8,
    "in_channels": 16, "out_channels": 16, "model_channels": 256, "num_blocks": 4,
    "num_heads": 4, "crossattn_emb_channels": 128, "adaln_lora_dim": 32
  }]],
  tokenizer_config = [[{
    "attn_resolutions": [32], "channels": 16, "channels_mult": [2, 4, 4], "dropout": 0.0,
    "in_channels": 3, "num_res_blocks": 2, "out_channels": 3, "resolution": 1024,
    "patch_size": 4, "patch_method": "haar", "latent_channels": 16, "z_channels": 16,
    "z_factor": 1, "num_groups": 1, "legacy_mode": false, "spatial_compression": 8,
    "temporal_compression": 8, "formulation": "AE", "encoder": "FACTORIZED",
    "decoder": "FACTORIZED", "name": "CV"
  }]],
  text_length = 16,     -- tokens of the (random) text embedding
  frames = 33,          -- 1 + 4 * temporal compression
  height = 256, width = 256,
  fps = 24,
}
