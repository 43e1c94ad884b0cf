"""Command line: simulate one training step.

    python -m simulator --network resnet50 --devices cpu+4xV100-pcie3 --placement 1
    python -m simulator --network resnet50.json --devices malvik-4gpu.json \\
        --placement file --cost-model paleo --batch-size 128 --json
    python -m simulator --network resnet50 --devices cpu+4xV100-pcie3 --groups 4 \\
        --placement 1,2,3,4 --micro-batches 8 --schedule 1f1b --trace step.json

--network: a zoo name, a Paleo JSON file, or file.py:function returning a
PyTorch model and a sample input. --devices: a preset name or an
Exprimo device-graph file. A file name that names no file in the current
directory is looked up among the bundled files (`simulator/data/`: networks
alex_v2.json, alex_v2_2gpu.json, alex_v2_8gpu.json, inception_v3.json, mnist.json,
resnet34.json, resnet50.json;
device graphs malvik-4gpu.json, malvik.json, cluster1.json, ...).
--placement: a device index (everything there), a comma list (one device per
group), `file` (the per-layer devices stored in a Paleo/Exprimo network
file), a JSON object {layer or group: device}, or a JSON file of one (Exprimo's
nets/device_assignments/ files; names of other networks' layers are ignored).
Bad input prints one line `error: ...` and exits with status 2.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import signal
import sys
from typing import Any, NoReturn, Sequence

from .graph import SimulatorError
from .output import check_output


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, status 2
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(2)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m simulator", description="Simulate one training step of a network "
                "on a device graph under a placement.")
    p.add_argument("--network", required=True, help="zoo name (e.g. resnet50), Paleo JSON file, bundled "
                   "file name (e.g. inception_v3.json) or file.py:function returning a PyTorch model and a sample "
                   "input")
    p.add_argument("--devices", required=True, help="preset (e.g. cpu+4xV100-pcie3), Exprimo JSON file or "
                   "bundled file name (e.g. malvik-4gpu.json)")
    p.add_argument("--placement", required=True,
                   help="device index, comma list per group, 'file', a JSON object or a JSON file of one")
    p.add_argument("--groups", type=int, help="regroup the network into N groups of consecutive layers")
    p.add_argument("--group-by", choices=["layers", "flops"], default="layers")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--cost-model", choices=["roofline", "paleo"], default="roofline")
    p.add_argument("--ppp-comp", type=float, default=0.9)
    p.add_argument("--ppp-comm", type=float, default=0.25)
    p.add_argument("--micro-batches", type=int, default=1)
    p.add_argument("--schedule", choices=["gpipe", "1f1b"], default="gpipe")
    p.add_argument("--replicas", type=int, default=1)
    p.add_argument("--precision", choices=["fp32", "fp16", "bf16"], default="fp32")
    p.add_argument("--optimizer", choices=["sgd", "momentum", "adam"], default="sgd")
    p.add_argument("--memory", choices=["infeasible", "penalty", "ignore"], default="infeasible")
    p.add_argument("--memory-penalty", type=float, default=10.0)
    p.add_argument("--training-algorithm", default="backprop",
                   choices=["backprop", "feedback_alignment", "direct_feedback_alignment", "memory_efficient_dfa"])
    p.add_argument("--memory-budget", type=float,
                   help="bytes a device may hold, or a fraction of its memory if <= 1 (default: its memory)")
    p.add_argument("--remat", default="off", help="off | all | comma list of devices that rematerialise "
                   "(DTR) when over their budget")
    p.add_argument("--remat-heuristic", default="dtr_eq",
                   choices=["dtr", "dtr_eq", "dtr_local", "msps", "lru", "largest", "random"])
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--trace", metavar="FILE", help="write a Chrome trace (chrome://tracing, Perfetto)")
    p.add_argument("--memory-timeline", metavar="PREFIX",
                   help="write each device's memory timeline (ZPP-MEM format) to PREFIX.<device>.txt "
                        "and a plot to PREFIX.png")
    return p


def _load_network(spec: str):
    from . import load_network, zoo
    if spec.endswith(".py"):
        raise SimulatorError(f"{spec} is a Python file: give the function that builds the network too, "
                             f"as {spec}:function (it returns a PyTorch model and a sample input)")
    if spec.endswith(".json") or (os.path.exists(spec) and ":" not in spec):
        return load_network(spec)
    if ":" in spec:
        return _user_network(spec)
    if os.path.sep in spec:
        return load_network(spec)
    return zoo.load(spec)


def _user_network(spec: str):
    """'file.py:function' or 'module:function': the function returns a PyTorch model and a sample input
    (traced with torch.fx) or a Network, as the placement evaluator's network setting."""
    where, _, name = spec.rpartition(":")
    if where.endswith(".py") and not os.path.isfile(where):
        raise SimulatorError(f"no file {where}")
    # a file's own directory first on the import path, as Python runs a script (a module: the current one),
    # for the import, the builder and the tracing; taken off afterwards
    folder = os.path.dirname(os.path.abspath(where)) if where.endswith(".py") else os.getcwd()
    with contextlib.redirect_stdout(sys.stderr), _first_on_path(folder):   # prints must not mix with --json's
        return _run_user_network(spec, where, name)


