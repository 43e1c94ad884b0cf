"""Any file given as a config loads or ends in the project's DeffeError, whose text is one line: random text,
random JSON, and a valid config with one part replaced by something random."""
import json
import tempfile
from pathlib import Path

from hypothesis import given, settings, strategies as st

from framework.config import load_config, schema
from framework.errors import DeffeError

FAST = settings(max_examples=120, deadline=None)

KEYS = sorted({*schema.TOP, *schema.KNOB, *schema.COST, *schema.EXPLORE, *schema.PLACEMENT,
               *(k for spec in schema.SECTIONS.values() for k in spec)})
KEY = st.one_of(st.sampled_from(KEYS), st.text(max_size=8))
SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-10 ** 20, 10 ** 20), st.floats(allow_nan=False),
                   st.text(max_size=12), st.sampled_from(["1,2-4,5", "0-100-25", "a::1;2", "c <= 3", "x",
                                                          "base.json", "config.json", "", "..", "/", "$HOME",
                                                          "a/b", "t::max", "1e400", "nan", "inf", "0-0"]))
JSON = st.recursive(SCALAR, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                    st.dictionaries(KEY, inner, max_size=5)), max_leaves=25)

VALID = {
    "knobs": [{"name": "a", "values": "1,2-4,5"}, {"name": "b", "values": ["x", "y"], "groups": "g"},
              {"name": "r", "type": "real", "min": 0.5, "max": 4.0}, {"name": "d", "values": [0, 1], "count": 3}],
    "scenarios": [{"name": "size", "values": [16, 32], "groups": "g"}],
    "costs": ["t", {"name": "m", "direction": "max"}],
    "constraints": ["t <= 10"],
    "evaluate": {"plugin": "python", "function": "ev:evaluate", "simulator": {"network": "resnet50"}},
    "extract": {"format": "regex", "regex": {"t": "t=(\\S+)"}},
    "exploration": {"max_samples": 10, "objectives": "t", "explore": [{"name": "e1", "groups": "g"},
                                                                      {"name": "e2", "groups": "a::1;2"}]},
    "framework": {"run_directory": "explore", "jobs": 2},
}


def _paths(obj, path=()):
    """Every place of a JSON document: (path, value)."""
    yield path, obj
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, path + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, path + (i,))


@st.composite
def mutated(draw):
    """The valid config with one value replaced, or one key added, somewhere."""
    doc = json.loads(json.dumps(VALID))
    places = list(_paths(doc))
    path, _ = draw(st.sampled_from(places))
    new = draw(JSON)
    if not path:
        return new
    parent = doc
    for p in path[:-1]:
        parent = parent[p]
    if isinstance(parent, dict) and draw(st.booleans()):
        parent[draw(KEY)] = new
    else:
        parent[path[-1]] = new
    return doc


def _load(text: str, base: str | None = None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "config.json").write_text(text, encoding="utf-8", errors="surrogatepass")
        if base is not None:
            (Path(tmp) / "base.json").write_text(base, encoding="utf-8", errors="surrogatepass")
        try:
            config = load_config(Path(tmp) / "config.json")
            config.find_pre_evaluated_data()
        except DeffeError as e:
            assert "\n" not in str(e) and "\r" not in str(e), str(e)
            assert e.file, str(e)
            return
    for explore in config.explores:
        assert explore.space.names and "/" not in explore.name


@FAST
@given(st.text(max_size=200))
def test_any_text_loads_or_is_a_deffe_error(text):
    _load(text)


@FAST
@given(JSON, st.one_of(st.none(), JSON))
def test_any_json_loads_or_is_a_deffe_error(doc, base):
    _load(json.dumps(doc), None if base is None else json.dumps(base))


@settings(max_examples=150, deadline=None)
@given(mutated(), st.one_of(st.none(), mutated()))
def test_a_valid_config_with_one_random_part_loads_or_is_a_deffe_error(doc, base):
    if base is not None and isinstance(doc, dict):
        doc["include"] = "base.json"
    _load(json.dumps(doc), None if base is None else json.dumps(base))


def test_the_valid_config_loads():
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "config.json").write_text(json.dumps(VALID))
        config = load_config(Path(tmp) / "config.json")
    assert [e.name for e in config.explores] == ["e1", "e2"] and config.cost_names == ["t", "m"]
