"""Every causal language model family of the installed transformers, from a shrunken default config, for
``python bench/importer.py --transformers-sweep``: an outside check on model code nobody picked for the importer.

Each family's config class is built with its defaults overridden where it has the usual size keys (2 layers, width
64, 4 heads, a vocabulary of 500, 4 experts of which 2 per token, ...); a family whose config refuses that, or
whose model does not build from it, is reported as not built (a limit of this shrinking, not of the importer);
one that still has more than 30 million parameters (counted on torch's meta device first: some defaults hold
billions) is skipped (a CPU-only run). Token ids (2, 16) in.
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
    for key, value in SMALL.items():
        if hasattr(cfg, key):
            try:
                setattr(cfg, key, value)
            except Exception:
                pass
    if isinstance(getattr(cfg, "layer_types", None), list):
        try:
            cfg.layer_types = cfg.layer_types[:SMALL["num_hidden_layers"]]
        except Exception:
            pass
    return cfg


def causal_lm_builders() -> list:
    import torch
    import transformers as T
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    def build(model_name: str, config_name: str):
        try:
            cfg = _small(getattr(T, config_name))
            with torch.device("meta"):   # counted first without memory: some defaults hold billions
                size = sum(p.numel() for p in getattr(T, model_name)(cfg).parameters())
            if size > LIMIT:
                raise Unbuilt(f"{size:,} parameters from the shrunken config")
            model = getattr(T, model_name)(cfg).eval()
        except Unbuilt:
            raise
        except Exception as err:
            raise Unbuilt(f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"[:150]) from None
        return model, torch.randint(3, 400, (2, 16))

    out = []
    for family in sorted(MODEL_FOR_CAUSAL_LM_MAPPING_NAMES):
        model_name, config_name = MODEL_FOR_CAUSAL_LM_MAPPING_NAMES[family], CONFIG_MAPPING_NAMES.get(family)
        if family in SKIP or not hasattr(T, model_name) or config_name is None or not hasattr(T, config_name):
            continue
        out.append((family, lambda m=model_name, c=config_name: build(m, c)))
    return out
