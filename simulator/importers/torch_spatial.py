"""Operations over the positions of an image, a sequence or a volume written as functions (or as the modules
that call them), for the torch.fx importer: pooling (1-D, 2-D, 3-D, adaptive), padding, im2col and back
(F.unfold / F.fold), pixel shuffle and interpolate (of a parameter too). A mixin of the converter, beside
FunctionNodes (torch_functions.py), which dispatches to it."""
from __future__ import annotations

from simulator.ops import (AdaptiveAvgPool1d, AdaptiveAvgPool2d, AdaptiveAvgPool3d, Pad, PixelShuffle, Pool1d,
                           Pool2d, Pool3d, Slice, Transpose, Unfold, Upsample)
from simulator.ops.conv import UPSAMPLE_FLOPS

from .torch_nodes import NCHW, PLAIN, SHARED, _pair, _Tensor


class SpatialFunctions:
    """The converter's pooling, padding, im2col, pixel shuffle and interpolate functions."""

    def spatial_function(self, node, key, method, args, kwargs, expect, done):
        """Pooling, im2col and back, pixel shuffle, padding and interpolate; None for another function."""
        import torch
        import torch.nn.functional as F
        if key in (F.max_pool2d, F.avg_pool2d, F.adaptive_avg_pool2d, F.adaptive_max_pool2d):
            return self.pool(node, key, args, kwargs, done)
        if key in (F.max_pool1d, F.avg_pool1d, F.adaptive_avg_pool1d):
            return self.pool1d(node, key, args, kwargs, done)
        if key in (F.max_pool3d, F.avg_pool3d, F.adaptive_avg_pool3d):
            return self.pool3d(node, key, args, kwargs, done)
        if key in (F.unfold, F.fold):   # im2col and back (TNT's pixel patches, VOLO's outlook attention)
            names = ("input", "output_size", "kernel_size", "dilation", "padding", "stride") if key is F.fold else \
                ("input", "kernel_size", "dilation", "padding", "stride")
            given = dict(zip(names, args), **kwargs)
            settings = {k: _pair(given.get(k, d)) for k, d in (("kernel_size", 1), ("dilation", 1), ("padding", 0),
                                                                ("stride", 1))}
            common = dict(kernel=settings["kernel_size"], stride=settings["stride"], padding=settings["padding"],
                          dilation=settings["dilation"])
            if key is F.unfold:
                return done(Unfold(**common), [self.tensor(node, given["input"], NCHW)], PLAIN)
            _, c, h, w = expect
            return done(Unfold(**common, fold=True, size=(h, w, c)), [self.tensor(node, given["input"], PLAIN)], NCHW)
        if key in (F.pixel_shuffle, F.pixel_unshuffle, torch.pixel_shuffle, torch.pixel_unshuffle):
            x = self.tensor(node, args[0], NCHW)
            factor = args[1] if len(args) > 1 else kwargs.get("upscale_factor", kwargs.get("downscale_factor"))
            inverse = key in (F.pixel_unshuffle, torch.pixel_unshuffle)
            return done(PixelShuffle(int(factor), inverse), [x], NCHW)
        if key is F.pad:
            return self.pad(node, args, kwargs, done)
        if key is F.interpolate:   # nn.Upsample too: its output size is the traced one
            mode = args[3] if len(args) > 3 else kwargs.get("mode", "nearest")
            mode = {"nearest-exact": "nearest"}.get(mode, mode)
            if mode not in UPSAMPLE_FLOPS:
                raise self.fail(node, f"interpolate mode {mode!r} is not supported (nearest, bilinear and bicubic "
                                      "are)")
            x = self.tensor(node, args[0], NCHW)
            if len(x.torch_shape) != 4 or expect is None or len(expect) != 4:
                raise self.fail(node, "interpolate of other tensors than images (N, C, H, W) is not supported")
            size = (int(expect[2]), int(expect[3]))
            if x.layout == SHARED:   # a parameter resized (PVT's position embeddings for another image size)
                return self.resized_parameter(node, x, size, mode, expect)
            return done(Upsample(size, mode), [x], NCHW)
        return None

    def pool(self, node, fn, args, kwargs, done):
        """F.max_pool2d / F.avg_pool2d / F.adaptive_avg_pool2d / F.adaptive_max_pool2d, as their modules."""
        import torch.nn.functional as F
        x = self.tensor(node, args[0], NCHW)
        if fn is F.adaptive_avg_pool2d:
            size = args[1] if len(args) > 1 else kwargs["output_size"]
            size = _pair(size) if not isinstance(size, (tuple, list)) else tuple(size)
            _, _, h, w = x.torch_shape
            return done(AdaptiveAvgPool2d((size[0] or h, size[1] or w)), [x], NCHW)
        if fn is F.adaptive_max_pool2d:
            size = args[1] if len(args) > 1 else kwargs["output_size"]
            size = _pair(size) if not isinstance(size, (tuple, list)) else tuple(size)
            _, _, h, w = x.torch_shape
            oh, ow = size[0] or h, size[1] or w
            if h % oh or w % ow or args[2:] or kwargs.get("return_indices"):
                raise self.fail(node, f"adaptive max pooling of {h}x{w} to {oh}x{ow}: only sizes that divide the "
                                      "input, without return_indices, are supported")
            window = (h // oh, w // ow)   # then it is a plain max pooling
            return done(Pool2d("max", window, window, (0, 0)), [x], NCHW)
        given = self.pool_arguments(node, fn is F.max_pool2d, "max_pool2d", args, kwargs)
        if fn is F.avg_pool2d and given.get("divisor_override"):
            raise self.fail(node, "avg_pool2d with divisor_override is not supported")
        kernel = _pair(given["kernel_size"])
        stride = _pair(given.get("stride") or kernel)
        op = Pool2d("max" if fn is F.max_pool2d else "avg", kernel, stride, _pair(given.get("padding", 0)),
                    ceil_mode=bool(given.get("ceil_mode", False)))
        return done(op, [x], NCHW)

    def pool_arguments(self, node, is_max: bool, what: str, args, kwargs) -> dict:
        """torch's max / average pooling arguments by name; a max pooling with indices or dilation fails."""
        names = (("input", "kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices")
                 if is_max else ("input", "kernel_size", "stride", "padding", "ceil_mode"))
        given = dict(zip(names, args), **kwargs)
        dilation = given.get("dilation", 1)
        dilations = dilation if isinstance(dilation, (tuple, list)) else (dilation,)
        if given.get("return_indices") or any(int(d) != 1 for d in dilations):
            raise self.fail(node, f"{what} with return_indices or dilation is not supported")
        return given

    def pool1d(self, node, fn, args, kwargs, done):
        """F.max_pool1d / F.avg_pool1d / F.adaptive_avg_pool1d (and their modules) over (N, C, L)."""
        import torch.nn.functional as F
        x = self.tensor(node, args[0], PLAIN)
        if len(x.torch_shape) != 3:
            raise self.fail(node, f"1-D pooling of a tensor of shape {tuple(x.torch_shape)}: only (N, C, L) is "
                                  "supported")
        if fn is F.adaptive_avg_pool1d:
            size = args[1] if len(args) > 1 else kwargs["output_size"]
            size = size[0] if isinstance(size, (tuple, list)) else size
            return done(AdaptiveAvgPool1d(int(size or x.torch_shape[2])), [x], PLAIN)
        given = self.pool_arguments(node, fn is F.max_pool1d, "max_pool1d", args, kwargs)
        one = (lambda v: int(v[0]) if isinstance(v, (tuple, list)) else int(v))
        kernel = one(given["kernel_size"])
        stride = one(given.get("stride") or kernel)
        op = Pool1d("max" if fn is F.max_pool1d else "avg", kernel, stride, one(given.get("padding", 0)),
                    ceil_mode=bool(given.get("ceil_mode", False)))
        return done(op, [x], PLAIN)

    def pool3d(self, node, fn, args, kwargs, done):
        """F.max_pool3d / F.avg_pool3d / F.adaptive_avg_pool3d (and their modules) over (N, C, D, H, W)."""
        import torch.nn.functional as F
        x = self.tensor(node, args[0], PLAIN)
        if len(x.torch_shape) != 5:
            raise self.fail(node, f"3-D pooling of a tensor of shape {tuple(x.torch_shape)}: only (N, C, D, H, W) is "
                                  "supported")
        volume = tuple(x.torch_shape[2:])
        if fn is F.adaptive_avg_pool3d:
            size = args[1] if len(args) > 1 else kwargs["output_size"]
            size = (size,) * 3 if not isinstance(size, (tuple, list)) else tuple(size)
            return done(AdaptiveAvgPool3d(tuple(s or v for s, v in zip(size, volume))), [x], PLAIN)
        given = self.pool_arguments(node, fn is F.max_pool3d, "max_pool3d", args, kwargs)
        if fn is F.avg_pool3d and given.get("divisor_override"):
            raise self.fail(node, "avg_pool3d with divisor_override is not supported")
        kernel = given["kernel_size"]
        op = Pool3d("max" if fn is F.max_pool3d else "avg", kernel, given.get("stride") or kernel,
                    given.get("padding", 0), ceil_mode=bool(given.get("ceil_mode", False)))
        return done(op, [x], PLAIN)

    def pad(self, node, args, kwargs, done):
        """F.pad (nn.ZeroPad2d, ConstantPad*, ReflectionPad*, ...): a copy into the larger tensor, whatever
        the mode. torch's pairs run from the last dimension backwards."""
        x = self.tensor(node, args[0])
        spec = args[1] if len(args) > 1 else kwargs.get("pad")
        if isinstance(spec, (tuple, list)):   # sizes computed from x.size() (timm's Swin pads to whole windows)
            spec = [v.meta.get("value", v) if hasattr(v, "op") else v for v in spec]
        rank = len(x.torch_shape)
        if not isinstance(spec, (tuple, list)) or len(spec) % 2 or len(spec) // 2 > rank or \
                not all(isinstance(v, int) for v in spec):
            raise self.fail(node, f"pad {spec!r} is not a list of (before, after) pairs for a {rank}-D tensor")
        if x.layout == SHARED:
            raise self.fail(node, "padding a parameter tensor is not supported")
        pairs = [(0, 0)] * rank
        for i in range(len(spec) // 2):
            pairs[rank - 1 - i] = (int(spec[2 * i]), int(spec[2 * i + 1]))
        if pairs[0] != (0, 0):
            raise self.fail(node, "padding the batch dimension is not supported")
        order = list((2, 3, 1) if x.layout == NCHW else range(1, rank))   # torch's axes of our per-sample ones
        for axis, a in enumerate(order):   # a negative size crops (RWKV's time shift: ZeroPad2d((0, 0, 1, -1)))
            before, after = pairs[a]
            if before < 0 or after < 0:
                size = self.shapes[x.layer][axis]
                start, stop = max(-before, 0), size - max(-after, 0)
                if start >= stop:
                    raise self.fail(node, f"pad {spec!r} crops away every element of dimension {a}")
                x = self.add(node, f"{node.name}:crop{axis}", Slice(axis, start, stop), [x], x.layout, None)
                pairs[a] = (max(before, 0), max(after, 0))
        return done(Pad(tuple(pairs[a] for a in order)), [x], x.layout)

    def resized_parameter(self, node, x: _Tensor, size: tuple, mode: str, expect):
        """interpolate of a parameter (1, C, H, W), the same for every sample: the simulator's resizing works on
        (H, W, C), so the channels go last and back around it."""
        if int(x.torch_shape[0]) != 1 or len(self.shapes[x.layer]) != 3:
            raise self.fail(node, "interpolate of a parameter is supported for one image (1, C, H, W) only")
        c, h, w = (int(d) for d in x.torch_shape[1:])
        hwc = self.add(node, f"{node.name}:hwc", Transpose((1, 2, 0)), [x], SHARED, (h, w, c))
        resized = self.add(node, f"{node.name}:resize", Upsample(size, mode), [hwc], SHARED, size + (c,))
        return self.add(node, node.name, Transpose((2, 0, 1)), [resized], SHARED, expect)
