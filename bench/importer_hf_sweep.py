"""Every family of transformers with a causal language model, image classification, masked language model,
sequence classification, speech recognition (CTC) or audio classification head, from a shrunken default config,
for ``python bench/importer.py --transformers-sweep``: an outside check on model code nobody picked for the
importer.

Each family's config class is built with its defaults overridden where it has the usual size keys (2 layers, width
64, 4 heads, a vocabulary of 500, 4 experts of which 2 per token, images of 64 x 64 in 10 classes, ...); a family
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
# families that take minutes to build even shrunken (byte-level patching)
SKIP = {"blt"}
LIMIT = 30_000_000


class Unbuilt(Exception):
    """The family could not be built small (its config or model refused the shrinking)."""


def _small(config_class):
    try:
        cfg = config_class(**SMALL)
    except Exception:
        cfg = config_class()
    _set(cfg, **SMALL)
    if isinstance(getattr(cfg, "layer_types", None), list):
        try:
            cfg.layer_types = cfg.layer_types[:SMALL["num_hidden_layers"]]
        except Exception:
            pass
    return cfg


HEADS = {"causal LM": "MODEL_FOR_CAUSAL_LM_MAPPING_NAMES",
         "image classification": "MODEL_FOR_IMAGE_CLASSIFICATION_MAPPING_NAMES",
         "masked LM": "MODEL_FOR_MASKED_LM_MAPPING_NAMES",
         "sequence classification": "MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING_NAMES",
         "speech recognition (CTC)": "MODEL_FOR_CTC_MAPPING_NAMES",
         "audio classification": "MODEL_FOR_AUDIO_CLASSIFICATION_MAPPING_NAMES"}
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
    images = head == "image classification"
    speech = head in ("speech recognition (CTC)", "audio classification")

    def sample(cfg):
        if speech:
            return torch.randn(2, 4000)   # a waveform
        if not images:
            return torch.randint(3, 400, (2, 16))
        side = getattr(cfg, "image_size", 64)
        side = side if isinstance(side, int) else side[0]
        return torch.randn(2, getattr(cfg, "num_channels", 3), side, side)

    def build(model_name: str, config_name: str):
        try:
            cfg = None
            if speech:
                try:
                    cfg = getattr(T, config_name)(**SPEECH)
                except Exception:
                    pass
            cfg = cfg or _small(getattr(T, config_name))
            if images:
                _set(cfg, image_size=64, num_labels=10)
            if head == "sequence classification":   # a decoder's classifier finds each sample's last token by it
                _set(cfg, pad_token_id=1)
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
    out = []
    for family in sorted(mapping):
        model_name, config_name = mapping[family], CONFIG_MAPPING_NAMES.get(family)
        model_name = model_name[0] if isinstance(model_name, tuple) else model_name
        if family in SKIP or not hasattr(T, model_name) or config_name is None or not hasattr(T, config_name):
            continue
        out.append((family, lambda m=model_name, c=config_name: build(m, c)))
    return out


def _set(cfg, **values):
    for key, value in values.items():
        if hasattr(cfg, key):
            try:
                setattr(cfg, key, value)
            except Exception:
                pass
