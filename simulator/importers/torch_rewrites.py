"""Rewrites of the graph torch.fx traced, before the torch.fx importer (torch_fx.py) converts it: in-place
operations threaded into what reads their tensor afterwards (and, for one on a view, what reads the tensor it
views), and the optional arguments fixed at their defaults removed with the checks torch.fx adds on them."""
from __future__ import annotations

import operator

from .torch_concrete import assigned

# views with the elements of the tensor they view, in its order: written back as a view of the same shape
_SAME_ELEMENTS = {"view", "view_as", "unsqueeze", "squeeze", "flatten", "unflatten"}
_SWAPS = {"transpose", "swapaxes", "swapdims"}


def _thread_in_place(graph) -> None:
    """x.add_(y) changes x (and so does x[key] = y, recorded by the concrete tracer as a call of `assigned`): what
    reads x after it reads the call's result. fx records the call, but where
    Python discards its result (Llama-4's out.add_(routed_experts)) nothing would read it: the work it ends
    would be dead code, and what follows would read x as it was."""
    import torch
    order = {n: i for i, n in enumerate(graph.nodes)}
    for node in list(graph.nodes):
        # a method (y.mul_(2)) or a torch function (torch.relu_(y)) named with a trailing underscore
        target = node.target if node.op == "call_method" else getattr(node.target, "__name__", "") \
            if node.op == "call_function" and getattr(torch, getattr(node.target, "__name__", ""), None) is \
            node.target else ""
        in_place = isinstance(target, str) and target.endswith("_") and not target.endswith("__")
        if (in_place or node.op == "call_function" and node.target is assigned) and node.args and \
                isinstance(node.args[0], torch.fx.Node):
            at = order[node]

            def later(user, at=at):
                return order.get(user, -1) > at
            node.args[0].replace_all_uses_with(node, delete_user_cb=later)
            # on a view (y[:, :8].mul_(2), y.view(...)[:, 0] = z): the tensor it views changes too, and so on up
            view, value = node.args[0], node
            while (written := _written_back(graph, view, value)) is not None:
                base, value = written
                base.replace_all_uses_with(value, delete_user_cb=later)
                view = base


def _name(node) -> str:
    """The method's name, or the torch function's (torch.transpose: 'transpose'), else ''."""
    import torch
    if node.op == "call_method":
        return node.target
    name = getattr(node.target, "__name__", "")
    return name if node.op == "call_function" and getattr(torch, name, None) is node.target else ""


def _basic(key) -> bool:
    """Whether x[key] is a view of x: integers, slices, ``...`` and ``None`` (a tensor index copies)."""
    items = key if isinstance(key, tuple) else (key,)
    return all(i is None or i is Ellipsis or isinstance(i, (int, slice)) for i in items)


def _written_back(graph, view, value):
    """(base, node) when `view` is a view of the graph's tensor `base` and `value` has been written into it in
    place: `node`, added after `value`, is base with the view's elements replaced by `value`'s (base[key] = value
    as the concrete tracer records it, or `value` viewed or transposed back to base's axes). None when `view` is
    no view the importer follows (a copy, as x[index_tensor] is, leaves its base as it was)."""
    import torch
    args, name = view.args, _name(view)
    if not args or not isinstance(args[0], torch.fx.Node) or view.op not in ("call_method", "call_function"):
        return None
    base = args[0]
    with graph.inserting_after(value):
        if view.target is operator.getitem and len(args) == 2 and _basic(args[1]):
            return base, graph.call_function(assigned, (base, args[1], value))
        if view.target is getattr and len(args) == 2 and args[1] in ("T", "mT"):   # both their own inverses
            return base, graph.call_function(getattr, (value, args[1]))
        if name in _SAME_ELEMENTS:
            return base, graph.call_method("view_as", (value, base))
        if name in _SWAPS and len(args) == 3 and not view.kwargs:
            return base, graph.call_method("transpose", (value, args[1], args[2]))
        if name == "t" and len(args) == 1:
            return base, graph.call_method("t", (value,))
        dims = args[1] if len(args) == 2 and isinstance(args[1], (tuple, list)) else args[1:]
        if name == "permute" and dims and all(isinstance(d, int) for d in dims) and not view.kwargs:
            inverse = [0] * len(dims)
            for i, d in enumerate(dims):
                inverse[d % len(dims)] = i
            return base, graph.call_method("permute", (value, *inverse))
    return None


def _drop_guards(graph, placeholder) -> None:
    """Remove an argument fixed at its default (torch.fx's concrete_args), with the checks torch.fx adds on it
    (``_assert_is_none``, ``_assert(x == default)``), when nothing else reads it."""
    found, todo = [], [placeholder]
    while todo:
        n = todo.pop()
        if n not in found:
            found.append(n)
            todo.extend(n.users)
    if any(u.op == "output" for n in found for u in n.users):
        return
    for n in reversed(list(graph.nodes)):   # users before what they read
        if n in found:
            graph.erase_node(n)
