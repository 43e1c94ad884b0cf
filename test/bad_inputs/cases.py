"""The corpus of bad inputs: one file per case, and what the one error line must say about it.

Every case runs from a directory that holds a finished small run (``base/``: ``config.json``, ``explore/``
with its store, tables and checkpoint) and copies of ``configs/``, ``csv/`` and ``simulator/``:

* ``config``: ``run_deffe.py -config configs/<file>`` (most include ``../config.json``, the finished run's
  config, and add one mistake; ``-no-run`` when the file is fine);
* ``pre``: ``run_deffe.py -config config.json -pre-evaluated-data csv/<file>`` (``-no-run`` when the file is
  fine: a dry run reads it and writes nothing);
* ``infer``: ``run_deffe.py -config config.json -inference-only -icp explore/checkpoints/explore_0.ckpt
  -input csv/<file> -output out.csv -strict`` (``lenient``: without ``-strict``);
* ``network`` / ``devices``: ``python -m simulator --network simulator/<file> --devices cpu+1xV100-pcie3
  --placement 1`` (a device file with ``--network simulator/net_good.json``).

``fragments`` are what the error line holds: the file, the place (line, key path), what is wrong. A case
with ``ok=True`` is a file that is fine: exit status 0, its fragments are looked for in the output.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Case:
    kind: str                    # config | pre | infer | lenient | network | devices
    file: str                    # under configs/, csv/ or simulator/ (by kind)
    fragments: tuple[str, ...]
    ok: bool = False

    @property
    def id(self) -> str:
        return f"{self.kind}-{self.file.rsplit('.', 1)[0]}"


def _cases(kind: str, rows: list[tuple]) -> list[Case]:
    return [Case(kind, file, tuple(fragments), *extra) for file, fragments, *extra in rows]


CONFIGS = _cases("config", [
    # reading the file
    ("broken_json.json", ["broken_json.json:4:", "not valid JSON"]),
    ("broken_after_comments.json", ["broken_after_comments.json:5:", "not valid JSON"]),
    ("unterminated.json", ["unterminated.json:3:", "not valid JSON"]),
    ("empty.json", ["empty.json: the file is empty"]),
    ("not_an_object.json", ["not_an_object.json: a config must be a JSON object"]),
    ("not_utf8.json", ["not_utf8.json:3:42: not UTF-8 text", "save the config as UTF-8"]),
    ("windows_bom_crlf.json", ["dry run: nothing written"], True),
    # keys and types
    ("unknown_key.json", ["unknown_key.json:costz: unknown key 'costz'", "did you mean 'costs'?"]),
    ("unknown_section_key.json", ["unknown_section_key.json:framework.run_dir", "did you mean 'run_directory'?"]),
    ("unknown_knob_key.json", ["unknown_knob_key.json:knobs[0].vales", "did you mean 'values'?"]),
    ("wrong_type_section.json", ["wrong_type_section.json:framework.jobs: expected an integer, got text"]),
    ("number_as_text.json", ["number_as_text.json:framework.jobs", "write 2 without quotes"]),
    ("wrong_type_knobs.json", ["wrong_type_knobs.json:knobs: expected a list, got an object"]),
    ("wrong_type_values.json", ["wrong_type_values.json:knobs[0].values: expected a list, a number or a string"]),
    ("wrong_type_section_list.json", ["wrong_type_section_list.json:sampling: expected an object, got a list"]),
    # knobs
    ("empty_values.json", ["empty_values.json:knobs[0].values: knob 'a' has an empty list of values"]),
    ("empty_range.json", ["empty_range.json:knobs[0].values: range '5-5' is empty"]),
    ("inverted_range.json", ["inverted_range.json:knobs[0].min: min (10) is greater than max (2)"]),
    ("zero_step.json", ["zero_step.json:knobs[0].step: step must be positive, got 0"]),
    ("negative_step.json", ["negative_step.json:knobs[0].step: step must be positive, got -0.5"]),
    ("zero_step_string.json", ["zero_step_string.json:knobs[0].values: range '0-100-0' has a step of 0"]),
    ("log_step_not_a_factor.json", ["log_step_not_a_factor.json:knobs[0].step", "must be > 1"]),
    ("infinite_max.json", ["infinite_max.json:knobs[0].max: expected a finite number, got inf"]),
    ("too_many_levels.json", ["too_many_levels.json:knobs[0]: the range from 0 to 1e+300 has more than 2**53"]),
    ("too_many_knobs.json", ["too_many_knobs.json:knobs[0].count: count 100,000,000 makes too many knobs"]),
    ("nan_value.json", ["nan_value.json:knobs[0].values: nan is not a value"]),
    ("control_character_value.json", ["control_character_value.json:knobs[0].values[1]",
                                      "holds a control character"]),
    ("duplicate_knob.json", ["duplicate_knob.json:exploration: two knobs named 'b'", "scenarios[0]"]),
    ("duplicate_knob_in_one_file.json", ["duplicate_knob_in_one_file.json:exploration: two knobs named 'a'",
                                         "knobs[0] in config.json and knobs[1]", "cannot be merged"]),
    ("duplicate_value.json", ["duplicate_value.json:knobs[0].values: value 3 is listed twice"]),
    ("duplicate_cost.json", ["duplicate_cost.json:costs[2]: cost 't' is listed twice (also at costs[0])"]),
    ("no_costs.json", ["no_costs.json:costs: no costs are listed"]),
    ("bad_knob_name.json", ["bad_knob_name.json:knobs[0].name: knob name 'cache size' must start with"]),
    # includes
    ("include_cycle.json", ["configs/inc/cycle.json:include: include cycle: include_cycle.json -> cycle.json -> "
                            "include_cycle.json"]),
    ("missing_include.json", ["missing_include.json:include[1]: included file 'inc/not_there.json' not found"]),
    ("include_directory.json", ["include_directory.json:include: included file 'inc' is a directory"]),
    ("included_file_error.json", ["inc/bad_key.json:framework.jobz: unknown key 'jobz'", "did you mean 'jobs'?"]),
    ("included_broken_json.json", ["inc/broken.json:3:", "not valid JSON"]),
    ("included_bad_knob.json", ["inc/bad_knob.json:knobs[0].values: knob 'z' has an empty list of values"]),
    # plugins
    ("plugin_missing.json", ["plugin_missing.json:sampling.plugin: plugin 'lhss' for sampling not found",
                             "did you mean 'lhs'?"]),
    ("plugin_without_getobject.json", ["plugin_without_getobject.json:sampling.plugin", "no GetObject"]),
    ("plugin_without_run.json", ["plugin_without_run.json:sampling.plugin", "its object has no Run()"]),
    ("plugin_raises_on_import.json", ["plugin_raises_on_import.json:sampling.plugin", "failed to import",
                                      "RuntimeError: this module refuses to load"]),
    ("plugin_syntax_error.json", ["plugin_syntax_error.json:exploration.plugin", "failed to import",
                                  "SyntaxError"]),
    ("evaluate_function_raises_on_import.json", ["evaluate_function_raises_on_import.json:evaluate.function",
                                                 "failed to import", "RuntimeError"]),
    # constraints
    ("constraint_syntax.json", ["constraint_syntax.json:constraints[0]: cannot read constraint 't =< 100'"]),
    ("constraint_no_cost.json", ["constraint_no_cost.json:constraints[0]: 'memory' is not a cost"]),
    ("constraint_nan.json", ["constraint_nan.json:constraints[0]: cannot read constraint 't <= nan'"]),
    # explorations: a name becomes a file name
    ("explore_name_dotdot.json", ["explore_name_dotdot.json:exploration.explore[0].name",
                                  "'../x' is a path, not a plain file name"]),
    ("explore_name_path.json", ["explore_name_path.json:exploration.explore[0].name", "'a/b' is a path"]),
    ("explore_name_absolute.json", ["explore_name_absolute.json:exploration.explore[0].name",
                                    "'/tmp/deffe' is a path"]),
    ("explore_name_empty.json", ["explore_name_empty.json:exploration.explore[0].name", "'' is empty"]),
    ("explore_name_twice.json", ["explore_name_twice.json:exploration.explore[1].name",
                                 "'e' is used twice"]),
    ("explore_group_matches_nothing.json", ["explore_group_matches_nothing.json:exploration.explore[0].groups",
                                            "group 'cahce' matches no knob or scenario", "did you mean 'cache'?"]),
    ("explore_override_text.json", ["explore_override_text.json:exploration.explore[0]",
                                    "override of 'a' gives text to a numeric knob"]),
    ("objective_not_a_cost.json", ["objective_not_a_cost.json:exploration.objectives: 'tt' is not a cost",
                                   "did you mean 't'?"]),
    ("regex_without_group.json", ["regex_without_group.json:extract.regex.t", "needs a group"]),
])

CSVS = _cases("pre", [
    ("missing_knob_column.csv", ["missing_knob_column.csv:line 1: no column for knob c", "the columns are: a, b, t"]),
    ("missing_cost_column.csv", ["missing_cost_column.csv:line 1: no column for cost t"]),
    ("extra_columns.csv", ["extra_columns.csv: 2 rows read"], True),
    ("nan_cost.csv", ["nan_cost.csv:line 3: cost 't' is not a number: 'nan'"]),
    ("text_cost.csv", ["text_cost.csv:line 3: cost 't' is not a number: 'fast'"]),
    ("outside_domain.csv", ["outside_domain.csv: 4 rows read", "2 outside the space skipped (first: line 3: "
                            "value '9' of 'a' is outside its domain"], True),
    ("empty.csv", ["empty.csv: the file is empty"]),
    ("header_only.csv", ["header_only.csv: 0 rows read"], True),
    ("excel_bom_crlf.csv", ["excel_bom_crlf.csv: 2 rows read"], True),
    ("deffe_spaces.csv", ["deffe_spaces.csv: 2 rows read"], True),
    ("latin1.csv", ["latin1.csv:line 3: not UTF-8 text"]),
    ("utf16.csv", ["utf16.csv:line 1: not UTF-8 text"]),
    ("duplicate_column.csv", ["duplicate_column.csv:line 1: column 'a' appears 2 times (columns 1, 3)"]),
    ("first_line_empty.csv", ["first_line_empty.csv:line 1: the first line is empty"]),
    ("bad_status.csv", ["bad_status.csv:line 3: status 'broken' is not one of ok, failed, timeout, infeasible"]),
    ("short_row.csv", ["short_row.csv:line 3: the row has 2 cells where the header (line 1) has 4; a row has a "
                       "cell for each column of the header; was the file cut short?"]),
    ("a_directory.csv", ["a_directory.csv: is a directory, not a CSV file"]),
    ("no_such_file.csv", ["no_such_file.csv: file not found"]),
])

INFERENCE = _cases("infer", [
    ("missing_knob_column.csv", ["missing_knob_column.csv:line 1: no column for knob c"]),
    ("missing_cost_column.csv", ["2 rows predicted"], True),
    ("extra_columns.csv", ["2 rows predicted"], True),
    ("nan_cost.csv", ["nan_cost.csv:line 3: cost 't' is not a number: 'nan' (the first of 1 bad row of 2)",
                      "leave out -strict"]),
    ("text_cost.csv", ["text_cost.csv:line 3: cost 't' is not a number: 'fast' (the first of 1 bad row of 3)"]),
    ("outside_domain.csv", ["outside_domain.csv:line 3: value '9' of 'a' is outside its domain",
                            "(the first of 2 bad rows of 4)"]),
    ("empty.csv", ["empty.csv: the file is empty"]),
    ("header_only.csv", ["0 rows predicted"], True),
    ("excel_bom_crlf.csv", ["2 rows predicted"], True),
    ("deffe_spaces.csv", ["2 rows predicted"], True),
    ("latin1.csv", ["latin1.csv:line 3: not UTF-8 text"]),
    ("utf16.csv", ["utf16.csv:line 1: not UTF-8 text"]),
    ("duplicate_column.csv", ["duplicate_column.csv:line 1: column 'a' appears 2 times"]),
    ("first_line_empty.csv", ["first_line_empty.csv:line 1: the first line is empty"]),
    ("short_row.csv", ["short_row.csv:line 3: the row has 2 cells where the header (line 1) has 4"]),
    ("a_directory.csv", ["a_directory.csv: is a directory, not a CSV file"]),
    ("no_such_file.csv", ["no_such_file.csv: file not found"]),
]) + _cases("lenient", [
    ("outside_domain.csv", ["2 rows predicted", "2 bad rows skipped"], True),
])

SIMULATOR = _cases("network", [
    ("net_broken_json.json", ["net_broken_json.json: invalid JSON at line 7, column 5"]),
    ("net_unknown_layer_type.json", ["net_unknown_layer_type.json: layer 'conv1': unknown layer type 'Convolutoin'",
                                     "did you mean 'Convolution'?"]),
    ("net_missing_parent.json", ["net_missing_parent.json: layer 'fc': unknown parent 'conv9'"]),
    ("net_cycle.json", ["net_cycle.json: layer 'conv1': the graph has a cycle: conv1 -> fc -> prob -> conv1"]),
    ("net_shapes_differ.json", ["net_shapes_differ.json: layer 'sum': elementwise add of different shapes"]),
    ("net_channels_differ.json", ["net_channels_differ.json: layer 'conv1': filter expects 7 input channels"]),
    ("net_window_too_large.json", ["net_window_too_large.json: layer 'conv1': 40x40 window does not fit"]),
    ("net_huge_size.json", ["net_huge_size.json: layer 'fc': 'num_outputs' must be a positive integer"]),
    ("net_no_parents_key.json", ["net_no_parents_key.json: layer 'fc': missing required key 'parents'"]),
    ("net_not_utf8.json", ["net_not_utf8.json: the file is not UTF-8 text"]),
    ("net_good.json", ["step time"], True),
    ("net_windows_bom_crlf.json", ["step time"], True),   # a BOM was 'Unexpected UTF-8 BOM'
]) + _cases("devices", [
    ("dev_broken_json.json", ["dev_broken_json.json: line 20: not valid JSON"]),
    ("dev_missing_field.json", ["dev_missing_field.json: devices[1]: missing 'memory'"]),
    ("dev_negative_bandwidth.json", ["dev_negative_bandwidth.json: comm_channels[1]: 'bandwidth' must be a "
                                     "positive number, not -126"]),
    ("dev_missing_neighbour.json", ["dev_missing_neighbour.json: devices[0].neighbours[0]: device 5 does not "
                                    "exist (2 devices)"]),
    ("dev_missing_channel.json", ["dev_missing_channel.json: devices[1].neighbours[0]: comm_channel 2 does not "
                                  "exist"]),
    ("dev_unknown_type.json", ["dev_unknown_type.json: devices[1]: type must be 'cpu' or 'gpu', not 'tpu'"]),
    ("dev_infinite_peak.json", ["dev_infinite_peak.json: devices[1]: 'peak_gflops' must be a positive number"]),
    ("dev_not_utf8.json", ["dev_not_utf8.json: the file is not UTF-8 text"]),
    ("dev_good.json", ["step time"], True),
    ("dev_windows_bom_crlf.json", ["step time"], True),
])

CASES = CONFIGS + CSVS + INFERENCE + SIMULATOR
