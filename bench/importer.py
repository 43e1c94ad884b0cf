"""The torch importer on networks nobody tuned it for: which import, with torch's parameter count, and how
their matrix products compare with torch's own FLOP counter.

Four sets: the hand-written networks of bench/reference/user_models.py (always), and, when torchvision is
installed (it is not a dependency of the project), its classification, video and segmentation networks
with random weights; when transformers is, 27 of Hugging Face's model families from small configs (six of
them mixtures of experts), given as they are, three other heads and inputs (wav2vec 2.0 on a waveform, CLIP's
vision tower, SegFormer's segmentation) and three models given a tokenizer's output, attention mask included
(BERT, LLaMA, and LLaMA as a sequence classifier);
when timm is, 50 of its models, one per family. Per network: imported or the one-line error, layers, parameters (ours and
``sum(p.numel())``), and the ratio of our convolution / linear / matmul forward FLOPs to what
``torch.utils.flop_counter.FlopCounterMode`` counts for the same forward in training mode (ours count the
biases and a fused attention's softmax too; torch does not count an LSTM's products on a CPU, which are
left out of both; the ratio is shown, not judged). Then one JSON line.

    python bench/importer.py                 # the hand-written set (a minute)
    python bench/importer.py --torchvision   # and torchvision's networks (about ten minutes)
    python bench/importer.py --transformers  # and Hugging Face's model families and heads (a minute)
    python bench/importer.py --timm          # and 50 of timm's models, one per family (two minutes)
    python bench/importer.py --transformers-sweep   # and every family of transformers with a causal LM, image
                                                    # classification, masked LM, sequence classification, CTC or
                                                    # audio classification head (twenty minutes)
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench" / "reference"))

# the layers whose work torch's counter sees (a GRU's and the cells' products it counts, an LSTM's on a CPU it
# does not)
PRODUCTS = ("conv1d", "conv2d", "conv3d", "conv_transpose2d", "linear", "matmul", "multi_head_attention", "gru",
            "lstm_cell", "gru_cell", "rnn", "rnn_cell")


def measure(name: str, build) -> dict:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from simulator.importers.torch_fx import from_torch
    from importer_hf_sweep import Unbuilt
    try:
        model, sample, *batch_dim = build()   # a third item: the batch's dimension of a sequence-first input
    except Unbuilt as err:   # --transformers-sweep: a family its shrunken config does not build
        return {"network": name, "ok": False, "built": False, "error": str(err)}
    inputs = sample if isinstance(sample, tuple) else (sample,)
    named = sample if isinstance(sample, dict) else {}   # inputs by name (Hugging Face's encoder-decoders)
    row = {"network": name, "ok": False}
    start = time.perf_counter()
    try:
        net = from_torch(model, sample, name=name, batch_dim=batch_dim[0] if batch_dim else 0)
    except Exception as err:   # the one-line error is the result
        row["error"] = str(err)
        return row
    row.update(ok=True, seconds=time.perf_counter() - start, layers=len(net.layers), params=net.params,
               torch_params=sum(p.numel() for p in model.parameters()))
    model.train()
    for m in model.modules():
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0
    try:
        with FlopCounterMode(display=False) as counter:
            model(**named) if named else model(*inputs)
        theirs = counter.get_total_flops()
        ours = sum(l.fwd_flops for l in net.layers if l.op.kind in PRODUCTS) * net.batch_size
        row["products_ratio"] = ours / theirs if theirs else None
    except Exception:   # a forward that does not run in training mode: no ratio
        row["products_ratio"] = None
    return row


def torchvision_builders():
    import torch
    torch.library.register_fake = lambda *a, **k: (lambda f: f)   # torchvision's fake kernels, not needed here
    import torchvision.models as M
    import torchvision.models.segmentation as S
    import torchvision.models.video as V
    out = []
    for n in M.list_models(module=M):
        size = 299 if "inception" in n else 224
        out.append((n, lambda n=n, size=size: (M.get_model(n, weights=None), torch.randn(2, 3, size, size))))
    for n in ("r3d_18", "mc3_18", "r2plus1d_18", "s3d"):
        size = 224 if n == "s3d" else 112
        out.append((n, lambda n=n, size=size: (getattr(V, n)(), torch.randn(2, 3, 16, size, size))))
    for n in ("fcn_resnet50", "deeplabv3_resnet50", "deeplabv3_mobilenet_v3_large", "lraspp_mobilenet_v3_large"):
        out.append((n, lambda n=n: (getattr(S, n)(weights=None, weights_backbone=None),
                                    torch.randn(2, 3, 224, 224))))
    return out


def transformers_builders():
    """Hugging Face's model families (transformers is not a dependency), each from a small config with random
    weights, given to from_torch as they are: token ids or pixels by position, an encoder-decoder's source and
    target ids by name (a dict); three other heads and inputs (a waveform, a vision tower, a segmentation map); and
    BERT, LLaMA and LLaMA's sequence classifier given a tokenizer's output for two texts, one padded."""
    import logging

    import torch
    import transformers as T
    logging.disable(logging.WARNING)
    T.logging.set_verbosity_error()

    def eager(config):
        # the experts run one by one (not torch's grouped matrix product, which torch's FLOP counter does not see),
        # so that the products can be compared; the importer keeps the bank of experts whole either way
        config._experts_implementation = "eager"
        return config

    ids = {"vocab_size": 500}
    tiny = dict(num_hidden_layers=2, hidden_size=64, num_attention_heads=4, intermediate_size=128,
                max_position_embeddings=64, **ids)
    decoders = dict(tiny, num_key_value_heads=2)
    text = [
        ("gpt2", T.GPT2LMHeadModel, T.GPT2Config(n_layer=2, n_embd=64, n_head=4, n_positions=64, **ids)),
        ("bert", T.BertForMaskedLM, T.BertConfig(**tiny)),
        ("roberta", T.RobertaForMaskedLM, T.RobertaConfig(**tiny)),
        ("distilbert", T.DistilBertForMaskedLM, T.DistilBertConfig(n_layers=2, dim=64, n_heads=4, hidden_dim=128,
                                                                   max_position_embeddings=64, **ids)),
        ("albert", T.AlbertForMaskedLM, T.AlbertConfig(embedding_size=32, **tiny)),
        ("electra", T.ElectraForMaskedLM, T.ElectraConfig(embedding_size=32, **tiny)),
        ("t5_encoder", T.T5EncoderModel, T.T5Config(num_layers=2, d_model=64, num_heads=4, d_kv=16, d_ff=128, **ids)),
        ("opt", T.OPTForCausalLM, T.OPTConfig(ffn_dim=128, word_embed_proj_dim=64, **{
            k: v for k, v in tiny.items() if k != "intermediate_size"})),
        ("gpt_neox", T.GPTNeoXForCausalLM, T.GPTNeoXConfig(**tiny)),
        ("phi", T.PhiForCausalLM, T.PhiConfig(**tiny)),
        ("llama", T.LlamaForCausalLM, T.LlamaConfig(**decoders)),
        ("mistral", T.MistralForCausalLM, T.MistralConfig(**decoders)),
        ("qwen2", T.Qwen2ForCausalLM, T.Qwen2Config(**decoders)),
        ("gemma", T.GemmaForCausalLM, T.GemmaConfig(head_dim=16, **dict(decoders, num_key_value_heads=1))),
        ("mixtral", T.MixtralForCausalLM, eager(T.MixtralConfig(num_local_experts=4, num_experts_per_tok=2,
                                                                **decoders))),
        ("qwen2_moe", T.Qwen2MoeForCausalLM, eager(T.Qwen2MoeConfig(
            num_experts=8, num_experts_per_tok=2, moe_intermediate_size=32, shared_expert_intermediate_size=64,
            **decoders))),
        ("qwen3_moe", T.Qwen3MoeForCausalLM, eager(T.Qwen3MoeConfig(num_experts=8, num_experts_per_tok=2,
                                                                    moe_intermediate_size=32, **decoders))),
        ("olmoe", T.OlmoeForCausalLM, eager(T.OlmoeConfig(num_experts=8, num_experts_per_tok=2, **decoders))),
        ("granitemoe", T.GraniteMoeForCausalLM, eager(T.GraniteMoeConfig(num_local_experts=4, num_experts_per_tok=2,
                                                                         **decoders))),
        ("deepseek_v3", T.DeepseekV3ForCausalLM, eager(T.DeepseekV3Config(
            n_routed_experts=8, num_experts_per_tok=2, moe_intermediate_size=32, n_group=2, topk_group=1,
            first_k_dense_replace=1, q_lora_rank=32, kv_lora_rank=16, qk_rope_head_dim=8, qk_nope_head_dim=8,
            v_head_dim=16, **dict(decoders, num_key_value_heads=4)))),
    ]
    out = [(n, lambda c=c, cfg=cfg: (c(cfg).eval(), torch.randint(0, 500, (2, 24)))) for n, c, cfg in text]
    vision = [
        ("vit", T.ViTForImageClassification, T.ViTConfig(num_hidden_layers=2, hidden_size=64, num_attention_heads=4,
                                                         intermediate_size=128, image_size=32, patch_size=8,
                                                         num_labels=10), 32),
        ("convnext", T.ConvNextForImageClassification, T.ConvNextConfig(depths=[1, 1, 1, 1], num_labels=10,
                                                                        hidden_sizes=[16, 32, 64, 128]), 64),
        ("swin", T.SwinForImageClassification, T.SwinConfig(image_size=32, patch_size=4, embed_dim=16, depths=[1, 1],
                                                            num_heads=[2, 4], window_size=4, num_labels=10), 32),
    ]
    out += [(n, lambda c=c, cfg=cfg, size=size: (c(cfg).eval(), torch.randn(2, 3, size, size)))
            for n, c, cfg, size in vision]

    special = dict(pad_token_id=1, bos_token_id=0, eos_token_id=2, decoder_start_token_id=2, **ids)
    sizes = dict(encoder_layers=2, decoder_layers=2, d_model=64, encoder_attention_heads=4, decoder_attention_heads=4,
                 encoder_ffn_dim=128, decoder_ffn_dim=128)
    pairs = [
        ("t5", T.T5ForConditionalGeneration, T.T5Config(num_layers=2, d_model=64, num_heads=4, d_kv=16, d_ff=128,
                                                        **ids), "input_ids"),
        ("bart", T.BartForConditionalGeneration, T.BartConfig(max_position_embeddings=64, **sizes, **special),
         "input_ids"),
        ("marian", T.MarianMTModel, T.MarianConfig(max_position_embeddings=64, **sizes, **special), "input_ids"),
        ("whisper", T.WhisperForConditionalGeneration, T.WhisperConfig(num_mel_bins=16, max_source_positions=50,
                                                                       max_target_positions=32, **sizes, **special),
         "input_features"),
    ]
    for n, c, cfg, key in pairs:
        src = (lambda: torch.randn(2, 16, 100)) if key == "input_features" else (lambda: torch.randint(0, 500, (2, 20)))
        out.append((n, lambda c=c, cfg=cfg, key=key, src=src: (
            c(cfg).eval(), {key: src(), "decoder_input_ids": torch.randint(0, 500, (2, 12))})))

    def tokenized(names):   # what a tokenizer returns for two texts, the second padded
        mask = torch.ones(2, 24, dtype=torch.long)
        mask[1, 17:] = 0
        ids = torch.randint(1, 500, (2, 24))
        ids[1, 17:] = 0   # the padding token
        given = {"input_ids": ids, "token_type_ids": torch.zeros(2, 24, dtype=torch.long), "attention_mask": mask}
        return {k: given[k] for k in names}
    from importer_hf_sweep import SPEECH as speech   # 2 convolutions and 2 layers of width 64
    heads = [   # other heads and inputs: speech (a waveform), a vision tower, a segmentation map
        ("wav2vec2_ctc", lambda: (T.Wav2Vec2ForCTC(T.Wav2Vec2Config(**speech)).eval(), torch.randn(2, 4000))),
        ("clip_vision", lambda: (T.CLIPVisionModel(T.CLIPVisionConfig(
            num_hidden_layers=2, hidden_size=64, num_attention_heads=4, intermediate_size=128, image_size=32,
            patch_size=8)).eval(), torch.randn(2, 3, 32, 32))),
        ("segformer_segmentation", lambda: (T.SegformerForSemanticSegmentation(T.SegformerConfig(num_labels=5)).eval(),
                                            torch.randn(2, 3, 64, 64))),
    ]
    out += heads
    out += [("bert_tokenized", lambda: (T.BertForMaskedLM(T.BertConfig(**tiny)).eval(),
                                        tokenized(("input_ids", "token_type_ids", "attention_mask")))),
            ("llama_tokenized", lambda: (T.LlamaForCausalLM(T.LlamaConfig(**decoders)).eval(),
                                         tokenized(("input_ids", "attention_mask")))),
            # a reward model's head: the logits of each text's last token that is not padding
            ("llama_classifier_tokenized", lambda: (T.LlamaForSequenceClassification(T.LlamaConfig(
                pad_token_id=0, num_labels=3, **decoders)).eval(), tokenized(("input_ids", "attention_mask"))))]
    return out


# timm's families, one model each (the first 50 names chosen by kind: CNNs, vision transformers, hybrids, MLPs)
TIMM = ["resnet50d", "efficientnet_b0", "convnext_tiny", "vit_small_patch16_224", "deit_small_patch16_224",
        "swin_tiny_patch4_window7_224", "regnety_016", "mobilenetv3_large_100", "cait_xxs24_224", "levit_128s",
        "mixer_s16_224", "resmlp_12_224", "poolformer_s12", "maxvit_tiny_tf_224", "coatnet_0_rw_224",
        "efficientformer_l1", "edgenext_small", "fastvit_t8", "eva02_tiny_patch14_224", "beit_base_patch16_224",
        "xcit_tiny_12_p16_224", "twins_svt_small", "pvt_v2_b0", "crossvit_tiny_240", "convmixer_768_32", "densenet121",
        "inception_v3", "rexnet_100", "ghostnet_100", "mobilevit_s", "hrnet_w18_small", "dla34", "res2net50_26w_4s",
        "skresnet18", "nfnet_l0", "cspresnet50", "dpn68", "ecaresnet50d", "gcvit_xxtiny", "nest_tiny",
        "tnt_s_patch16_224", "volo_d1_224", "visformer_small", "hgnetv2_b0", "repvgg_a0", "tresnet_m",
        "vit_base_patch16_clip_224", "focalnet_tiny_srf", "inception_next_tiny", "mambaout_femto"]


def timm_builders():
    import torch
    torch.library.register_fake = lambda *a, **k: (lambda f: f)   # torchvision's fake kernels, not needed here
    import timm

    def build(name):
        model = timm.create_model(name, pretrained=False)
        return model, torch.randn(2, *model.default_cfg.get("input_size", (3, 224, 224)))
    return [(n, lambda n=n: build(n)) for n in TIMM]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--torchvision", action="store_true", help="also torchvision's networks (if installed)")
    parser.add_argument("--timm", action="store_true", help="also 50 of timm's models, one per family (if installed)")
    parser.add_argument("--transformers", action="store_true",
                        help="also Hugging Face's model families from small configs (if installed)")
    parser.add_argument("--transformers-sweep", action="store_true",
                        help="also every family of transformers with a causal language model, image classification, "
                             "masked language model, sequence classification, speech recognition (CTC) or audio "
                             "classification head, from shrunken default configs (bench/importer_hf_sweep.py; about "
                             "twenty minutes)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    import user_models
    sets = {"hand-written": [(n, getattr(user_models, n)) for n in user_models.MODELS]}
    if args.torchvision:
        try:
            sets["torchvision"] = torchvision_builders()
        except ImportError:
            print("torchvision is not installed: its networks are skipped")
    if args.timm:
        try:
            sets["timm"] = timm_builders()
        except ImportError:
            print("timm is not installed: its models are skipped")
    if args.transformers:
        try:
            sets["transformers"] = transformers_builders()
        except ImportError:
            print("transformers is not installed: its models are skipped")
    if args.transformers_sweep:
        try:
            from importer_hf_sweep import HEADS, sweep_builders
            for head in HEADS:
                sets[f"transformers sweep, {head}"] = sweep_builders(head)
        except ImportError:
            print("transformers is not installed: its sweep is skipped")
    summary = {}
    for label, builders in sets.items():
        print(f"\n{label}\n{'network':32s} {'result':>8s} {'layers':>7s} {'params':>12s} {'torch':>12s} {'products':>9s}")
        rows = []
        for n, b in builders:   # each row as it is measured
            r = measure(n, b)
            rows.append(r)
            if not r["ok"]:
                print(f"{r['network']:32s} {'UNBUILT' if r.get('built') is False else 'FAIL':>8s}  {r['error'][:150]}")
                continue
            ratio = f"{r['products_ratio']:.3f}" if r["products_ratio"] else "-"
            print(f"{r['network']:32s} {'ok':>8s} {r['layers']:7d} {r['params']:12,d} {r['torch_params']:12,d} "
                  f"{ratio:>9s}")
        ok = [r for r in rows if r["ok"]]
        built = [r for r in rows if r.get("built") is not False]
        summary[label] = {"networks": len(built), "imported": len(ok),
                          "params_equal": sum(r["params"] == r["torch_params"] for r in ok),
                          "failed": {r["network"]: r["error"] for r in built if not r["ok"]}}
        if len(built) < len(rows):
            summary[label]["not_built"] = len(rows) - len(built)
        print(f"{label}: {len(ok)} of {len(built)} import; parameters equal torch's in "
              f"{summary[label]['params_equal']}" + (f"; {len(rows) - len(built)} not built from a shrunken "
                                                     f"config" if len(built) < len(rows) else ""))
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