@contextlib.contextmanager
def _first_on_path(folder: str):
    """Within: `folder` first on sys.path (not added again if it is first already); afterwards taken off."""
    added = not sys.path or sys.path[0] != folder
    if added:
        sys.path.insert(0, folder)
    try:
        yield
    finally:
        if added and sys.path and sys.path[0] == folder:
            del sys.path[0]
        elif added and folder in sys.path:   # the user's code put entries before it
            sys.path.remove(folder)


def _run_user_network(spec: str, where: str, name: str):
    import importlib
    import importlib.util
    from .importers.torch_checks import reporting_warnings
    from .importers.torch_fx import from_built
    try:
        if where.endswith(".py"):
            loader = importlib.util.spec_from_file_location(os.path.basename(where)[:-3], where)
            module = importlib.util.module_from_spec(loader)
            loader.loader.exec_module(module)
        else:
            module = importlib.import_module(where)
        built = getattr(module, name)()
    except KeyboardInterrupt:
        raise
    except BaseException as e:   # the user's code (sys.exit() too: it ended the run silently): one line
        raise SimulatorError(f"{spec}: {_one_line(e)}") from None
    try:
        # runs the model's forward; what the import costs otherwise than PyTorch runs it: one line on stderr
        return reporting_warnings(lambda: from_built(built, spec), lambda line: print(line, file=sys.stderr))
    except SimulatorError:
        raise
    except KeyboardInterrupt:
        raise
    except BaseException as e:
        raise SimulatorError(f"{spec}: {_one_line(e)} (while tracing the model)") from None


def _one_line(err: BaseException) -> str:
    text = str(err).strip()
    return f"{type(err).__name__}: {text.splitlines()[0] if text else ''}".rstrip(": ")


def _load_devices(spec: str):
    from . import devices, load_device_graph
    if spec.endswith(".json") or os.path.sep in spec or os.path.exists(spec):
        return load_device_graph(spec)
    return devices.preset(spec)


def _placement_file(path: str, network) -> dict:
    """A file's {layer or group: device} (Exprimo's nets/device_assignments/). Exprimo's files assign the
    layers of several networks at once (its resnet50-handplaced.json names 230 layers, 74 of them
    ResNet-50's) and its code applies what the network has: names of no layer or group are dropped, with a
    note naming them, when the rest places every layer by name. A file with a "*" default (not Exprimo's) is
    read as the same object given inline: a name of no layer is an error with a did-you-mean (a misspelt
    layer went to the default device, with a note that did not say which name)."""
    try:
        with open(path, encoding="utf-8-sig") as f:   # a BOM (Windows editors) is not content
            value = json.load(f, object_pairs_hook=_no_duplicate_keys(path))
    except json.JSONDecodeError as err:
        raise SimulatorError(f"not valid JSON: {err.msg}", source=path, where=f"line {err.lineno}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise SimulatorError(f"cannot read the placement file: {getattr(err, 'strerror', None) or err}",
                             source=path) from None
    if not isinstance(value, dict):
        raise SimulatorError("a placement file must hold a JSON object {layer or group: device}", source=path)
    known = set(network.index) | {g.name for g in network.groups} | {"*"}
    own = {k: v for k, v in value.items() if k in known}
    named = {network.index[k] for k in own if k in network.index}
    named |= {i for g in network.groups if g.name in own for i in g.layers}
    if len(own) < len(value) and "*" not in own and len(named) == len(network.layers):
        others = [k for k in value if k not in own]
        shown = ", ".join(repr(k) for k in others[:3]) + (", ..." if len(others) > 3 else "")
        print(f"note: {path}: {len(others)} of its {len(value)} names are not layers of "
              f"'{network.name}' (ignored: {shown})", file=sys.stderr)
        return own
    return value


