"""The torch.fx importer on what Hugging Face's model code does (written here without the library, which is not a
dependency): tied embedding and output weights, a function wrapped in a module made outside the model, a
key-value cache that starts empty, a scaled or offset embedding calling F.embedding, positions counted from the
token ids, a constant table gathered by position, residual sums and window attention on rows that merge the
batch with other axes, and strided slices; and a model given as it is (a decorated forward taking *args, a dict
of outputs with a cache object, inputs by name)."""
from __future__ import annotations

import functools
from collections import OrderedDict

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from simulator.graph import SimulatorError
from simulator.importers.torch_fx import from_torch


def torch_params(module) -> int:
    return sum(p.numel() for p in module.parameters())   # a tied tensor once


class TiedLM(nn.Module):
    """A language model whose output layer is the word embeddings (GPT-2, LLaMA with tie_word_embeddings), and a
    masked-LM head whose decoder holds them with a bias of its own (BERT, RoBERTa)."""

    def __init__(self, head="full"):
        super().__init__()
        self.head = head
        self.wte = nn.Embedding(100, 16)
        self.ln = nn.LayerNorm(16)
        self.lm_head = nn.Linear(16, 100, bias=head == "bias")
        self.lm_head.weight = self.wte.weight

    def forward(self, ids):
        h = self.ln(self.wte(ids))
        return F.linear(h, self.lm_head.weight) if self.head == "function" else self.lm_head(h)


def test_tied_input_and_output_weights_are_counted_once():
    for head in ("full", "bias", "function"):
        model = TiedLM(head)
        net = from_torch(model, torch.randint(0, 100, (2, 7)))
        assert net.params == torch_params(model), head
        assert net.layers[-1].out_shape == (7, 100)
    full = from_torch(TiedLM("full"), torch.randint(0, 100, (2, 7)))
    assert full.layer("lm_head").shares_weights_with == "wte" and full.layer("lm_head").params == 0
    bias = from_torch(TiedLM("bias"), torch.randint(0, 100, (2, 7)))
    assert bias.layer("lm_head").shares_weights_with == "wte" and bias.layer("lm_head.bias").params == 100
    assert bias.layers[-1].kind == "add" and bias.layers[-1].parents == ("lm_head", "lm_head.bias")


