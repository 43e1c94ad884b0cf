"""Print the cycles and seconds of m5out/stats.txt (in the sample's directory) as 'name: value' lines."""
wanted = {"system.cpu.numCycles": "cpu_cycles", "sim_seconds": "sim_seconds"}
found = {}
with open("m5out/stats.txt") as fh:
    for line in fh:
        parts = line.split()
        if len(parts) >= 2 and parts[0] in wanted:
            found[wanted[parts[0]]] = parts[1]
for name in ("cpu_cycles", "sim_seconds"):
    print(f"{name}: {found[name]}")
