"""What the torch.fx importer cannot see in a trace, said in one line rather than costed wrongly in silence.

- Forward hooks and pre-hooks of the model itself and of the modules kept whole (nn.Linear, nn.LSTM, ...): torch.fx records the module's
  call, not its hooks, so the hook's work would be dropped (an adapter added by a hook: 1.05M parameters of
  9.44M). Refused, naming the module; torch's own hooks (the older weight_norm's) are the module's own work.
- Gradient stops: parameters with requires_grad=False (a frozen backbone), ``.detach()`` and modules called
  under ``torch.no_grad()``. The simulator's graph has no layer whose parameters are not trained, so they are
  costed as trained (weight gradients, gradient memory, optimizer state, updates, gradients flowing through):
  one warning names them.
- torch.utils.checkpoint: costed as without it (the simulator's own rematerialisation is a setting, remat=);
  one warning names the checkpointed modules.

And the checks around the trace that keep the user's model and mistakes in one line: what a builder returned
(`checked_inputs`), the model's attributes saved and put back (`model_state`, `state_restored`), a trace that fails in
torch's packed sequences (`packed_error`), an error said in one line (`_one_line`).
"""
from __future__ import annotations

import os
import warnings
from collections.abc import Mapping

from simulator.graph import SimulatorError


class TorchImportWarning(UserWarning):
    """What the importer costs otherwise than PyTorch runs it (one line)."""


_CHECKPOINT_FILE = os.path.join("torch", "utils", "checkpoint.py")


def reporting_warnings(call, report):
    """call(), each TorchImportWarning it raises handed to `report` as one line ('warning: <model>: ...', for the
    simulator's CLI or Deffe's log) rather than shown as Python's warning (its file, line and source line); other
    warnings go on as they were raised."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            return call()
    finally:   # outside the recording: a warning raised again is not recorded again
        for w in caught:
            if issubclass(w.category, TorchImportWarning):
                report(f"warning: {w.message}")
            else:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)


def refuse_hooks(module, is_leaf, label: str) -> None:
    """A one-line error for a user's forward hook or pre-hook on a module the trace keeps whole (`is_leaf`)."""
    import torch.nn.modules.module as torch_module
    if any(not _torchs(h) for d in (torch_module._global_forward_hooks, torch_module._global_forward_pre_hooks)
           for h in d.values()):
        raise SimulatorError("a global forward hook (register_module_forward_hook) is not supported: torch.fx does "
                             "not trace hooks; remove it, or call its work in a forward", source=label)
    for path, m in module.named_modules():
        hooks = [*m._forward_hooks.values(), *m._forward_pre_hooks.values()]
        if not path and any(not _torchs(h) for h in hooks):   # the model's own: torch.fx traces its forward alone
            raise SimulatorError("has a forward hook or pre-hook, which torch.fx does not trace (its work would be "
                                 "dropped); call the hook's work in a forward (a module wrapping the model) instead",
                                 source=label, where=f"the model ({type(m).__name__})")
        if path and is_leaf(m) and any(not _torchs(h) for h in hooks):
            raise SimulatorError("has a forward hook or pre-hook, which torch.fx does not trace (its work would be "
                                 "dropped); call the hook's work in a forward (a module wrapping this one) instead",
                                 source=label, where=f"module '{path}' ({type(m).__name__})")


def _torchs(hook) -> bool:
    """A hook of torch's own (the older weight_norm's, spectral_norm's): the module's own work."""
    owner = getattr(hook, "__module__", None) or getattr(type(hook), "__module__", "")
    return isinstance(owner, str) and owner.startswith("torch.")


def mark_node(node, grad_enabled_at_start: bool) -> None:
    """Record on a node made by the trace whether torch.no_grad() was on and whether torch.utils.checkpoint is
    on the call stack (the frames are walked, not formatted: cheap)."""
    import sys

    import torch
    if grad_enabled_at_start and not torch.is_grad_enabled():
        node.meta["no_grad"] = True
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_filename.endswith(_CHECKPOINT_FILE):
            node.meta["checkpointed"] = True
            return
        frame = frame.f_back


