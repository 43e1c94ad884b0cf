"""Every family of transformers with a causal language model, image classification, masked language model,
sequence classification, speech recognition (CTC), audio classification or semantic segmentation head, from a
shrunken default config, for ``python bench/importer.py --transformers-sweep``: an outside check on model code
nobody picked for the importer.

Each family's config class is built with its defaults overridden where it has the usual size keys (2 layers, width
64, 4 heads, a vocabulary of 500, 4 experts of which 2 per token, images of 64 x 64 in 10 classes, ...), on its
sub-configs too (a multimodal model's text part), with the sizes that must agree with those (latent attention,
partial rotary embeddings, encoder-decoder layers, a hybrid's two kinds of layers, a hierarchical vision model's
stages) and special token ids inside the vocabulary; a family
whose config refuses that, whose model does not build from it or whose forward fails on the sample input is
reported as not built (a limit of this shrinking, not of the importer); one that still has more than 30 million
parameters (counted on torch's meta device first: some defaults hold billions) is skipped (a CPU-only run). Token
ids (2, 16) in, images (2, C, 64, 64), or waveforms (2, 4000) (speech: 2 convolutions and 2 layers of width 64).
"""
from __future__ import annotations

# the usual names of size settings across transformers' configs
SMALL = dict(num_hidden_layers=2, hidden_size=64, num_attention_heads=4, num_key_value_heads=2, intermediate_size=128,
             vocab_size=500, max_position_embeddings=128, n_layer=2, n_embd=64, n_head=4, d_model=64, n_positions=128,
             num_layers=2, ffn_dim=128, head_dim=16, moe_intermediate_size=32, num_experts=4, num_local_experts=4,
             n_routed_experts=4, num_experts_per_tok=2)
# set only where the config already has them (a constructor may keep unknown keys, which some model code reads):
# partial rotary and latent-attention (MLA) dimensions that fit the heads of 16, encoder-decoder sizes, and where
# a hybrid's attention and expert layers sit (so that its two layers hold one of each kind)
SMALL_IF_PRESENT = dict(rotary_dim=8, kv_lora_rank=32, q_lora_rank=32, qk_rope_head_dim=16, qk_nope_head_dim=16,
                        v_head_dim=16, qk_head_dim=32, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4,
                        decoder_attention_heads=4, encoder_ffn_dim=128, decoder_ffn_dim=128, attn_layer_period=2,
                        attn_layer_offset=1, expert_layer_period=2, expert_layer_offset=1, attn_layer_indices=[1],
                        hybrid_layer_ids=[1])
# sizes a family names its own way (Mamba-2's heads times their width must be twice the model's width;
# EfficientNet's default is B7, 64 million parameters: B0's coefficients)
FAMILY_SIZES = {"mamba2": dict(num_heads=8),
                "efficientnet": dict(width_coefficient=1.0, depth_coefficient=1.0, hidden_dim=1280)}
# the per-layer kinds of a hybrid, cut to two layers
LAYER_KINDS = ("layer_types", "layers_block_type", "block_types")
# families that take minutes to build even shrunken (byte-level patching)
SKIP = {"blt"}
LIMIT = 30_000_000


class Unbuilt(Exception):
    """The family could not be built small (its config or model refused the shrinking)."""


def _small(config_class):
    try:   # a hybrid's default holds its kinds of layers; a config built for two layers may hold one kind only
        full = config_class()
    except Exception:
        full = None
    # given to the constructor, which derives settings from them (a rope per kind of layer)
    kinds = {key: _two_kinds(getattr(full, key)) for key in LAYER_KINDS
             if isinstance(getattr(full, key, None), list) and getattr(full, key)}
    for sizes in (dict(SMALL, **kinds), SMALL):
        try:
            cfg = config_class(**sizes)
            break
        except Exception:
            cfg = None
    cfg = cfg if cfg is not None else full if full is not None else config_class()
    _shrink(cfg, full)
    return cfg


