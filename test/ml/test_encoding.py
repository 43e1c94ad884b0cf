"""The framework's features for repeated and exchangeable knobs."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import framework.encoding as encoding
from framework.encoding import Encoding, canonical_labels
from framework.space import DesignSpace, Knob, ListLevels


def family(n_values=4, members=16, exchangeable=True, values=None):
    vals = values or list(range(1, n_values + 1))
    return [Knob(f"device_{i}", "categorical", ListLevels(vals), encoding="onehot", family="device", member=i,
                 exchangeable=exchangeable) for i in range(members)]


def test_canonical_labels_rename_by_first_appearance():
    rows = np.array([[2, 2, 0, 3, 0], [1, 1, 1, 1, 1], [3, 2, 1, 0, 3]])
    assert canonical_labels(rows, 4).tolist() == [[0, 0, 1, 2, 1], [0] * 5, [0, 1, 2, 3, 0]]
    assert canonical_labels(rows, 40).tolist() == canonical_labels(rows, 4).tolist()  # the other method


def test_exchangeable_features_are_invariant_to_relabelling_and_nothing_else():
    enc = Encoding(DesignSpace(family()))
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 4, size=(500, 16))
    x = enc.transform(codes)
    perm = np.array([2, 0, 3, 1])
    assert np.array_equal(enc.transform(perm[codes]), x)
    # two placements that are not relabellings of each other get different features
    other = codes.copy()
    other[:, 5] = (other[:, 5] + 1) % 4
    assert not np.any(np.all(enc.transform(other) == x, axis=1))


def test_exchangeable_feature_names_and_values():
    enc = Encoding(DesignSpace(family(members=3)))
    assert enc.feature_names == ["device_0~0", "device_0~1", "device_0~2", "device_0~3",
                                 "device_1~0", "device_1~1", "device_1~2", "device_1~3",
                                 "device_2~0", "device_2~1", "device_2~2", "device_2~3",
                                 "device:share0", "device:share1", "device:share2",
                                 "device_1==device_0", "device_2==device_1"]
    x = enc.transform(np.array([[3, 3, 0]]))     # labels 0 0 1: two on one device, one on another
    assert np.allclose(x[0], [1, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 2 / 3, 1 / 3, 0, 1, 0])


def test_relabelled_views_rename_the_labels_and_nothing_else():
    from framework.values import value_key
    swap = tuple(value_key(v) for v in (1, 2, 3, 4))   # GPUs alike, the CPU (0) not
    knobs = [Knob(f"device_{i}", "categorical", ListLevels([0, 1, 2, 3, 4]), encoding="onehot", family="device",
                  member=i, exchangeable=swap) for i in range(6)] + [Knob("lr", "real", None, low=0, high=1)]
    enc = Encoding(DesignSpace(knobs))
    rng = np.random.default_rng(3)
    codes = np.column_stack([rng.integers(0, 5, size=(50, 6)), rng.random(50)])
    views = enc.relabelled(codes, 6, rng)
    assert views.shape == (6, 50, enc.n_features) and np.array_equal(views[0], enc.transform(codes))
    label = [i for i, n in enumerate(enc.feature_names) if "~" in n]
    rest = [i for i in range(enc.n_features) if i not in label]
    assert np.array_equal(views[:, :, rest], np.repeat(views[:1, :, rest], 6, axis=0))
    assert not np.array_equal(views[1][:, label], views[0][:, label])
    # each view is the features of a relabelled point: the canonical form of which is the original
    cpu = [i for i, n in enumerate(enc.feature_names) if n.endswith("=0")]
    for v in views[1:]:
        assert np.array_equal(v[:, cpu], views[0][:, cpu])                    # the CPU keeps its label
        blocks = v[:, :6 * 5].reshape(50, 6, 5)
        assert np.all(blocks.sum(axis=2) == 1)                                # one label per member
        same = np.all(blocks[:, 1:] == blocks[:, :-1], axis=2)                # who shares with the previous
        assert np.array_equal(same.astype(float), v[:, [enc.feature_names.index(f"device_{j}==device_{j - 1}")
                                                         for j in range(1, 6)]])


def test_a_plain_family_keeps_its_one_hot_and_gains_transitions():
    enc = Encoding(DesignSpace(family(members=3, exchangeable=False) + [Knob("lr", "real", None, low=0, high=1)]))
    assert enc.feature_names[:4] == ["device_0=1", "device_0=2", "device_0=3", "device_0=4"]
    assert enc.feature_names[-3:] == ["device_1==device_0", "device_2==device_1", "lr"]
    x = enc.transform(np.array([[1, 1, 2, 0.5]]))
    assert x[0, -3:].tolist() == [1, 0, 0.5]


def test_members_with_other_values_compare_by_value():
    knobs = family(members=3, exchangeable=False)
    # an explore override gave the last member its own list: the value 2 is still the value 2
    knobs[2] = Knob("device_2", "categorical", ListLevels([2, 9]), encoding="onehot", family="device", member=2)
    enc = Encoding(DesignSpace(knobs))
    x = enc.transform(np.array([[1, 1, 0], [0, 1, 1]]))   # values [2, 2, 2] and [1, 2, 9]
    assert x[:, -2:].tolist() == [[1, 1], [0, 0]]


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 7), st.integers(2, 12), st.booleans(), st.integers(0, 2 ** 31))
def test_compiled_and_numpy_paths_agree(n_values, members, exchangeable, seed):
    space = DesignSpace(family(n_values, members, exchangeable) + [Knob("x", "ordinal", ListLevels([1, 2, 3]))])
    enc = Encoding(space)
    rng = np.random.default_rng(seed)
    codes = np.column_stack([rng.integers(0, n_values, size=(64, members)), rng.integers(0, 3, size=64)])
    old = encoding._NUMBA_ROWS
    try:
        encoding._NUMBA_ROWS = 10 ** 9
        slow = enc.transform(codes)
        encoding._NUMBA_ROWS = 0
        fast = enc.transform(codes)
    finally:
        encoding._NUMBA_ROWS = old
    assert np.array_equal(slow, fast)


def test_signature_tells_exchangeable_from_plain():
    a = Encoding(DesignSpace(family(members=3))).signature()
    b = Encoding(DesignSpace(family(members=3, exchangeable=False))).signature()
    assert a != b and a["families"]["device"]["exchangeable"] and a["version"] == encoding.ENCODING_VERSION


def test_check_names_the_row_and_the_knob():
    enc = Encoding(DesignSpace(family(members=3)))
    enc.check(np.array([[0, 1, 3]]))
    with pytest.raises(ValueError, match=r"row 12: 4 is not a code of knob 'device_2'"):
        enc.check(np.array([[0, 1, 4]]), first_row=12)
    with pytest.raises(ValueError, match="expected rows of 3 codes"):
        enc.check(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="row 0: 0.5"):
        enc.check(np.array([[0.5, 1, 1]]))


def test_knob_values_one_number_per_knob():
    knobs = family(members=3) + [Knob("b", "categorical", ListLevels(["x", "y", "z"]), encoding="onehot"),
                                 Knob("r", "real", None, low=1.0, high=100.0, log=True),
                                 Knob("one", "ordinal", ListLevels([5]))]
    enc = Encoding(DesignSpace(knobs))
    assert enc.knob_names == ["device_0", "device_1", "device_2", "b", "r"]   # single-valued knobs give none
    v = enc.knob_values(np.array([[3, 3, 1, 2, 10.0, 0], [0, 0, 2, 0, 1.0, 0]]))
    # devices relabelled by first appearance ([0, 0, 1] both times), over 4 values: label / 3
    assert np.allclose(v, [[0, 0, 1 / 3, 1.0, 0.5], [0, 0, 1 / 3, 0.0, 0.0]])


def test_only_the_listed_values_are_exchangeable():
    from framework.values import value_key
    swap = tuple(value_key(v) for v in (1, 2, 3, 4))   # GPUs 1-4 alike, the CPU (0) is not
    knobs = [Knob(f"device_{i}", "categorical", ListLevels([0, 1, 2, 3, 4]), encoding="onehot", family="device",
                  member=i, exchangeable=swap) for i in range(8)]
    enc = Encoding(DesignSpace(knobs))
    rng = np.random.default_rng(1)
    codes = rng.integers(0, 5, size=(6000, 8))        # enough rows for the compiled path too
    x = enc.transform(codes)
    gpus = np.array([0, 3, 1, 4, 2])                   # relabel GPUs, keep the CPU
    assert np.array_equal(enc.transform(gpus[codes]), x)
    assert np.array_equal(enc.transform(gpus[codes[:100]]), x[:100])   # numpy path, same features
    cpu_swapped = np.array([1, 0, 2, 3, 4])            # the CPU exchanged with a GPU: another placement
    moved = cpu_swapped[codes]
    differs = np.any(moved != codes, axis=1) & np.any(codes == 0, axis=1)
    assert not np.any(np.all(enc.transform(moved[differs]) == x[differs], axis=1))
    assert canonical_labels(np.array([[2, 2, 0, 3, 0]]), 5, np.array([0, -1, -1, -1, -1])).tolist() == \
        [[1, 1, 0, 2, 0]]
    assert canonical_labels(np.array([[2, 2, 0, 3, 0]]), 50, np.array([0] + [-1] * 49)).tolist() == \
        [[1, 1, 0, 2, 0]]


def test_a_list_of_numbers_also_gives_its_place_in_the_list():
    knobs = [Knob("mb", "ordinal", ListLevels([1, 2, 4, 8, 16])), Knob("even", "ordinal", ListLevels([0, 5, 10])),
             Knob("s", "categorical", ListLevels(["a", "b", "c"]), encoding="onehot"),
             Knob("r", "real", None, low=1.0, high=2.0)]
    enc = Encoding(DesignSpace(knobs))
    assert enc.feature_names == ["mb", "mb:rank", "even", "even:rank", "s=a", "s=b", "s=c", "r"]
    x = enc.transform(np.array([[0, 0, 0, 1.0], [1, 1, 1, 1.5], [4, 2, 2, 2.0]]))
    assert Encoding(DesignSpace([Knob("s", "categorical", ListLevels([1, 2, 4]), encoding="ordinal")])).feature_names \
        == ["s"]                                # a list read as positions already has no second number
    assert np.allclose(x[:, 0], [0, 1 / 15, 1]) and np.allclose(x[:, 1], [0, 0.25, 1])   # doublings: 2 sits at 1/4
    assert np.allclose(x[:, 2], x[:, 3])      # evenly spaced: the same number twice (the shape follows the kinds)
    assert enc.knob_names == ["mb", "even", "s", "r"]    # one number per knob (torch_cnn) is unchanged


def test_an_evenly_spaced_list_of_positive_sizes_gives_its_log_value():
    # Deffe's problem sizes "100-100100-100": 100, 1,000 and 10,000 objects must be apart for a network (on the
    # linear scale the first two are 0 and 0.0009); a list with 0 in it has no log and keeps its place
    knobs = [Knob("objects", "ordinal", ListLevels(list(range(100, 100100, 100)))),
             Knob("zero", "ordinal", ListLevels([0, 5, 10]))]
    enc = Encoding(DesignSpace(knobs))
    assert enc.feature_names == ["objects", "objects:log", "zero", "zero:rank"]
    x = enc.transform(np.array([[0, 0], [9, 1], [99, 2]]))       # 100, 1,000 and 10,000 objects
    assert np.allclose(x[:, 1], [0, 1 / 3, 2 / 3]) and x[1, 0] < 0.01
    assert np.allclose(enc.knob_values(np.array([[0, 0], [9, 1], [99, 2]]))[:, 0], x[:, 1])  # the CNN reads the log
    assert np.allclose(enc.knob_values(np.array([[0, 0], [9, 1], [99, 2]]))[:, 1], [0, 0.5, 1])


def test_a_categorical_knob_of_many_values_is_one_ordinal_feature_unless_the_config_says_otherwise(caplog):
    """10 knobs "v[0-2000]" were 20,000 one-hot model columns: a surrogate step 15-20x slower (62 s, 556 MB)
    than with "encoding": "ordinal". Beyond 64 values a categorical knob now defaults to one ordinal feature
    (said once in the log); up to 64 values it keeps its one-hot columns; an explicit encoding always wins."""
    import logging
    from framework.config.knobs import build_entry

    def knob(values, **extra):
        return build_entry({"name": "c", "values": values, **extra}, "knobs[0]", False).knobs[0]

    wide = [build_entry({"name": f"c{i}", "values": "v[0-2000]"}, f"knobs[{i}]", False).knobs[0]
            for i in range(10)]
    getattr(encoding, "_SAID", set()).clear()   # (said once per process)
    with caplog.at_level(logging.INFO, logger="deffe"):
        enc = Encoding(DesignSpace(wide))
        Encoding(DesignSpace(wide))
    assert len(enc.feature_names) == 10
    assert [k.encoding for k in wide] == ["ordinal"] * 10
    said = [r.getMessage() for r in caplog.records if "one ordinal model feature" in r.getMessage()]
    assert len(said) == 1 and "'c0'" in said[0] and '"encoding": "onehot"' in said[0]
    # the text keeps its order: v0 .. v2000 over [0, 1]
    x = enc.transform(np.zeros((1, 10)) + np.array([[0, 1000] + [0] * 8]))
    assert x[0, 0] == 0 and 0.4 < x[0, 1] < 0.6
    assert knob([f"s{i}" for i in range(64)]).encoding == "onehot"            # few values: as before
    assert knob("v[0-20]").encoding == "onehot"
    assert knob([f"s{i}" for i in range(65)]).encoding == "ordinal"
    assert knob([f"s{i}" for i in range(65)], encoding="onehot").encoding == "onehot"   # explicit wins
    assert len(Encoding(DesignSpace([knob([f"s{i}" for i in range(65)], encoding="onehot")])).feature_names) == 65
    assert knob(list(range(100)), type="categorical").encoding == "ordinal"
