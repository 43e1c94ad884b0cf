"""Rewrites of the graph torch.fx traced, before the torch.fx importer (torch_fx.py) converts it: in-place
operations threaded into what reads their tensor afterwards, and the optional arguments fixed at their defaults
removed with the checks torch.fx adds on them."""
from __future__ import annotations

from .torch_concrete import assigned


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
            node.args[0].replace_all_uses_with(node, delete_user_cb=lambda user, at=at: order.get(user, -1) > at)


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