def _shrink(cfg, full, depth=0):
    """The sizes of SMALL and SMALL_IF_PRESENT on `cfg` and on its sub-configs (a multimodal model's text and
    vision parts), two layers of different kinds for a hybrid (as `full`, the default, has them), and special
    token ids inside the vocabulary."""
    _set(cfg, **SMALL, **SMALL_IF_PRESENT)
    if hasattr(cfg, "kv_lora_rank"):   # latent attention (MLA) expands its keys to every head
        _set(cfg, num_key_value_heads=SMALL["num_attention_heads"])
    for key in LAYER_KINDS:
        kinds = getattr(full, key, None)
        kinds = kinds if isinstance(kinds, list) and kinds else getattr(cfg, key, None)
        if isinstance(kinds, list) and kinds:
            _set(cfg, **{key: _two_kinds(kinds)})
    if depth < 2:
        for key, sub in _sub_configs(cfg):
            _shrink(sub, getattr(full, key, None), depth + 1)
    vocab = getattr(cfg, "vocab_size", None)
    for key, value in list(vars(cfg).items()):
        if key.endswith("token_id") and isinstance(vocab, int) and isinstance(value, int) and value >= vocab:
            _set(cfg, **{key: 1 if key == "pad_token_id" else 2})   # the sample's tokens are 3 to 399


def _sub_configs(cfg) -> list:
    """(name, config) of the configs `cfg` holds (a multimodal model's text_config, vision_config)."""
    from transformers import PretrainedConfig
    return [(key, value) for key, value in list(vars(cfg).items()) if isinstance(value, PretrainedConfig)]