def warn_unmodelled(module, graph, label: str) -> None:
    """One warning line for the gradient stops and one for the activation checkpoints the trace found."""
    frozen = _frozen_modules(module)
    detached = _places(graph, lambda n: getattr(n.target, "__name__", n.target) in ("detach", "detach_"))
    no_grad = _places(graph, lambda n: n.meta.get("no_grad") and n.op != "placeholder")
    stops = [f"requires_grad=False in {_listed(frozen)}" if frozen else "",
             f".detach() in {_listed(detached)}" if detached else "",
             f"torch.no_grad() around {_listed(no_grad)}" if no_grad else ""]
    stops = [s for s in stops if s]
    if stops:
        warnings.warn(f"{label}: gradient stops are not modelled ({'; '.join(stops)}): costed as trained (weight "
                      "gradients, optimizer state and updates, gradients flowing through)", TorchImportWarning,
                      stacklevel=3)
    checkpointed = _places(graph, lambda n: n.meta.get("checkpointed"), outer=True)
    if checkpointed:
        warnings.warn(f"{label}: torch.utils.checkpoint is not modelled (in {_listed(checkpointed)}): costed as "
                      "without it; the simulator rematerialises with its remat setting (docs/memory.md)",
                      TorchImportWarning, stacklevel=3)


def _frozen_modules(module) -> list[str]:
    """The outermost modules all of whose parameters (one at least) are frozen, else the frozen parameters."""
    out: list[str] = []
    for path, m in module.named_modules():
        params = list(m.parameters(recurse=True))
        if not params or any(path.startswith(f"{o}.") for o in out if o):
            continue
        if all(not p.requires_grad for p in params):
            out.append(path or type(module).__name__)
            if not path:
                break
            continue
        out.extend(f"{path}.{name}" if path else name for name, p in m.named_parameters(recurse=False)
                   if not p.requires_grad)
    return out


def _places(graph, chosen, outer: bool = False) -> list[str]:
    """The module paths (else the node names) of the nodes `chosen` picks, in order, once each: the innermost
    module, or the `outer`most one called (a checkpointed block rather than its layers)."""
    out: list[str] = []
    for n in graph.nodes:
        if not chosen(n):
            continue
        stack = [v[0] if isinstance(v, tuple) else str(v) for v in (n.meta.get("nn_module_stack") or {}).values()]
        stack = [p for p in stack if p]
        path = stack[0] if outer and stack else n.target if n.op == "call_module" else stack[-1] if stack \
            else f"node '{n.name}'"
        if path not in out:
            out.append(path)
    return out


