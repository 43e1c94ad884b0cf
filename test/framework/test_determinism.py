"""A seed makes a run repeatable value for value; another seed gives another sequence."""
import json

from cli_helpers import read_csv, run_deffe, write


def run(tmp_path, name, method, seed):
    d = tmp_path / name
    write(d / "config.json", json.dumps({
        "knobs": [{"name": "a", "values": "0-50"}, {"name": "b", "type": "real", "min": 0.1, "max": 10,
                                                       "log": True},
                  {"name": "c", "values": ["x", "y", "z"]}],
        "costs": ["f"],
        "sampling": {"plugin": method},
        "evaluate": {"script": "run.sh"},
        "exploration": {"plugin": "sampling", "samples_per_step": 5, "max_samples": 15},
        "model": {"plugin": None},   # the samplers' determinism; a seeded model has tests of its own
    }))
    write(d / "run.sh", "echo $a > results.out\n")
    r = run_deffe("-config", "config.json", "-seed", seed, cwd=d)
    assert r.rc == 0, r
    return [(row["a"], row["b"], row["c"]) for row in read_csv(d / "explore" / "deffe_evaluation.csv")]


def test_same_seed_same_run_other_seed_other_run(tmp_path):
    for method in ("random", "lhs", "sobol"):
        one = run(tmp_path, f"{method}1", method, 7)
        two = run(tmp_path, f"{method}2", method, 7)
        other = run(tmp_path, f"{method}3", method, 8)
        assert len(one) == 15 and len(set(one)) == 15
        assert one == two, method
        assert one != other, method


def test_seeds_beyond_32_bits_give_their_own_points_and_smaller_ones_keep_theirs(tmp_path):
    """-seed 1, 4294967297 (2**32 + 1) and -4294967295 gave the same samples: rng() kept the low 32 bits."""
    import zlib

    import numpy as np
    from helpers import framework_for
    config = {"knobs": [{"name": "a", "values": "0-50"}], "costs": ["f"],
              "evaluate": {"plugin": "python", "function": "x:y"}}
    draws = {}
    for seed in (1, 2 ** 32 + 1, -(2 ** 32) + 1, -1, 2 ** 32 - 1, 2 ** 64 + 1):
        fw = framework_for(tmp_path / str(seed), config, seed=seed)
        draws[seed] = tuple(fw.rng("sampling:random").integers(0, 2 ** 62, 4))
    assert len(set(draws.values())) == len(draws), draws
    # seeds of 0 to 2**32 - 1 keep the stream of every earlier run (stored runs and benchmarks)
    for seed in (0, 1, 7, 2 ** 31, 2 ** 32 - 1):
        fw = framework_for(tmp_path / f"k{seed}", config, seed=seed)
        old = np.random.default_rng(np.random.SeedSequence(
            [seed, zlib.crc32(fw.explore.name.encode()), zlib.crc32(b"sampling:random")]))
        assert np.array_equal(fw.rng("sampling:random").random(5), old.random(5))