def _staged(config_class):
    """A hierarchical vision model (Swin, ConvNeXt: `depths`, one per stage) with its stages of one block each,
    widths 32, 64, 128, ... and one head per 16 channels, or None for a model without stages. The shared size
    keys give its per-stage lists and its width one value each, which do not fit together."""
    cfg = config_class()
    depths = getattr(cfg, "depths", None)
    if not isinstance(depths, (list, tuple)) or not depths:
        return None
    n = len(depths)
    widths = [32 * 2 ** i for i in range(n)]   # two heads of 16 at the first stage (Swin-T: three of 32)
    _set(cfg, depths=[1] * n, embed_dim=32, hidden_sizes=widths, hidden_size=widths[-1], num_layers=n,
         window_size=2)   # windows that tile every stage of 64 x 64 images (16 x 16 patches down to 2 x 2)
    if isinstance(getattr(cfg, "num_heads", None), (list, tuple)):
        _set(cfg, num_heads=[w // 16 for w in widths])
    return cfg


def _two_kinds(kinds: list) -> list:
    """Two layers of a hybrid's per-layer kinds: the first, then an attention layer of another kind if there is
    one (the attention mask is built from such a layer), else the first of another kind."""
    first = kinds[0]
    others = [k for k in kinds if k != first]
    attention = [k for k in others if "attention" in str(k)]
    return [first, (attention or others or [first])[0]]


HEADS = {"causal LM": "MODEL_FOR_CAUSAL_LM_MAPPING_NAMES",
         "image classification": "MODEL_FOR_IMAGE_CLASSIFICATION_MAPPING_NAMES",
         "masked LM": "MODEL_FOR_MASKED_LM_MAPPING_NAMES",
         "sequence classification": "MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING_NAMES",
         "speech recognition (CTC)": "MODEL_FOR_CTC_MAPPING_NAMES",
         "audio classification": "MODEL_FOR_AUDIO_CLASSIFICATION_MAPPING_NAMES",
         "semantic segmentation": "MODEL_FOR_SEMANTIC_SEGMENTATION_MAPPING_NAMES"}
# speech models' sizes, given to the config's constructor (its number of convolutions follows conv_dim there)
SPEECH = dict(num_hidden_layers=2, hidden_size=64, num_attention_heads=4, intermediate_size=128, conv_dim=(32, 32),
              conv_stride=(5, 2), conv_kernel=(10, 3), num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4,
              vocab_size=32)


def sweep_builders(head: str) -> list:
    """(family, build) for every family of transformers with `head` (a key of HEADS)."""
    import copy

    import torch
    import transformers as T
    from transformers.models.auto import modeling_auto
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES
    images = head in ("image classification", "semantic segmentation")
    speech = head in ("speech recognition (CTC)", "audio classification")

    def sample(cfg):
        if speech:
            return torch.randn(2, 4000)   # a waveform
        if not images:
            tokens = torch.randint(3, 400, (2, 16))
            eos = getattr(cfg, "eos_token_id", None)
            if head == "sequence classification" and isinstance(eos, int) and 0 <= eos < 400:
                tokens[:, -1] = eos   # an encoder-decoder's classifier reads each sample's last <eos> (BART)
            return tokens
        side = getattr(cfg, "image_size", 64)
        side = side if isinstance(side, int) else side[0]
        return torch.randn(2, getattr(cfg, "num_channels", 3), side, side)

    def build(family: str, model_name: str, config_name: str):
        # a family may map to the causal LM of its text part (Llama4ForCausalLM takes a Llama4TextConfig)
        config_class = getattr(getattr(T, model_name), "config_class", None) or getattr(T, config_name)
        try:
            return attempt(family, model_name, config_class, _small)
        except Unbuilt:
            if not images or _staged(config_class) is None:
                raise
        return attempt(family, model_name, config_class, _staged)   # a hierarchical vision model

    def attempt(family: str, model_name: str, config_class, shrink):
        try:
            cfg = None
            if speech:
                try:
                    cfg = config_class(**SPEECH)
                except Exception:
                    pass
            cfg = cfg or shrink(config_class)
            if images:
                _set(cfg, num_labels=10)
                _set_all(cfg, image_size=64)   # a CLIP's vision part has its own
            if head == "sequence classification":   # a decoder's classifier finds each sample's last token by it
                _set(cfg, pad_token_id=1)
                if getattr(cfg, "pad_token_id", None) is None:   # a multimodal config may have none to set
                    try:
                        cfg.pad_token_id = 1
                    except Exception:
                        pass
            if head == "causal LM":   # an encoder's causal LM head (BertLMHeadModel) wants a decoder
                _set(cfg, is_decoder=True)
            _set(cfg, **FAMILY_SIZES.get(family, {}))
            with torch.device("meta"):   # counted first without memory: some defaults hold billions
                size = sum(p.numel() for p in getattr(T, model_name)(cfg).parameters())
            if size > LIMIT:
                raise Unbuilt(f"{size:,} parameters from the shrunken config")
            model = getattr(T, model_name)(cfg).eval()
            x = sample(cfg)
            with torch.no_grad():   # on a copy: a forward may cache what it computed from parameters (LeViT)
                copy.deepcopy(model)(x)
        except Unbuilt:
            raise
        except Exception as err:
            raise Unbuilt(f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"[:150]) from None
        return model, x

    mapping = getattr(modeling_auto, HEADS[head])
    out, models = [], set()
    for family in sorted(mapping):
        model_name, config_name = mapping[family], CONFIG_MAPPING_NAMES.get(family)
        model_name = model_name[0] if isinstance(model_name, tuple) else model_name
        if family in SKIP or not hasattr(T, model_name) or config_name is None or not hasattr(T, config_name) \
                or model_name in models:   # llama4 and llama4_text: one model class, measured once
            continue
        models.add(model_name)
        out.append((family, lambda f=family, m=model_name, c=config_name: build(f, m, c)))
    return out


def _set_all(cfg, **values):
    """_set on `cfg` and on its sub-configs."""
    _set(cfg, **values)
    for _, sub in _sub_configs(cfg):
        _set(sub, **values)


def _set(cfg, **values):
    """Each value set where `cfg` has the key and takes it (a config may refuse to read or to set one: Gemma 4's
    per-layer head_dim)."""
    for key, value in values.items():
        try:
            if hasattr(cfg, key):
                setattr(cfg, key, value)
        except Exception:
            pass