def _listed(names: list[str], most: int = 4) -> str:
    shown = ", ".join(names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def checked_inputs(module, sample_input, batch_dim, label: str, returned: str = "") -> tuple:
    """(the names of the inputs given by name or None, the inputs), or a one-line error naming `label` (the
    model, or the user's builder function, which `returned` the model: what to return then)."""
    import torch
    fix = f"; return {returned}" if returned else ""
    if not isinstance(module, torch.nn.Module):
        raise SimulatorError(f"expected a torch.nn.Module as the model, got {type(module).__name__}{fix}",
                             source=label)
    if type(batch_dim) is not int or batch_dim not in (0, 1):   # 1.0 or True for 1 would index shapes
        if returned:
            raise SimulatorError(f"returned (model, sample input, {batch_dim!r}): the third item is the batch's "
                                 "dimension of the sample input, the integer 0 (batch first) or 1 (sequence "
                                 "first)", source=label)
        raise SimulatorError(f"batch_dim must be 0 (batch first) or 1 (sequence first), not {batch_dim!r}",
                             source=label)
    keywords = list(sample_input) if isinstance(sample_input, Mapping) else None   # inputs by name
    inputs = (tuple(sample_input.values()) if keywords is not None else tuple(sample_input)
              if isinstance(sample_input, (tuple, list)) else (sample_input,))
    where = "first" if batch_dim == 0 else "second"
    for i, t in enumerate(inputs):
        if not (isinstance(t, torch.Tensor) and t.dim() > batch_dim):
            which = (f"sample input {keywords[i]!r}" if keywords is not None else
                     f"sample input {i + 1}" if len(inputs) > 1 else "sample input")
            what = f"a tensor of shape {tuple(t.shape)}" if isinstance(t, torch.Tensor) else type(t).__name__
            raise SimulatorError(f"the {which} is {what}: sample_input must be a tensor (or a tuple or dict of "
                                 f"tensors) with a batch dimension {where}{fix or '; give tensors only (other arguments keep the forward defaults)'}",
                                 source=label)
    if not inputs:
        raise SimulatorError(f"sample_input is empty: give a tensor (or a tuple or dict of tensors){fix}",
                             source=label)
    batch = int(inputs[0].shape[batch_dim])
    if any(int(t.shape[batch_dim]) != batch for t in inputs):
        raise SimulatorError(f"sample inputs disagree on the batch size ({where} dimension){fix}", source=label)
    return keywords, inputs


def packed_error(err: BaseException) -> bool:
    """Whether `err` was raised in torch's packed sequences (torch/nn/utils/rnn.py)."""
    tb = err.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.endswith(os.path.join("nn", "utils", "rnn.py")):
            return True
        tb = tb.tb_next
    return False


def model_state(module) -> list:
    """Every module's attributes, parameters, buffers and submodules (references), the contents of its container
    attributes (lists, dicts, sets, nested ones too: shallow copies) and of its buffers (copies)."""
    import torch
    out = []
    for m in module.modules():
        own = {id(m._parameters), id(m._buffers), id(m._modules)}   # put back whole, as they were
        seen: set = set(own)
        containers = [c for k, v in m.__dict__.items() if id(v) not in own for c in _contents(v, seen)]
        with torch.no_grad():
            values = {k: (t, t._version, t.detach().clone()) for k, t in m._buffers.items()
                      if isinstance(t, torch.Tensor)}
        out.append((m, dict(m.__dict__), dict(m._parameters), dict(m._buffers), dict(m._modules), containers,
                    values))
    return out


def _contents(value, seen: set) -> list:
    """(container, its items) for `value` and the containers in it, when it is a list, dict, set or tuple (a
    tuple holds its items for good, but a list in it may change)."""
    if not isinstance(value, (list, dict, set, tuple)) or id(value) in seen:
        return []
    seen.add(id(value))
    items = dict(value) if isinstance(value, dict) else list(value)
    out = [] if isinstance(value, tuple) else [(value, items)]
    for item in (items.values() if isinstance(items, dict) else items):
        out.extend(_contents(item, seen))
    return out


def state_restored(state: list) -> None:
    """The modules as `model_state` saw them: a forward run by the trace may assign attributes (``self.keep =
    0.9 * self.keep + ...`` leaves a torch.fx Proxy where a tensor was, CTRL reassigns a buffer), append to a list
    or set a dict's item (a feature collector's ``self.hist.append(y)``: a Proxy), update a buffer in place
    (``self.steps.add_(1)``, when the traced module runs on the sample input), and torch.fx adds its constants
    to the root; none of that may stay in the user's model."""
    import torch
    for m, attrs, params, buffers, modules, containers, values in state:
        for key in [k for k in m.__dict__ if k not in attrs]:
            del m.__dict__[key]
        m.__dict__.update(attrs)
        for now, before in ((m._parameters, params), (m._buffers, buffers), (m._modules, modules)):
            if now.keys() != before.keys() or any(now[k] is not v for k, v in before.items()):
                now.clear()
                now.update(before)
        for container, items in containers:   # the same objects (the user may hold them), their old items
            if isinstance(container, list):
                container[:] = items
            elif isinstance(container, dict) and (container.keys() != items.keys() or
                                                  any(container[k] is not v for k, v in items.items())):
                container.clear()
                container.update(items)
            elif isinstance(container, set):   # not compared: a Proxy's == is a node of the trace
                container.clear()
                container.update(items)
        for tensor, version, saved in values.values():
            if tensor._version != version:
                with torch.no_grad():
                    tensor.copy_(saved)


def _one_line(err: Exception) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}".rstrip(": ")