def _no_duplicate_keys(source: str | None):
    """A json object_pairs_hook: a key given twice ({"*": 1, "*": 0}) is an error, as in network files (the
    last one won without a word)."""
    def hook(pairs):
        out = {}
        for key, value in pairs:
            if key in out:
                raise SimulatorError(f"{'' if source else '--placement: '}key {key!r} is given twice",
                                     source=source)
            out[key] = value
        return out
    return hook


def _placement(spec: str, network) -> tuple[Any, Any]:
    """(network, placement): `file` regroups the network by the file's devices."""
    text = spec.strip()
    if text == "file":
        return network.file_placement_groups()
    if text.startswith("{"):
        try:
            value = json.loads(text, object_pairs_hook=_no_duplicate_keys(None))
        except json.JSONDecodeError as err:
            raise SimulatorError(f"--placement is not valid JSON: {err.msg} (column {err.colno})") from None
        if not isinstance(value, dict):
            raise SimulatorError("--placement JSON must be an object {layer or group: device}")
        return network, value
    if text.endswith(".json") or os.path.isfile(text):
        return network, _placement_file(text, network)
    parts = [p.strip() for p in text.split(",")]
    if any(not p for p in parts):
        raise SimulatorError(f"--placement {spec!r}: empty entry in the comma list")
    values = [int(p) if p.lstrip("-").isdigit() else p for p in parts]
    return network, values[0] if len(values) == 1 else values


def _check_output_names(args) -> None:
    """Before anything is read: an output flag must name a file (an empty name wrote nothing; a prefix '.'
    wrote the hidden files '..gpu0.txt' and '..png')."""
    if args.trace is not None and not args.trace.strip():
        raise SimulatorError("--trace needs a file name (an empty one was given)")
    if args.memory_timeline is not None:
        prefix = args.memory_timeline
        if not prefix.strip() or os.path.basename(prefix) in ("", ".", ".."):
            raise SimulatorError(f"--memory-timeline {prefix!r} is not a file name prefix; give one such as "
                                 "'out/step' (it writes out/step.<device>.txt and out/step.png)")


def _input_files(args) -> list[tuple[str, str]]:
    """(flag, path) of every file the run reads: the network, the device graph, the placement (bundled files
    included), a model's Python file."""
    from . import data
    found = []
    specs = [("--network", args.network), ("--devices", args.devices), ("--placement", args.placement.strip())]
    if ":" in args.network:
        where = args.network.rpartition(":")[0]
        specs += [("--network", where), ("--network", where + ".py")]
    for flag, spec in specs:
        if spec and os.path.isfile(spec):
            found.append((flag, spec))
    for flag, spec, kind in (("--network", args.network, data.NETWORKS), ("--devices", args.devices,
                                                                          data.DEVICE_GRAPHS)):
        try:
            found.append((flag, data.locate(spec, kind)))
        except SimulatorError:
            pass
    return found


def _output_files(args, device_names: Sequence[str]) -> list[tuple[str, str]]:
    """(flag, path) of every file the run may write."""
    from .memory_timeline import timeline_path
    out = [("--trace", args.trace)] if args.trace else []
    if args.memory_timeline:
        out += [("--memory-timeline", timeline_path(args.memory_timeline, d)) for d in device_names]
        out += [("--memory-timeline", args.memory_timeline + ".png")]
    return out


def _check_outputs(outputs: list[tuple[str, str]], inputs: list[tuple[str, str]]) -> None:
    """Before anything is written: no output is an input (the network file was replaced by the trace), a
    directory, in a missing directory (output.check_output, as the API's writers check), or another output."""
    seen: dict[str, str] = {}
    for flag, path in outputs:
        real = os.path.realpath(path)
        if real in seen:
            raise SimulatorError(f"{flag} and {seen[real]} would both write this file", source=path)
        seen[real] = flag
        if os.path.exists(path):
            for in_flag, in_path in inputs:
                if os.path.exists(in_path) and os.path.samefile(path, in_path):
                    raise SimulatorError(f"{flag} names the {in_flag} file: writing it would replace an input; "
                                         "choose another name", source=path)
        check_output(path, f"{flag}: ")