class Rotate(nn.Module):
    def forward(self, x):
        return torch.cat((-x[..., x.shape[-1] // 2:], x[..., :x.shape[-1] // 2]), dim=-1)


_ROTATE = Rotate()   # a module made outside the model, as Hugging Face's hub kernels wrap apply_rotary_pos_emb


class CachedAttention(nn.Module):
    """Rotary queries through the outside module, and keys appended to a cache that starts as torch.tensor([])."""

    def __init__(self):
        super().__init__()
        self.q, self.k = nn.Linear(16, 16), nn.Linear(16, 16)

    def forward(self, x):
        cache = torch.tensor([])
        q = self.q(x) + _ROTATE(self.q(x))
        k = torch.cat([cache, self.k(x)], dim=-2)
        return q @ k.transpose(-1, -2)


def test_a_module_outside_the_model_is_traced_through_and_an_empty_cache_adds_nothing():
    net = from_torch(CachedAttention(), torch.randn(2, 5, 16))
    assert [l.kind for l in net.layers if l.kind in ("concat", "parameter")] == ["concat"]   # only the rotation's
    assert net.layers[-1].out_shape == (5, 5) and net.params == torch_params(CachedAttention())


class ScaledEmbedding(nn.Embedding):
    """Gemma's scaled word embedding: a subclass of nn.Embedding with a forward of its own."""

    def forward(self, ids):
        return super().forward(ids) * 4.0


class OffsetPositions(nn.Embedding):
    """OPT's learned positions: counted from an attention mask made in forward, offset by 2."""

    def forward(self, mask):
        positions = (torch.cumsum(mask, dim=1) * mask).long() - 1
        return super().forward(positions + 2)


class PositionsFromIds(nn.Module):
    def __init__(self):
        super().__init__()
        self.words, self.positions = ScaledEmbedding(50, 8), OffsetPositions(20, 8)
        self.roberta_positions = nn.Embedding(20, 8, padding_idx=1)
        self.types = nn.Embedding(2, 8)
        self.register_buffer("token_type_ids", torch.zeros(1, 20, dtype=torch.long))

    def forward(self, ids):
        mask = torch.ones(ids.shape[0], ids.shape[1], dtype=torch.long)
        # RoBERTa's positions, counted over the non-padding tokens of the ids themselves
        not_pad = ids.ne(1).int()
        positions = torch.cumsum(not_pad, dim=1).type_as(not_pad) * not_pad + 1
        types = torch.gather(self.token_type_ids.expand(ids.shape[0], -1), dim=1, index=positions.long())
        return self.words(ids) + self.positions(mask) + self.roberta_positions(positions.long()) + self.types(types)


def test_embeddings_called_as_functions_positions_from_the_ids_and_a_gathered_table():
    model = PositionsFromIds()
    net = from_torch(model, torch.randint(2, 50, (3, 9)))
    assert net.params == torch_params(model)
    lookups = [l for l in net.layers if l.kind == "embedding"]
    assert {l.out_shape for l in lookups} == {(9, 8)} and len(lookups) == 4
    assert sorted(str(l.shares_weights_with) for l in lookups) == ["None", "None", "positions.weight", "words.weight"]
    cumsum = net.layer("cumsum")
    assert cumsum.out_shape == (9,) and cumsum.fwd_flops == 9   # one addition per position


class WindowAttention(nn.Module):
    """Swin's window attention as Hugging Face writes it: windows of the batch's images as rows (B * windows,
    tokens, C), their heads permuted, a residual sum on the rows, and patch merging by strided slices."""

    def __init__(self, c=16, heads=2, window=4):
        super().__init__()
        self.c, self.heads, self.window = c, heads, window
        self.qkv, self.proj = nn.Linear(c, 3 * c), nn.Linear(c, c)
        self.reduction = nn.Linear(4 * c, 2 * c)

    def forward(self, x):   # (B, H, W, C)
        b, h, w, c = x.shape
        ws = self.window
        win = x.view(b, h // ws, ws, w // ws, ws, c).permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, ws, ws, c)
        win = win.view(-1, ws * ws, c)
        qkv = self.qkv(win).view(-1, ws * ws, 3, self.heads, c // self.heads).permute(0, 2, 3, 1, 4)
        q, k, v = qkv[:, 0], qkv[:, 1], qkv[:, 2]
        a = F.softmax(q @ k.transpose(-2, -1), dim=-1) @ v
        out = win + self.proj(a.transpose(1, 2).reshape(-1, ws * ws, c))
        y = out.view(b, h // ws, w // ws, ws, ws, c).permute(0, 1, 3, 2, 4, 5).reshape(b, h, w, c)
        merged = torch.cat([y[:, 0::2, 0::2, :], y[:, 1::2, 0::2, :], y[:, 0::2, 1::2, :], y[:, 1::2, 1::2, :]], -1)
        return self.reduction(merged)


def test_window_attention_on_merged_rows_and_patch_merging_by_strided_slices():
    model = WindowAttention()
    net = from_torch(model, torch.randn(2, 8, 8, 16))
    assert net.params == torch_params(model)
    products = [l for l in net.layers if l.kind == "matmul"]
    assert [l.out_shape for l in products] == [(2, 2, 2, 16, 16), (2, 2, 2, 16, 8)]   # per window, per head
    assert net.layer("add").out_shape == (2, 2, 16, 16)   # the residual sum, on the windows' rows
    assert net.layer("cat").out_shape == (4, 4, 64) and net.layers[-1].out_shape == (4, 4, 32)


class AudioPositions(nn.Module):
    """Whisper's positions: a learned table indexed by position ids made in forward with a row per sample."""

    def __init__(self):
        super().__init__()
        self.table = nn.Parameter(torch.randn(30, 8))

    def forward(self, x):   # (N, T, 8)
        ids = torch.arange(x.shape[1]).expand(x.shape[0], -1)
        return x + self.table[ids]


def test_a_table_read_by_position_ids_with_a_row_per_sample_is_a_lookup_per_sample():
    net = from_torch(AudioPositions(), torch.randn(3, 12, 8))
    lookup = next(l for l in net.layers if l.kind == "embedding")
    assert lookup.out_shape == (12, 8) and lookup.shares_weights_with == "table" and lookup.params == 0
    assert net.params == 30 * 8 and net.layers[-1].out_shape == (12, 8)


# ----------------------------------------------------------------------------- a model given as it is
def _decorated(forward):
    """As Hugging Face decorates its models' forward (can_return_tuple, check_model_inputs): a wrapper taking
    *args and **kwargs, its signature the real one's (functools.wraps)."""
    @functools.wraps(forward)
    def wrapper(self, *args, **kwargs):
        return forward(self, *args, **kwargs)
    return wrapper


class ModelOutput(OrderedDict):
    """A dict of outputs, read by position too, as transformers' ModelOutput."""

    def __getitem__(self, key):
        return list(self.values())[key] if isinstance(key, int) else super().__getitem__(key)


class Cache:
    """A cache object returned beside the logits (torch.fx cannot return it)."""

    def __init__(self, keys):
        self.keys = keys


class ToyLM(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(100, 16)
        self.block = nn.Linear(16, 16)
        self.head = nn.Linear(16, 100)

    @_decorated
    def forward(self, input_ids=None, attention_mask=None, inputs_embeds=None, use_cache=True, **kwargs):
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("You must specify exactly one of input_ids or inputs_embeds")
        h = self.embed(input_ids) if inputs_embeds is None else inputs_embeds
        k = self.block(h)
        return ModelOutput(logits=self.head(torch.relu(k)), past_key_values=Cache(k) if use_cache else None)


class ToySeq2Seq(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(100, 16)
        self.encoder = nn.Linear(16, 16)
        self.decoder = nn.Linear(16, 16)
        self.head = nn.Linear(16, 100)

    @_decorated
    def forward(self, input_ids=None, attention_mask=None, decoder_input_ids=None, **kwargs):
        memory = self.encoder(self.embed(input_ids)).mean(1, keepdim=True)
        return ModelOutput(logits=self.head(self.decoder(self.embed(decoder_input_ids)) + memory))


class FirstOutput(nn.Module):
    """The wrapper a user had to write before."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(input_ids=x)[0]


def _layers(net):
    return [(type(layer.op).__name__, layer.out_shape, layer.params) for layer in net.layers]


def test_a_model_whose_forward_takes_args_imports_as_it_is_like_its_wrapper():
    ids = torch.randint(0, 100, (2, 7))
    model = ToyLM()
    net = from_torch(model, ids)
    wrapped = from_torch(FirstOutput(model), ids)
    assert _layers(net) == _layers(wrapped)
    assert net.params == torch_params(model)
    # the module's own names, without a wrapper's prefix; the input named as the forward names it
    assert net.layers[0].name == "input_ids" and net.layer("embed").kind == "embedding"
    assert {layer.name for layer in wrapped.layers} >= {"model.embed", "model.head"}
    assert model.forward(input_ids=ids)["logits"].shape == (2, 7, 100)   # the model itself left as it was


def test_sample_inputs_given_by_name_reach_the_forward_by_name():
    src, tgt = torch.randint(0, 100, (2, 9)), torch.randint(0, 100, (2, 5))
    net = from_torch(ToySeq2Seq(), {"input_ids": src, "decoder_input_ids": tgt})
    assert [layer.name for layer in net.layers[:2]] == ["input_ids", "decoder_input_ids"]
    assert net.layers[-1].out_shape == (5, 100) and net.params == torch_params(ToySeq2Seq())
    # by position, the second tensor is the attention mask, as the forward's order says
    with pytest.raises(SimulatorError):
        from_torch(ToySeq2Seq(), (src, tgt))


def test_inputs_by_name_that_the_forward_does_not_take_are_refused_in_one_line():
    class Plain(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 2)

        def forward(self, x):
            return self.fc(x)

    with pytest.raises(SimulatorError, match=r"sample_input names 'y', which Plain.forward does not take \(it "
                                             r"takes x\)"):
        from_torch(Plain(), {"y": torch.randn(2, 4)})
    with pytest.raises(SimulatorError, match=r"names 'decoder_ids', .* \(did you mean 'decoder_input_ids'\?\)"):
        from_torch(ToySeq2Seq(), {"input_ids": torch.randint(0, 100, (2, 9)),
                                  "decoder_ids": torch.randint(0, 100, (2, 5))})
    assert from_torch(Plain(), {"x": torch.randn(2, 4)}).layers[-1].out_shape == (2,)
    with pytest.raises(SimulatorError, match="at most 4"):
        from_torch(ToyLM(), tuple(torch.randint(0, 100, (2, 7)) for _ in range(5)))


def test_a_bare_leaf_module_takes_its_inputs_by_its_own_names():
    # a leaf given as the model is traced inside a wrapper whose forward takes x: the names were checked against
    # the wrapper ("which Root.forward does not take (it takes x)"), though nn.Linear.forward takes input
    x = torch.randn(2, 3)
    by_name = from_torch(nn.Linear(3, 3), {"input": x})
    assert by_name.params == 12 and by_name.layers[-1].out_shape == from_torch(nn.Linear(3, 3), x).layers[-1].out_shape
    with pytest.raises(SimulatorError, match=r"^Linear: sample_input names 'x', which Linear.forward does not take "
                                             r"\(it takes input\)$"):
        from_torch(nn.Linear(3, 3), {"x": x})
    # two inputs by the layer's names, in either order; one without the one before it has no place
    layer = nn.TransformerDecoderLayer(8, 2, 16, batch_first=True)
    tgt, memory = torch.randn(2, 4, 8), torch.randn(2, 5, 8)
    net = from_torch(layer, {"memory": memory, "tgt": tgt})
    assert [lay.name for lay in net.layers[:2]] == ["memory", "tgt"]
    assert net.layers[-1].out_shape == from_torch(layer, (tgt, memory)).layers[-1].out_shape == (4, 8)
    with pytest.raises(SimulatorError, match=r"names 'memory' but not 'tgt'"):
        from_torch(layer, {"memory": memory})
    with pytest.raises(SimulatorError, match=r"names 'tgt_mask', which TransformerDecoderLayer as the model is not "
                                             r"given") as err:
        from_torch(layer, {"tgt": tgt, "memory": memory, "tgt_mask": torch.zeros(2, 4)})
    assert "\n" not in str(err.value)


class MaskedEncoder(nn.Module):
    """Hugging Face's mask from the tokenizer's attention_mask: each sample's row picked by index tensors along
    the batch and the keys, and-ed with a causal mask, then read by scaled_dot_product_attention."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(100, 16)
        self.qkv = nn.Linear(16, 48)

    @_decorated
    def forward(self, input_ids=None, attention_mask=None):
        h = self.embed(input_ids)
        b, n = input_ids.shape
        if attention_mask is None:
            attention_mask = torch.ones(b, n, dtype=torch.long)
        padding = attention_mask.to(torch.bool)[torch.arange(b)[:, None, None, None], torch.arange(n)[None, None, None, :]]
        causal = torch.ones(n, n, dtype=torch.bool).tril()[None, None]
        mask = (causal & padding).expand(b, 1, n, n)
        q, k, v = self.qkv(h).view(b, n, 3, 2, 8).permute(2, 0, 3, 1, 4)
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask).transpose(1, 2).reshape(b, n, 16)


def test_an_attention_mask_given_as_an_input_is_read_per_sample():
    ids = torch.randint(0, 100, (2, 6))
    mask = torch.ones(2, 6, dtype=torch.long)
    mask[1, 4:] = 0
    net = from_torch(MaskedEncoder(), {"input_ids": ids, "attention_mask": mask})
    assert net.params == torch_params(MaskedEncoder())   # the causal constant is no weight
    # each sample's own mask picked (as many elements out as in: a view), and-ed with the causal mask once per
    # element, added to the scores
    picked = next(layer for layer in net.layers if layer.parents == ("attention_mask",))
    assert picked.kind == "reshape" and picked.out_shape == (1, 1, 6)
    both = next(layer for layer in net.layers if picked.name in layer.parents)
    assert both.kind == "mul" and both.out_shape == (1, 6, 6)
    assert net.layer("scaled_dot_product_attention:attn_mask").kind == "add"
    # the same layers less the mask's when it is left out
    plain = from_torch(MaskedEncoder(), ids)
    assert "scaled_dot_product_attention:attn_mask" in [layer.name for layer in plain.layers]
    assert net.layer("scaled_dot_product_attention").fwd_flops == plain.layer("scaled_dot_product_attention").fwd_flops


class PartialRotary(nn.Module):
    """A partial rotary embedding whose rotated part is every channel (MiniMax-M2's, Sarvam's): the pass-through
    slice is empty and concatenated back; scores bounded below by a constant with torch.max of two tensors
    (XGLM); a state-space model's projections split with tensor_split (Mamba); torch.clone (RoCBert)."""

    def __init__(self):
        super().__init__()
        self.qkv = nn.Linear(8, 24)
        self.register_buffer("floor", torch.tensor(-1e4))

    def forward(self, x):
        q, k, v = torch.tensor_split(self.qkv(x), 3, dim=-1)
        rot, rest = q[..., :8], q[..., 8:]                 # rest is empty
        q = torch.cat([torch.roll(rot, 1, dims=-1), rest], dim=-1)
        scores = torch.max(q @ k.transpose(-2, -1), self.floor)
        return torch.clone(scores.softmax(-1) @ v)


def test_an_empty_slice_concatenated_back_tensor_split_max_of_two_and_clone():
    net = from_torch(PartialRotary(), torch.randn(2, 5, 8))
    kinds = [layer.kind for layer in net.layers]
    assert kinds.count("slice") == 3 and "concat" not in kinds    # q, k and v; the empty part is no layer
    assert net.layer("max_1").kind == "mul" and net.layer("max_1").out_shape == (5, 5)
    assert net.layers[-1].out_shape == (5, 8) and net.params == torch_params(PartialRotary())


class ALiBi(nn.Module):
    """BLOOM's scores: the ALiBi bias plus the scaled products, with baddbmm."""

    def __init__(self, alpha=0.25, beta=1.0):
        super().__init__()
        self.alpha, self.beta = alpha, beta
        self.qk = nn.Linear(8, 16)
        self.bias = nn.Parameter(torch.zeros(1, 5, 5))

    def forward(self, x):
        q, k = self.qk(x).chunk(2, dim=-1)
        return torch.baddbmm(self.bias.expand(x.shape[0], 5, 5), q, k.transpose(1, 2), beta=self.beta,
                             alpha=self.alpha)


def test_baddbmm_scales_its_product_and_its_input():
    x = torch.randn(2, 5, 8)
    plain = from_torch(ALiBi(1.0, 1.0), x)
    scaled = from_torch(ALiBi(0.25, 0.5), x)
    assert [layer.kind for layer in plain.layers if layer.name.startswith("baddbmm")] == ["matmul", "add"]
    assert [layer.name.split(":")[-1] for layer in scaled.layers if layer.name.startswith("baddbmm")] == \
        ["matmul", "alpha", "beta", "baddbmm"]
    assert scaled.layers[-1].out_shape == (5, 5)


class CachedByDefault(nn.Module):
    """A decoder whose forward makes a cache object unless told use_cache=False (as Hugging Face's do)."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(100, 8)
        self.proj = nn.Linear(8, 8)

    @_decorated
    def forward(self, input_ids=None, use_cache=True):
        h = self.proj(self.embed(input_ids))
        if use_cache:
            raise ValueError("the cache cannot be traced")
        return ModelOutput(last_hidden_state=h)


def test_a_model_given_as_it_is_is_traced_without_its_cache():
    net = from_torch(CachedByDefault(), torch.randint(0, 100, (2, 4)))
    assert net.layers[-1].name == "proj"


class PositionsResized(nn.Module):
    """PVT's position embeddings made for an 8 x 8 grid, resized to the image's 4 x 4 patches and joined after the
    class token's own; DeBERTa's query bias viewed as heads (its size-1 axes moved); LeViT's batch norm over
    x.flatten(0, 1) where one token is left; torch.multiply and acos."""

    def __init__(self, c=8, heads=2):
        super().__init__()
        self.heads = heads
        self.patch = nn.Conv2d(3, c, 4, stride=4)
        self.cls = nn.Parameter(torch.randn(1, 1, c))
        self.pos = nn.Parameter(torch.randn(1, 1 + 64, c))
        self.qkv = nn.Linear(c, 3 * c)
        self.q_bias = nn.Parameter(torch.zeros(c))
        self.pool = nn.Linear(17, 1)
        self.bn = nn.BatchNorm1d(c)

    def forward(self, img):
        b, c = img.shape[0], self.pos.shape[-1]
        x = self.patch(img).flatten(2).transpose(1, 2)                              # (B, 16, C)
        grid = self.pos[:, 1:].reshape(1, 8, 8, c).permute(0, 3, 1, 2)
        grid = F.interpolate(grid, size=(4, 4), mode="bilinear").reshape(1, c, 16).permute(0, 2, 1)
        x = torch.cat((self.cls.expand(b, -1, -1), x), dim=1) + torch.cat((self.pos[:, :1], grid), dim=1)
        q, k, v = self.qkv(x).view(b, 17, self.heads, 3 * c // self.heads).permute(0, 2, 1, 3).chunk(3, dim=-1)
        q = q + self.q_bias[None, None, :].view(1, 1, self.heads, -1).permute(0, 2, 1, 3)
        x = torch.multiply(q @ k.transpose(-1, -2), 0.5).softmax(-1) @ v               # (B, heads, 17, C / heads)
        x = self.pool(x.transpose(1, 2).reshape(b, 17, c).transpose(1, 2)).transpose(1, 2)   # (B, 1, C)
        return torch.acos(torch.tanh(self.bn(x.flatten(0, 1)).reshape_as(x)))


def test_parameters_resized_joined_and_permuted_and_one_token_flattened_with_the_batch():
    model = PositionsResized().eval()
    net = from_torch(model, torch.randn(2, 3, 16, 16))
    assert net.params == torch_params(model)
    kinds = {layer.name: layer.kind for layer in net.layers}
    assert kinds["interpolate:resize"] == "upsample" and kinds["interpolate"] == "transpose"
    shapes = {layer.name: layer.out_shape for layer in net.layers}
    assert shapes["interpolate"] == (8, 4, 4) and shapes["cat_1"] == (17, 8)   # the positions: one per token
    assert shapes["permute_3"] == (2, 1, 4)   # the query bias per head, for every token
    assert kinds["multiply"] == "mul" and kinds["acos"] == "mul" and shapes["flatten_1"] == (8,)
    assert net.layers[-1].out_shape == (1, 8)


class LastTokenClassifier(nn.Module):
    """Hugging Face's sequence classification on a decoder: the logits of each sample's last token that is not
    padding, found by an argmax over the token ids."""

    def __init__(self, pad=0):
        super().__init__()
        self.pad = pad
        self.embed = nn.Embedding(50, 16)
        self.body = nn.Linear(16, 16)
        self.score = nn.Linear(16, 3, bias=False)

    def forward(self, ids):
        logits = self.score(torch.relu(self.body(self.embed(ids))))
        not_pad = (ids != self.pad).to(torch.int32)
        last = (torch.arange(ids.shape[-1], dtype=torch.int32) * not_pad).argmax(-1)
        return logits[torch.arange(ids.shape[0]), last]


def test_the_logits_of_each_samples_last_token_found_by_argmax():
    ids = torch.randint(1, 50, (4, 7))
    ids[1, 5:] = 0
    model = LastTokenClassifier()
    net = from_torch(model, ids)
    assert net.params == torch_params(model)
    kinds = {layer.name: layer for layer in net.layers}
    assert kinds["argmax"].kind == "mean" and kinds["argmax"].out_shape == ()   # a position per sample
    picked = net.layers[-1]
    assert picked.kind == "select" and picked.parents == ("score",) and picked.out_shape == (3,)


class FourierMixer(nn.Module):
    """FNet's token mixing (the real part of a Fourier transform over the tokens and the features) and Falcon's
    linear layer written as input @ self.weight.T."""

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(32, 16))
        self.norm = nn.LayerNorm(16)

    def forward(self, x):
        mixed = self.norm(x + torch.fft.fftn(x, dim=(1, 2)).real)
        return mixed @ self.weight.T


def test_a_fourier_transform_its_real_part_and_a_weight_transposed_by_attribute():
    model = FourierMixer()
    net = from_torch(model, torch.randn(2, 8, 16))
    assert net.params == torch_params(model)
    layers = {layer.name: layer for layer in net.layers}
    assert layers["fft_fftn"].kind == "fft" and layers["fft_fftn"].fwd_flops == 5 * 128 * 7   # 5 N log2(8 * 16)
    assert layers["add"].parents == ("x", "fft_fftn")   # the real part: the transform's values
    # Falcon's input @ self.weight.T: nn.Linear's layer holding the weight, no transpose copied per sample
    assert "transpose" not in [layer.kind for layer in net.layers]
    assert net.layers[-1].kind == "linear" and net.layers[-1].out_shape == (8, 32)
    with pytest.raises(SimulatorError, match="over every dimension mixes the batch"):
        from_torch(type("Everything", (nn.Module,), {"forward": lambda self, x: torch.fft.fftn(x).real})(),
                   torch.randn(2, 8, 16))


class AttentionSinks(nn.Module):
    """GPT-OSS's and MiMo's attention sinks: a learned logit per head, spread to every sample and query and
    joined to the scores as one more key, dropped after the softmax."""

    def __init__(self, heads=2, width=8):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.sinks = nn.Parameter(torch.zeros(heads))

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        scores = q @ k.transpose(-1, -2)
        sinks = self.sinks.reshape(1, -1, 1, 1).expand(b, -1, t, -1)
        probs = torch.cat([scores, sinks], dim=-1).softmax(-1)[..., :-1]
        return (probs @ v).transpose(1, 2).reshape(b, t, c)


def test_a_parameter_spread_over_the_batch_and_other_axes_attention_sinks():
    model = AttentionSinks()
    net = from_torch(model, torch.randn(3, 5, 8))
    assert net.params == torch_params(model)
    layers = {layer.name: layer for layer in net.layers}
    assert layers["expand:spread"].kind == "repeat" and layers["expand:spread"].out_shape == (2, 5, 1)
    assert layers["expand"].out_shape == (2, 5, 1) and layers["cat"].out_shape == (2, 5, 6)
    assert net.layers[-1].out_shape == (5, 8)


class AlibiScores(nn.Module):
    """BLOOM's attention: scores on rows that merge the batch with the heads, plus an ALiBi bias made in forward
    from a mask of ones (a constant with a row per batch entry and head); and GPT-NeoX-Japanese's bias expanded
    to the residual's shape before it is added."""

    def __init__(self, heads=2, width=8):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.bias = nn.Parameter(torch.zeros(width))

    def forward(self, x):
        b, t, c = x.shape
        mask = torch.ones(b, t)
        slopes = torch.tensor([0.5, 0.25])
        alibi = (slopes[None, :, None] * (mask.cumsum(-1) - 1)[:, None, :]).reshape(b * self.heads, 1, t)
        q, k, v = self.qkv(x).view(b, t, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = (y.reshape(b * self.heads, t, c // self.heads) for y in (q, k, v))
        probs = torch.baddbmm(alibi, q, k.transpose(1, 2), beta=1.0, alpha=0.5).softmax(-1)
        out = (probs @ v).view(b, self.heads, t, -1).transpose(1, 2).reshape(b, t, c)
        return out + self.bias.expand_as(x)


def test_a_constant_with_a_row_per_merged_row_and_a_bias_expanded_to_be_added():
    model = AlibiScores()
    net = from_torch(model, torch.randn(3, 5, 8))
    assert net.params == torch_params(model)
    layers = {layer.name: layer for layer in net.layers}
    assert layers["baddbmm"].out_shape == (2, 5, 5)   # per sample: the heads' scores, each with its bias
    assert layers["_tensor_constant0"].out_shape == (2, 1, 5)   # the bias of one sample's rows
    assert net.layers[-1].parents == ("reshape_3", "bias") and net.layers[-1].out_shape == (5, 8)


class InPlaceRouter(nn.Module):
    """Llama-4's and DeepSeek-V3's routers, reduced: scores written back with scatter_ into a tensor of -inf, a
    mask of chosen groups made with scatter_(dim, index, 1), and a branch added in place to the shared one
    (out.add_(routed)) whose result Python discards."""

    def __init__(self):
        super().__init__()
        self.router = nn.Linear(8, 4)
        self.shared = nn.Linear(8, 8)
        self.routed = nn.Linear(8, 8)

    def forward(self, x):
        logits = self.router(x)
        top, idx = logits.topk(2, dim=-1)
        scores = torch.full_like(logits, float("-inf")).scatter_(-1, idx, top).sigmoid()
        mask = torch.zeros_like(logits)
        mask.scatter_(-1, idx, 1)
        out = self.shared(x)
        out.add_(self.routed(x) * (scores * mask).sum(-1, keepdim=True))
        return out


def test_an_in_place_addition_whose_result_is_discarded_still_feeds_what_follows_and_scatter():
    model = InPlaceRouter()
    net = from_torch(model, torch.randn(2, 5, 8))
    assert net.params == torch_params(model)   # the routed branch is not dead code
    layers = {layer.name: layer for layer in net.layers}
    assert net.layers[-1].name == "add_" and net.layers[-1].parents == ("shared", "mul_1")
    assert layers["scatter_:placed"].kind == "pad" and layers["scatter_:placed"].out_shape == (5, 4)
    assert layers["scatter_"].parents == ("full_like", "scatter_:placed")   # the top scores written back
    assert "scatter__1" not in layers and layers["mul"].parents == ("sigmoid", "zeros_like")   # a mask's ones


class MetaRotary(nn.Module):
    """Rotary embeddings as Meta's LLaMA reference code writes them (complex numbers), and RoFormer's sines
    stacked twice from a table of positions."""

    def __init__(self, heads=2, width=8, tokens=6):
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(width, width)
        angles = torch.outer(torch.arange(tokens).float(), torch.ones(width // heads // 2))
        self.register_buffer("freqs_cis", torch.polar(torch.ones_like(angles), angles))
        self.positions = nn.Parameter(torch.randn(tokens, width // heads), requires_grad=False)

    def forward(self, x):
        b, t, c = x.shape
        q = self.q(x).view(b, t, self.heads, -1)
        rotated = torch.view_as_complex(q.float().reshape(b, t, self.heads, -1, 2))
        q = torch.view_as_real(rotated * self.freqs_cis[None, :, None, :]).flatten(3)
        sin = torch.stack([self.positions[:, ::2], self.positions[:, ::2]], dim=-1).reshape_as(self.positions)
        return q * sin[None, :, None, :]


def test_rotary_embeddings_in_complex_numbers_and_stacked_parameters():
    model = MetaRotary()
    with pytest.warns(UserWarning, match=r"requires_grad=False in positions\)"):   # a frozen table: said
        net = from_torch(model, torch.randn(3, 6, 8))
    layers = {layer.name: layer for layer in net.layers}
    assert layers["mul"].kind == "mul" and layers["mul"].out_shape == (6, 2, 2, 2)   # the pairs, rotated
    assert layers["flatten"].out_shape == (6, 2, 4)
    assert layers["stack"].kind == "concat" and layers["stack"].out_shape == (6, 2, 2)
    assert net.layers[-1].out_shape == (6, 2, 4)
    assert net.params == torch_params(model)
    with pytest.raises(SimulatorError, match="complex numbers are supported only as rotary embeddings"):
        from_torch(type("Angle", (nn.Module,), {"forward": lambda self, x: torch.view_as_complex(x).abs()})(),
                   torch.randn(2, 4, 2))


class ShiftedAndAssigned(nn.Module):
    """BART's shift_tokens_right (ids assigned to a slice of a new tensor, the first token set), RWKV's time shift
    (ZeroPad2d with a negative size: one step padded before, the last cropped) and its loop writing each step's
    result with output[:, t] = ..."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(50, 8)
        self.shift = nn.ZeroPad2d((0, 0, 1, -1))
        self.mix = nn.Linear(8, 8)

    def forward(self, ids):
        shifted = ids.new_zeros(ids.shape)
        shifted[:, 1:] = ids[:, :-1].clone()
        shifted[:, 0] = 2
        x = self.embed(shifted)
        x = self.mix(x + self.shift(x))
        out = torch.zeros_like(x)
        for t in range(x.size(1)):
            out[:, t] = torch.tanh(x[:, t])
        return out


def test_assignments_to_slices_and_steps_and_a_pad_that_crops():
    model = ShiftedAndAssigned()
    ids = torch.randint(0, 50, (2, 5))
    net = from_torch(model, ids)
    assert net.params == torch_params(model)
    layers = {layer.name: layer for layer in net.layers}
    assert layers["assigned:placed"].kind == "pad" and layers["assigned:placed"].out_shape == (5,)
    assert "assigned_1" not in layers   # the first token set to a number: the tensor as it was
    assert layers["pad:crop0"].kind == "slice" and layers["pad:crop0"].out_shape == (4, 8)
    assert layers["pad"].kind == "pad" and layers["pad"].out_shape == (5, 8)
    steps = [l for l in net.layers if l.name.startswith("assigned_") and ":" not in l.name]
    assert len(steps) == 5 and net.layers[-1].name == steps[-1].name and net.layers[-1].out_shape == (5, 8)
    ids_before = ids.clone()
    from_torch(model, ids)
    assert torch.equal(ids, ids_before)   # the sample input is not changed by the trace


class RelativeGather(nn.Module):
    """ProphetNet's relative-position scores gathered from rows that merge the batch with the heads and queries,
    Funnel's position embeddings gathered from a table computed in forward, and mBART's EOS token picked per
    sample with gather(1, index).squeeze()."""

    def __init__(self, heads=2, buckets=4):
        super().__init__()
        self.heads, self.buckets = heads, buckets
        self.rel = nn.Linear(8, heads * buckets)
        self.table = nn.Parameter(torch.randn(10, 8))

    def forward(self, x, ids):
        b, t, _ = x.shape
        rel = self.rel(x).view(b, t, self.buckets, self.heads).permute(0, 3, 1, 2).reshape(-1, self.buckets)
        buckets = (torch.arange(t)[None, :] - torch.arange(t)[:, None]).clamp(0, self.buckets - 1)
        scores = torch.gather(rel, dim=1, index=buckets.repeat(b * self.heads, 1)).view(b, self.heads, t, t)
        positions = torch.gather(torch.tanh(self.table), 0, torch.arange(t)[:, None].expand(t, 8))
        eos = ids.gather(1, (ids.ne(0).sum(dim=1) - 1).unsqueeze(-1)).squeeze()
        return scores.sum(1) @ (x + positions), eos


def test_gathers_from_merged_rows_from_a_computed_table_and_one_number_per_sample():
    model = RelativeGather()
    net = from_torch(model, (torch.randn(3, 5, 8), torch.randint(1, 50, (3, 5))))
    assert net.params == torch_params(model)
    layers = {layer.name: layer for layer in net.layers}
    assert layers["gather"].kind == "gather" and layers["gather"].out_shape == (2, 5, 5)   # per sample: heads
    assert layers["gather_1"].kind == "gather" and layers["gather_1"].out_shape == (5, 8)   # the same for all
    assert layers["squeeze"].out_shape == ()


def test_ids_hashed_with_remainder_and_floor_division():
    class Hashed(nn.Module):   # CANINE's hash embeddings: each id hashed into the buckets of several tables
        def __init__(self):
            super().__init__()
            self.tables = nn.ModuleList(nn.Embedding(16, 4) for _ in range(2))

        def forward(self, ids):
            return torch.cat([t(((ids + 1) * p) % 16 + torch.floor_divide(ids, 1000))
                              for t, p in zip(self.tables, (31, 43))], dim=-1)

    model = Hashed()
    net = from_torch(model, torch.randint(0, 500, (2, 6)))
    kinds = {layer.name: layer.kind for layer in net.layers}
    assert kinds["mod"] == "div" and kinds["floor_divide"] == "div" and net.params == torch_params(model)
    assert net.layers[-1].out_shape == (6, 8)


class SpeechFrontEnd(nn.Module):
    """wav2vec 2.0's front end: a convolution over the waveform and a group norm over its channels (N, C, L), a
    positional convolution under weight norm (magnitudes g beside the weight's direction), and CLIP's class
    embedding, a vector, expanded to (batch, 1, width) in front of the frames."""

    def __init__(self, width=16):
        super().__init__()
        self.conv = nn.Conv1d(1, width, 10, stride=5, bias=False)
        self.norm = nn.GroupNorm(width, width)
        self.pos = nn.utils.parametrizations.weight_norm(nn.Conv1d(width, width, 4, padding=2, groups=4), dim=2)
        self.cls = nn.Parameter(torch.randn(width))

    def forward(self, wave):
        x = F.gelu(self.norm(self.conv(wave[:, None])))                 # (N, C, L)
        x = (x + F.gelu(self.pos(x)[:, :, :-1])).transpose(1, 2)         # (N, L, C)
        return torch.cat([self.cls.expand(x.shape[0], 1, -1), x], dim=1)


def test_a_group_norm_over_a_sequence_weight_norm_and_a_vector_expanded_to_the_batch():
    model = SpeechFrontEnd()
    net = from_torch(model, torch.randn(2, 400))
    assert net.params == torch_params(model)   # weight norm's magnitudes counted
    layers = {layer.name: layer for layer in net.layers}
    assert layers["norm"].kind == "group_norm" and layers["norm"].out_shape == (16, 79)
    assert layers["norm"].params == 32   # per channel, not per position
    assert layers["pos.weight_g"].kind == "parameter" and layers["pos.weight_g"].params == 4
    assert layers["expand"].out_shape == (1, 16) and net.layers[-1].out_shape == (80, 16)


def test_a_bias_made_from_parameters_repeated_to_the_batch():
    class RelativeBias(nn.Module):   # WavLM's relative position bias: one per head, repeated for every sample
        def __init__(self, heads=2, tokens=5):
            super().__init__()
            self.table = nn.Embedding(9, heads)
            self.register_buffer("buckets", (torch.arange(tokens)[None, :] - torch.arange(tokens)[:, None]) + 4)
            self.qk = nn.Linear(8, 16)

        def forward(self, x):
            b, t, _ = x.shape
            bias = self.table(self.buckets).permute(2, 0, 1).unsqueeze(0).repeat(b, 1, 1, 1)   # (B, H, T, T)
            q, k = self.qk(x).view(b, t, 2, 2, 4).permute(2, 0, 3, 1, 4)
            return (q @ k.transpose(-1, -2) + bias).softmax(-1)

    model = RelativeBias()
    net = from_torch(model, torch.randn(3, 5, 8))
    assert net.params == torch_params(model)
    layers = {layer.name: layer for layer in net.layers}
    assert layers["repeat"].kind == "reshape" and layers["repeat"].out_shape == (2, 5, 5)   # each sample reads it
    assert net.layers[-1].out_shape == (2, 5, 5)


def test_a_forward_that_writes_into_its_input_leaves_the_users_tensor_alone():
    class MarksFirst(nn.Module):   # the first token replaced in place, as a model's own preprocessing may
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(50, 4)

        def forward(self, ids):
            ids[:, 0] = 1
            return self.embed(ids)

    ids = torch.randint(2, 50, (2, 5))
    before = ids.clone()
    net = from_torch(MarksFirst(), ids)
    assert torch.equal(ids, before) and net.layers[-1].out_shape == (5, 4)


def test_a_forward_that_reassigns_a_buffer():
    class Positions(nn.Module):   # CTRL: self.pos_encoding = self.pos_encoding.to(device, dtype) in forward
        def __init__(self):
            super().__init__()
            self.register_buffer("table", torch.randn(10, 8))
            self.proj = nn.Linear(8, 8)

        def forward(self, x):
            self.table = self.table.to(device=x.device, dtype=x.dtype)
            return self.proj(x + self.table[torch.arange(x.shape[1]), :])

    model = Positions()
    net = from_torch(model, torch.randn(2, 5, 8))
    assert net.params == torch_params(model) and net.layers[-1].out_shape == (5, 8)
    assert isinstance(model.table, torch.Tensor) and model.table.shape == (10, 8)   # the user's buffer is intact


class SparseIndexer(nn.Module):
    """DeepSeek-V3.2's sparse attention: an indexer scores the keys, the top k per query (`.topk(k).indices`,
    cast to int32 and back) mark which keys attention may see, and scores are bounded by `.max(-1).values`."""

    def __init__(self, width=8, k=3):
        super().__init__()
        self.q, self.key, self.k = nn.Linear(width, width), nn.Linear(width, width), k

    def forward(self, x):
        q, key = self.q(x), self.key(x)
        index = (q @ key.transpose(-1, -2)).relu()
        chosen = index.topk(self.k, dim=-1).indices.to(torch.int32)
        hidden = torch.ones_like(index, dtype=torch.bool).scatter(-1, chosen.long(), False)
        scores = (q @ key.transpose(-1, -2)).masked_fill(hidden, float("-inf"))
        scores = scores - scores.max(dim=-1, keepdim=True).values
        return scores.softmax(-1) @ x


def test_top_k_indices_and_max_values_read_by_attribute_name():
    model = SparseIndexer()
    net = from_torch(model, torch.randn(2, 6, 8))
    assert net.params == torch_params(model) and net.layers[-1].out_shape == (6, 8)
    layers = {layer.name: layer for layer in net.layers}
    assert layers["topk"].out_shape == (6, 3)   # the indexer's choice is computed
    # .max(...).values: the maximum itself, subtracted from the scores (it was dropped from the subtraction)
    assert layers["max_1"].out_shape == (6, 1) and layers["sub"].parents == ("masked_fill", "max_1")


class ChunkedDeltaRule(nn.Module):
    """Gated DeltaNet's chunked delta rule as Qwen3-Next's and Kimi's torch code write it: a unit lower-triangular
    system per chunk (tril of a product) solved by torch.linalg.solve_triangular, and rows written by forward
    substitution (x[..., i, :i] = y)."""

    def __init__(self, width=8, chunk=4):
        super().__init__()
        self.k, self.v, self.chunk = nn.Linear(width, width), nn.Linear(width, width), chunk

    def forward(self, x):
        b, t, d = x.shape
        k = self.k(x).reshape(b, t // self.chunk, self.chunk, d)
        v = self.v(x).reshape(b, t // self.chunk, self.chunk, d)
        system = (k @ k.transpose(-1, -2)).tril(-1)
        new_values = torch.linalg.solve_triangular(system + torch.eye(self.chunk), v, upper=False,
                                                   unitriangular=True)
        system[..., 1, :1] = system[..., 1, :1] + new_values[..., 1, :1]
        return (new_values + system @ v).reshape(b, t, d).copysign(x)   # Kolibri's signs


def test_a_triangular_solve_and_a_row_written_after_an_ellipsis():
    model = ChunkedDeltaRule()
    net = from_torch(model, torch.randn(2, 8, 8))
    assert net.params == torch_params(model) and net.layers[-1].out_shape == (8, 8)
    solve = next(layer for layer in net.layers if layer.kind == "triangular_solve")
    assert solve.out_shape == (2, 4, 8) and solve.fwd_flops == 2 * 4 * 4 * 8   # N*N*K per chunk: half a product
    placed = next(layer for layer in net.layers if layer.name.endswith(":placed"))
    assert placed.kind == "pad" and placed.out_shape == (2, 4, 4)   # one row's first entry put in place
    assert net.layer("tril").kind == "mul" and net.layer("copysign").parents == ("reshape_2", "x")


class SparseMixerRouter(nn.Module):
    """PhiMoE's router: over the tokens as rows (x.view(-1, D)), the best expert by max(dim=-1), then the best of
    the others, their indices joined (what the bank of experts is given) and their scores weighting the output."""

    def __init__(self, width=8, experts=4):
        super().__init__()
        self.router, self.up = nn.Linear(width, experts, bias=False), nn.Linear(width, width)

    def forward(self, x):
        b, t, d = x.shape
        rows = x.reshape(-1, d)
        logits = self.router(rows)
        top, first = logits.max(dim=-1, keepdim=True)
        second_score, second = logits.scatter(-1, first, float("-inf")).max(dim=-1, keepdim=True)
        chosen = torch.cat((first, second), dim=-1)
        weights = torch.cat((top, second_score), dim=-1).softmax(-1).sum(-1, keepdim=True)
        return (self.up(rows) * weights).reshape(b, t, d), chosen   # as a router returns its choice


def test_maxima_over_rows_that_merge_the_batch_and_their_indices_joined():
    model = SparseMixerRouter()
    net = from_torch(model, torch.randn(2, 5, 8))
    assert net.params == torch_params(model) and net.layers[-1].out_shape == (5, 8)
    assert net.layer("max_1").out_shape == (5, 1) and net.layer("max_2").out_shape == (5, 1)   # per token
    assert net.layer("mul").parents == ("up", "sum_1")


class DroppingRouter(nn.Module):
    """Zaya's router: the top 2 of 5 experts per token, a choice of the last (a "no expert" slot) marked -1 with
    masked_fill, the indices reshaped to rows of 2 for the experts."""

    def __init__(self, width=8, experts=5):
        super().__init__()
        self.router, self.out = nn.Linear(width, experts), nn.Linear(width, width)

    def forward(self, x):
        weights, chosen = self.router(x).softmax(-1).topk(2, dim=-1)
        chosen = chosen.masked_fill(chosen == 4, -1).reshape(-1, 2).long()
        return self.out(x) * weights.sum(-1, keepdim=True), chosen


def test_a_routers_indices_masked_and_reshaped_stay_indices():
    model = DroppingRouter()
    net = from_torch(model, torch.randn(2, 5, 8))
    assert net.params == torch_params(model) and net.layers[-1].name == "mul"
    assert net.layer("mul").parents == ("out", "sum_1") and net.layer("topk").out_shape == (5, 2)


def test_a_gated_linear_unit_over_channels():
    class ConformerConv(nn.Module):   # the Conformer's convolution module: a pointwise conv to 2C, GLU over C
        def __init__(self, channels=8):
            super().__init__()
            self.pointwise, self.glu = nn.Conv1d(channels, 2 * channels, 1), nn.GLU(dim=1)

        def forward(self, x):
            return self.glu(self.pointwise(x.transpose(1, 2))) + F.glu(x.repeat(1, 1, 2), -1).transpose(1, 2)

    model = ConformerConv()
    net = from_torch(model, torch.randn(2, 6, 8))
    assert net.params == torch_params(model) and net.layers[-1].out_shape == (8, 6)
    assert net.layer("glu").kind == "mul" and net.layer("glu").parents == ("glu:value", "glu:sigmoid")
    assert net.layer("glu:gate").out_shape == (8, 6) and net.layer("glu:sigmoid").kind == "sigmoid"


def test_the_rows_a_boolean_mask_picks_in_every_sample():
    class EosClassifier(nn.Module):   # BART's classifier: the hidden state of each sample's last <eos> token
        def __init__(self):
            super().__init__()
            self.embed, self.head = nn.Embedding(50, 8), nn.Linear(8, 3)

        def forward(self, ids):
            hidden = self.embed(ids)
            picked = hidden[ids.eq(2), :]
            return self.head(picked.view(hidden.size(0), -1, hidden.size(-1))[:, -1, :])

    ids = torch.randint(3, 50, (3, 9))
    ids[:, 4], ids[:, -1] = 2, 2   # two <eos> in every sample
    model = EosClassifier()
    net = from_torch(model, ids)
    assert net.params == torch_params(model) and net.layers[-1].out_shape == (3,)
    gathered = next(layer for layer in net.layers if layer.kind == "gather")
    assert gathered.out_shape == (2, 8) and gathered.parents == ("embed",)   # two rows of each sample


def test_a_forward_that_passes_its_keyword_arguments_on():
    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.proj = nn.Linear(8, 8)

        def forward(self, x, mask=None, **kwargs):
            return self.proj(x) if mask is None else self.proj(x * mask)

    class ForMaskedLM(nn.Module):   # RoFormer's and XLM's heads: self.encoder(x, mask=mask, **kwargs)
        def __init__(self):
            super().__init__()
            self.encoder, self.head = Encoder(), nn.Linear(8, 20)

        def forward(self, x, mask=None, labels=None, **kwargs):
            return self.head(self.encoder(x, mask=mask, **kwargs))

    model = ForMaskedLM()
    net = from_torch(model, torch.randn(2, 5, 8))
    assert net.params == torch_params(model) and [layer.name for layer in net.layers] == ["x", "encoder.proj", "head"]


class OneHeadBias(nn.Module):
    """Swin's relative position bias with one head: the table's rows picked by a constant index, viewed as
    (window, window, heads) and permuted to (heads, window, window), whose leading 1 a shared tensor drops."""

    def __init__(self, heads=1, window=4, computed=False):
        super().__init__()
        self.register_buffer("index", torch.randint(0, 9, (window, window)))
        self.qk, self.heads, self.window = nn.Linear(8, 8), heads, window
        self.register_buffer("coords", torch.randn(9, 2))
        # Swin v2: the table computed from coordinates by a small network
        self.mlp = nn.Linear(2, heads) if computed else None
        self.table = None if computed else nn.Parameter(torch.randn(9, heads))

    def forward(self, x):
        table = self.mlp(self.coords) if self.mlp is not None else self.table
        bias = table[self.index.view(-1)].view(self.window, self.window, -1).permute(2, 0, 1).contiguous()
        q = self.qk(x).view(x.shape[0], self.window, self.heads, -1).transpose(1, 2)
        return q @ q.transpose(-1, -2) + bias.unsqueeze(0)


@pytest.mark.parametrize("heads, computed", [(1, False), (2, False), (2, True)])
def test_a_shared_tensor_permuted_to_a_leading_axis_of_one_and_a_computed_table(heads, computed):
    model = OneHeadBias(heads, computed=computed)
    net = from_torch(model, torch.randn(3, 4, 8))
    assert net.params == torch_params(model) and net.layers[-1].out_shape == (heads, 4, 4)
    assert net.layer("add").parents[1] == "unsqueeze"


def test_reductions_given_numpys_axis_keyword():
    class IntLayerNorm(nn.Module):   # I-BERT's layer norm: x.mean(axis=2, keepdim=True)
        def __init__(self):
            super().__init__()
            self.proj = nn.Linear(8, 8)

        def forward(self, x):
            y = self.proj(x)
            centred = y - y.mean(axis=2, keepdim=True)
            return centred / (centred ** 2).sum(axis=-1, keepdim=True).sqrt()

    net = from_torch(IntLayerNorm(), torch.randn(2, 5, 8))
    assert net.layer("mean").out_shape == (5, 1) and net.layer("sum_1").out_shape == (5, 1)
    assert net.layers[-1].out_shape == (5, 8)


def test_some_pieces_of_a_split_stacked_and_joined():
    class NgramStreams(nn.Module):   # ProphetNet: the main stream, then the predicting streams stacked
        def __init__(self):
            super().__init__()
            self.proj = nn.Linear(8, 24)

        def forward(self, x):
            streams = self.proj(x).chunk(3, dim=-1)
            rest = streams[1:]
            return torch.stack(rest, 1).sum(1) + torch.cat(rest, -1)[..., :8] + streams[0] + rest[0]

    model = NgramStreams()
    net = from_torch(model, torch.randn(2, 5, 8))
    assert net.params == torch_params(model) and net.layers[-1].out_shape == (5, 8)
    assert [net.layer(f"getitem:{i}").out_shape for i in (1, 2)] == [(5, 8), (5, 8)]   # the last two thirds
    stacked = net.layer("stack")
    assert stacked.kind == "concat" and stacked.out_shape == (2, 5, 8)
    assert net.layer("cat").parents == ("getitem:1", "getitem:2") and net.layer("cat").out_shape == (5, 16)
    assert net.layers[-1].parents == ("add_1", "getitem:1")   # rest[0]: the first piece taken, not a new one


class RelativeKeys(nn.Module):
    """DeBERTa's (SEW-D's) disentangled attention: relative position embeddings projected to keys per head, the
    heads repeated for every sample (.repeat(batch, 1, 1)) beside queries of batch x heads rows."""

    def __init__(self, width=8, heads=2, span=6):
        super().__init__()
        self.rel, self.pos_key, self.query = nn.Parameter(torch.randn(span, width)), nn.Linear(width, width), \
            nn.Linear(width, width)
        self.heads = heads

    def forward(self, x):
        b, t, d = x.shape
        h = self.heads
        q = self.query(x).view(b, t, h, d // h).permute(0, 2, 1, 3).reshape(-1, t, d // h)
        keys = self.pos_key(self.rel).view(-1, h, d // h).permute(1, 0, 2)
        keys = keys.repeat(q.size(0) // h, 1, 1)
        return torch.bmm(q, keys.transpose(-1, -2)).view(b, h, t, -1)


def test_a_parameter_tensor_repeated_for_every_sample_beside_rows_of_batch_and_heads():
    model = RelativeKeys()
    net = from_torch(model, torch.randn(3, 5, 8))
    assert net.params == torch_params(model) and net.layers[-1].out_shape == (2, 5, 6)
    assert net.layer("repeat").out_shape == (2, 6, 4) and net.layer("bmm").out_shape == (2, 5, 6)   # per sample


def test_windows_unfolded_along_the_tokens_and_flipped():
    class ShortConv(nn.Module):   # Inkling's short convolution: windows of 3 tokens, taps reversed, weighted
        def __init__(self, width=8, taps=3):
            super().__init__()
            self.weight, self.taps = nn.Parameter(torch.randn(width, taps)), taps

        def forward(self, x):
            padded = F.pad(x.transpose(1, 2), (self.taps - 1, 0))
            windows = padded.unfold(-1, self.taps, 1).flip(-1).transpose(1, 2)
            return (windows * self.weight).sum(-1)

    model = ShortConv()
    net = from_torch(model, torch.randn(2, 5, 8))
    assert net.params == torch_params(model) and net.layers[-1].out_shape == (5, 8)
    assert net.layer("unfold").kind == "gather" and net.layer("unfold").out_shape == (8, 5, 3)
    assert net.layer("flip").out_shape == (8, 5, 3) and net.layer("flip").parents == ("unfold",)
