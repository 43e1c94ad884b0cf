"""A torch.fx tracer that knows the values: the importer's second try when plain symbolic tracing fails.

torch.fx traces with proxies that stand for any input, so a forward that asks about its tensors in Python
(``if x.size(1) > n``, ``x.view(*shape)`` with a computed shape, ``torch.finfo(x.dtype)``, a loop over a
size) cannot be traced. The importer converts the network for one sample input anyway, so this tracer runs
every operation on the sample input as it records it, and answers those questions with the real values:
sizes, shapes, dtypes, devices, lengths and truth values become constants of the recorded graph, which is
then the network for that input's shapes (what the importer builds in any case). Parameters, buffers and the
sample inputs are read from copies, so an in-place operation in forward changes neither the user's model nor
the user's tensors.
"""
from __future__ import annotations

from typing import Any

_MISSING = object()

# attributes a tensor answers in Python (not graph operations)
_ATTRIBUTES = ("shape", "dtype", "device", "ndim", "is_cuda", "requires_grad", "layout", "is_floating_point")
_METHODS = ("size", "dim", "numel", "nelement", "ndimension", "is_floating_point", "is_complex",
            "element_size", "get_device")


class _unpatched:
    """While tracing, torch.fx replaces nn.Module's __call__ and __getattr__ (so that a module called, or a
    parameter read, is recorded); computing a value must call and read the real ones."""

    def __enter__(self):
        import torch.fx._symbolic_trace as trace
        import torch.nn as nn
        self.saved = nn.Module.__call__, nn.Module.__getattr__
        nn.Module.__call__, nn.Module.__getattr__ = trace._orig_module_call, trace._orig_module_getattr

    def __exit__(self, *exc):
        import torch.nn as nn
        nn.Module.__call__, nn.Module.__getattr__ = self.saved
        return False


def assigned(x, key, value):
    """``x[key] = value``, returning x (what reads x after the assignment reads this call's result)."""
    x[key] = value
    return x


def concrete_tracer_class(base):
    """A subclass of the importer's tracer class `base` that runs what it records on the sample inputs."""
    import torch
    import torch.fx

    class ConcreteProxy(torch.fx.Proxy):
        def _value(self):
            return self.tracer.values.get(self.node, _MISSING)

        def __getattr__(self, k):
            value = self._value()
            if value is not _MISSING and isinstance(value, torch.Tensor) and k in _ATTRIBUTES + _METHODS:
                return getattr(value, k)
            return super().__getattr__(k)

        def _known(self, convert, otherwise):
            """`convert` of the value the sample run gave, else what torch.fx's proxy does (`otherwise`)."""
            value = self._value()
            return otherwise() if value is _MISSING else convert(value)

        def _unknown(self, what: str):
            def fail():
                raise TypeError(f"{what} of a traced value")
            return fail

        def __len__(self):
            return self._known(len, super().__len__)

        def __iter__(self):
            return self._known(lambda v: iter([self[i] for i in range(len(v))]), super().__iter__)

        def __bool__(self):
            return self._known(bool, super().__bool__)

        def __index__(self):
            return self._known(int, super().__index__)

        def __int__(self):
            return self._known(int, self._unknown("int()"))

        def __float__(self):
            return self._known(float, self._unknown("float()"))

        def __setitem__(self, key, value):   # x[key] = value: recorded as a function returning the changed x
            self.tracer.create_proxy("call_function", assigned, (self, key, value), {})

    class ConcreteTracer(base):
        def __init__(self, inputs: tuple):
            super().__init__()
            # copies: x[key] = value on an input changes the tensor the sample run reads, not the user's
            self.inputs = [t.clone() if isinstance(t, torch.Tensor) else t for t in inputs]
            self.values: dict[Any, Any] = {}
            self.placeholders = 0

        def proxy(self, node):
            return ConcreteProxy(node, self)

        def create_proxy(self, kind, target, args, kwargs, name=None, type_expr=None, proxy_factory_fn=None):
            proxy = super().create_proxy(kind, target, args, kwargs, name, type_expr, proxy_factory_fn)
            try:
                self.values[proxy.node] = self._run(kind, target, proxy.node)
            except Exception:   # unknown here: the proxy then behaves as torch.fx's own
                pass
            return proxy

        def _real(self, arg):
            def value(n):
                if n not in self.values and n.op == "get_attr":   # a tensor constant torch.fx stored on the root
                    self.values[n] = self._attribute(n.target)
                return self.values[n]
            return torch.fx.node.map_arg(arg, value)

        def _attribute(self, target: str):
            """The root's attribute `target`, read past the tracer's own attribute hook (which would record
            again), a copy of it when it is a tensor."""
            *path, last = target.split(".")
            owner = self.root
            for part in path:
                owner = owner._modules[part]
            for table in (owner._parameters, owner._buffers, owner.__dict__):
                if last in table:
                    value = table[last]
                    return value.detach().clone() if isinstance(value, torch.Tensor) else value
            raise KeyError(target)

        def _run(self, kind, target, node):
            if kind == "placeholder":
                i = self.placeholders
                self.placeholders += 1
                if i < len(self.inputs):
                    return self.inputs[i]
                return node.args[0] if node.args else _MISSING
            if kind == "get_attr":
                return self._attribute(target)
            args, kwargs = self._real(node.args), self._real(node.kwargs)
            with torch.no_grad(), _unpatched():
                if kind == "call_function":
                    return target(*args, **kwargs)
                if kind == "call_method":
                    return getattr(args[0], target)(*args[1:], **kwargs)
                if kind == "call_module":
                    return self.root.get_submodule(target)(*args, **kwargs)
            return _MISSING

    return ConcreteTracer