def _check_placement(spec: str, network, devices, placement) -> None:
    """A placement's error names where the placement came from: the placement file, or the network file and
    the layer for `file` (it said "placement[1]: device 99 does not exist")."""
    from .placement import device_index, layer_devices
    text = spec.strip()
    if text == "file":
        for group, device in zip(network.groups, placement):
            device_index(device, devices, f"{network.source or network.name}: layer '{group.name}': \"device\"")
        return
    try:
        layer_devices(placement, network, devices)
    except SimulatorError as err:
        if text.startswith("{") or not (text.endswith(".json") or os.path.isfile(text)):
            raise
        raise SimulatorError(str(err), source=text) from None


def _plain_json(value: Any) -> Any:
    """Standard JSON: a number that is not finite (a setting such as --memory-penalty inf) as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _plain_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain_json(v) for v in value]
    return value


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from .api import simulate
    from .importers.exprimo import fp32_peak_note
    try:
        _check_output_names(args)
        network = _load_network(args.network)
        if args.groups is not None:
            network = network.regroup(args.groups, by=args.group_by)
        devices = _load_devices(args.devices)
        if args.groups is not None and args.placement.strip() == "file":
            raise SimulatorError("--groups does not apply with --placement file: the file's devices make the "
                                 "groups (runs of consecutive layers on one device); leave --groups out")
        network, placement = _placement(args.placement, network)
        _check_placement(args.placement, network, devices, placement)
        settings = dict(cost_model=args.cost_model, batch_size=args.batch_size, ppp_comp=args.ppp_comp,
                        ppp_comm=args.ppp_comm, micro_batches=args.micro_batches, schedule=args.schedule,
                        replicas=args.replicas, precision=args.precision, optimizer=args.optimizer,
                        memory=args.memory, memory_penalty=args.memory_penalty,
                        training_algorithm=args.training_algorithm, remat_heuristic=args.remat_heuristic)
        if args.memory_budget is not None:
            settings["memory_budget"] = args.memory_budget
        if args.remat != "off":
            settings["remat"] = "all" if args.remat == "all" else [d.strip() for d in args.remat.split(",")]
        want_trace = bool(args.trace or args.memory_timeline)
        _check_outputs(_output_files(args, [d.name for d in devices.devices]), _input_files(args))
        result = simulate(network, devices, placement, trace=want_trace, **settings)
        note = fp32_peak_note(devices, args.precision)
        if note:   # an Exprimo file gives one peak: fp16 ran 4x slower than on the preset's V100 without a word
            print(f"note: {note}", file=sys.stderr)
        if args.trace:
            result.save_trace(args.trace)   # each writer reports its OSError as one line naming its file
        timeline_files: list[str] = []
        if args.memory_timeline:
            from .memory_timeline import timeline_path
            timeline_files = result.memory.save(args.memory_timeline) + [args.memory_timeline + ".png"]
            result.memory.plot(args.memory_timeline + ".png")
            # a device that holds nothing gets no file: one left by an earlier run is not this run's
            for d in result.memory.devices:
                old = timeline_path(args.memory_timeline, d.device)
                if old not in timeline_files and os.path.exists(old):
                    print(f"note: {old} is not from this run ({d.device} holds nothing in it): left as it was",
                          file=sys.stderr)
    except SimulatorError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"error: {err.filename or ''}: {err.strerror}", file=sys.stderr)
        return 2
    if args.json:
        out = result.to_dict()
        out.update(network=network.name, device_graph=devices.name, groups=len(network.groups),
                   settings={k: v for k, v in settings.items()})
        print(json.dumps(_plain_json(out), allow_nan=False))
    else:
        print(f"network        {network.name} ({len(network.layers)} layers, {len(network.groups)} groups)")
        print(f"devices        {devices.name} ({len(devices.devices)} devices)")
        print(f"cost model     {args.cost_model}, {args.precision}, {args.optimizer}, micro-batches "
              f"{args.micro_batches} ({args.schedule}), replicas {args.replicas}")
        print(result.table())
        if args.trace:
            print(f"trace          {args.trace}")
        if args.memory_timeline:
            print(f"memory         {', '.join(timeline_files)}")
    return 0


if __name__ == "__main__":
    try:
        status = main()
        sys.stdout.flush()
    except BrokenPipeError:  # the reader went away (`... | head -1`): stop quietly, as the Python docs advise,
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        status = 128 + signal.SIGPIPE   # with the status of a process the pipe stopped, as run_deffe's
    sys.exit(status)
