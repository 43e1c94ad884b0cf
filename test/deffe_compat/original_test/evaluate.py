"""A stand-in application: exec_time = param1 * param2 * options, written to results.out.

It records the arguments and environment it was started with (seen.json), so
that tests can check what the framework passed, the way Deffe passed it: as
single-dash options from evaluate.sh, or as --name value from the framework
itself when the config names this file as the evaluate script.
"""
import argparse
import json
import os
import sys

parser = argparse.ArgumentParser()
parser.add_argument("-cwd", default=".")
for name in ("param1", "param2", "param3", "param4", "param5", "size", "evaluate_index"):
    parser.add_argument(f"-{name}", f"--{name}", default="1")
parser.add_argument("-options", "--options", default="16")
args = parser.parse_args()
out = os.getcwd()
with open(os.path.join(out, "seen.json"), "w") as fh:
    json.dump({"argv": sys.argv[1:], "env": {k: v for k, v in os.environ.items() if k.startswith("DEFFE_")}}, fh)
value = int(args.param1) * int(args.param2) * float(args.options)
with open(os.path.join(out, "results.out"), "w") as fh:
    fh.write(f"{value}\n")
print(value)
