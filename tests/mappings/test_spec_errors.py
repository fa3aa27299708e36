"""A wrong mapping file is rejected with a message that names the file, the place and the problem.
Each kind of mistake has its message checked here."""

# ruff: noqa: E501  (the expected messages are kept whole, one per line, so they read as the user sees them)

from __future__ import annotations

from pathlib import Path

import pytest

from mappings.errors import MappingFileError
from mappings.loading import load_mapping, parse_mapping
from mappings.spec import MappingSpec
from mappings.validate import check

BASE = """\
name = "tasks"
planfix_entity = "task"
planningpme_entity = "event"
match_keys = ["title"]
planfix_marker = "customData[101]"
planningpme_marker = "fields.PLANFIX_ID"

[[fields]]
name = "title"
planfix = "title"
planningpme = "label"

[[fields]]
name = "status"
planfix = "status"
planningpme = "category"
transform = "value_map"
params = { map = { "1" = "C1", "2" = "C2" } }
"""


def error_of(text: str, tmp_path: Path) -> str:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(MappingFileError) as caught:
        load_mapping(str(path), tmp_path)
    message = str(caught.value)
    assert message.startswith(str(path)), message
    assert caught.value.file == str(path)
    return message


def test_the_base_file_is_valid() -> None:
    spec = parse_mapping(BASE, "base")
    assert [f.name for f in spec.fields] == ["title", "status"]


def test_bad_toml_gives_line_and_column(tmp_path: Path) -> None:
    message = error_of(BASE + "[[fields]\nname = 'x'\n", tmp_path)
    assert "invalid TOML at line 19, column 9: Expected ']]' at the end of an array declaration" in message


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        # unknown path for the entity, with a suggestion
        ('planfix = "title"', 'planfix = "titel"',
         """fields[0] ('title').planfix: 'titel' is not a field of a Planfix task (did you mean 'title'?); known:"""),
        # a path of the other side
        ('planningpme = "label"', 'planningpme = "title"',
         "fields[0] ('title').planningpme: 'title' is not a field of a PlanningPME event"),
        # custom fields
        ('planfix = "title"', 'planfix = "customData[abc]"',
         "fields[0] ('title').planfix: 'customData[abc]': a Planfix custom field is named by its numeric id"),
        ('planningpme = "label"', 'planningpme = "fields.planfix_id"',
         "fields[0] ('title').planningpme: 'fields.planfix_id': a PlanningPME custom field code is upper-case"),
        # unknown transform, with a suggestion
        ('transform = "value_map"', 'transform = "valuemap"',
         "fields[1] ('status').transform: unknown transform 'valuemap' (did you mean 'value_map'?); known: company,"),
        # bad params: unknown parameter, missing parameter, wrong type, bad default
        ('params = { map = { "1" = "C1", "2" = "C2" } }', 'params = { mapping = { "1" = "C1" } }',
         "fields[1] ('status').params: unknown parameter 'mapping' for transform 'value_map' (its parameters: map, default)"),
        ('params = { map = { "1" = "C1", "2" = "C2" } }', "params = {}",
         "fields[1] ('status').params: transform 'value_map' needs the parameter 'map'"),
        ('params = { map = { "1" = "C1", "2" = "C2" } }', 'params = { map = { "1" = "C1" }, default = "7" }',
         "fields[1] ('status').params: default '7' must be one of the map's keys: 1"),
        ('planningpme = "label"\n', 'planningpme = "label"\nparams = { max_length = -3 }\n',
         "fields[0] ('title').params.max_length: Input should be greater than 0"),
        # a value map that is not one-to-one where it must invert
        ('params = { map = { "1" = "C1", "2" = "C2" } }', 'params = { map = { "1" = "C1", "5" = "C1" } }',
         "fields[1] ('status').params.map: is not one-to-one: 'C1' is the value of both '1' and '5', so a"
         " PlanningPME 'C1' cannot be read back"),
        # a two-way field with a one-way transform
        ('transform = "value_map"\nparams = { map = { "1" = "C1", "2" = "C2" } }',
         'transform = "constant"\nparams = { value = "C1" }',
         "fields[1] ('status').direction: transform 'constant' only goes one way, but direction is 'both'"),
        # a transform on paths it cannot handle
        ('planfix = "title"', 'planfix = ["startDate", "startTime"]',
         "fields[0] ('title').planfix: transform 'text' needs one text path on the Planfix side, got"
         " 'startDate' (date), 'startTime' (time)"),
        # a read-only path written
        ('planfix = "title"', 'planfix = "general"',
         "fields[0] ('title').planfix: 'general' is read-only on a Planfix record, but direction 'both' writes it"),
        # duplicate names
        ('name = "status"', 'name = "title"',
         "fields[1] ('title').name: the name 'title' is already used by fields[0]; field names must be unique"),
        # match key naming no field
        ('match_keys = ["title"]', 'match_keys = ["title", "start"]',
         "match_keys[1]: 'start' names no field; the fields are: title, status"),
        # unknown keys, with suggestions
        ('transform = "value_map"', 'tranform = "value_map"',
         "fields[1] ('status'): unknown key 'tranform' (did you mean 'transform'?)"),
        ('match_keys = ["title"]', 'match_key = ["title"]',
         "unknown key 'match_key' (did you mean 'match_keys'?)"),
        # enumerations
        ('planningpme = "label"\n', 'planningpme = "label"\ndirection = "sideways"\n',
         "fields[0] ('title').direction: 'sideways' is not allowed; use one of 'both', 'to_planningpme' or 'to_planfix'"),
        ('match_keys = ["title"]', 'conflict = "oldest"',
         "conflict: 'oldest' is not allowed; use one of 'planfix', 'planningpme', 'newest' or 'manual'"),
        # missing keys, wrong types
        ('planfix_marker = "customData[101]"\n', "",
         "the required key 'planfix_marker' is missing"),
        ('planfix = "title"', "planfix = 3",
         "fields[0] ('title').planfix: must be a path or a list of paths"),
        ('name = "title"', 'name = "Title Case"',
         "fields[0] ('Title Case').name: 'Title Case' is not a field name"),
        # entity pairs
        ('planningpme_entity = "event"', 'planningpme_entity = "customer"',
         "planningpme_entity: a Planfix task pairs with a PlanningPME event, not 'customer'"),
        # markers
        ('planfix_marker = "customData[101]"', 'planfix_marker = "id"',
         "planfix_marker: 'id' cannot hold the other system's key"),
        ('planningpme_marker = "fields.PLANFIX_ID"', 'planningpme_marker = "label"',
         "planningpme_marker: 'label' is also mapped by fields[0] ('title')"),
        # deletes
        ('match_keys = ["title"]', 'match_keys = ["title"]\non_planningpme_delete = "archive"',
         "on_planningpme_delete: 'archive' sets values on the Planfix record, but planfix_archive is empty"),
        ('match_keys = ["title"]', 'match_keys = ["title"]\nplanfix_archive = { state = "4" }',
         "planfix_archive.state: 'state' is not a field of a Planfix task (did you mean 'status'?)"),
    ],
)  # fmt: skip
def test_each_mistake_has_a_precise_message(old: str, new: str, expected: str, tmp_path: Path) -> None:
    assert old in BASE
    message = error_of(BASE.replace(old, new, 1), tmp_path)
    assert expected in message, message


def test_one_way_field_as_match_key(tmp_path: Path) -> None:
    text = BASE.replace('planningpme = "label"\n', 'planningpme = "label"\ndirection = "to_planningpme"\n')
    assert (
        "match_keys[0]: field 'title' is one-way (to_planningpme); a match key is compared on both sides"
        in (error_of(text, tmp_path))
    )


def test_a_one_way_value_map_may_be_many_to_one() -> None:
    text = BASE.replace(
        'params = { map = { "1" = "C1", "2" = "C2" } }', 'params = { map = { "1" = "C1", "5" = "C1" } }'
    )
    text = text.replace('transform = "value_map"', 'transform = "value_map"\ndirection = "to_planningpme"')
    assert parse_mapping(text).field("status").direction == "to_planningpme"


def test_two_fields_writing_one_path(tmp_path: Path) -> None:
    text = BASE + '\n[[fields]]\nname = "title2"\nplanfix = "description"\nplanningpme = "label"\n'
    assert "fields[2] ('title2').planningpme: 'label' is also written by fields[0] ('title')" in error_of(
        text, tmp_path
    )


def test_constant_must_read_nothing(tmp_path: Path) -> None:
    text = BASE + (
        '\n[[fields]]\nname = "kind"\nplanfix = "title"\nplanningpme = "fields.SOURCE"\n'
        'direction = "to_planningpme"\ntransform = "constant"\nparams = { value = "planfix" }\n'
    )
    assert "fields[2] ('kind').planfix: transform 'constant' reads nothing: leave the Planfix side empty" in (
        error_of(text, tmp_path)
    )
    fixed = text.replace('name = "kind"\nplanfix = "title"', 'name = "kind"\nplanfix = []')
    assert parse_mapping(fixed).field("kind").transform == "constant"


def test_datetime_flag_needs_all_day(tmp_path: Path) -> None:
    text = BASE + (
        '\n[[fields]]\nname = "start"\nplanfix = ["startDate", "startTime"]\nplanningpme = ["start", "allDay"]\n'
        'transform = "datetime"\n'
    )
    assert (
        "fields[2] ('start').planningpme: the all-day flag 'allDay' is only used with date_only = 'all_day'"
        in (error_of(text, tmp_path))
    )


def test_filters_are_checked(tmp_path: Path) -> None:
    text = BASE + (
        '\n[[filters.planfix]]\npath = "projekt"\nin = ["1"]\n'
        '\n[[filters.planningpme]]\npath = "label"\nsince = "2026-01-01"\n'
        '\n[[filters.planningpme]]\npath = "start"\nsince = "next week"\n'
        '\n[[filters.planningpme]]\npath = "category"\nin = ["C1"]\nnot_in = ["C2"]\n'
    )
    message = error_of(text, tmp_path)
    assert "4 problems" in message
    assert (
        "filters.planfix[0].path: 'projekt' is not a field of a Planfix task (did you mean 'project'?)"
        in message
    )
    assert (
        "filters.planningpme[0].path: 'since'/'until' compare dates, but 'label' is not a date (text)"
        in message
    )
    assert "filters.planningpme[1].since: 'next week' is not an ISO date (YYYY-MM-DD) or date-time" in message
    assert "filters.planningpme[2]: give exactly one condition: 'in', 'not_in', or 'since'/'until'" in message


def test_several_problems_are_listed_together(tmp_path: Path) -> None:
    text = BASE.replace('planfix = "title"', 'planfix = "titel"').replace(
        'transform = "value_map"', 'transform = "nope"'
    )
    message = error_of(text, tmp_path)
    assert message.count("\n  fields[") == 2, message


def test_missing_file_and_unknown_default(tmp_path: Path) -> None:
    with pytest.raises(MappingFileError, match=r"nothere.toml: no such file"):
        load_mapping("nothere.toml", tmp_path)
    with pytest.raises(MappingFileError, match=r"^default:task: no shipped mapping is called 'task'; shipped: "
                       r"default:contacts, default:tasks$"):  # fmt: skip
        load_mapping("default:task", tmp_path)
    (tmp_path / "latin1.toml").write_bytes("name = 'caf\xe9'".encode("latin-1"))
    with pytest.raises(MappingFileError, match="not a UTF-8 text file"):
        load_mapping("latin1.toml", tmp_path)


def test_relative_paths_are_relative_to_base_dir(tmp_path: Path) -> None:
    (tmp_path / "maps").mkdir()
    (tmp_path / "maps" / "t.toml").write_text(BASE, encoding="utf-8")
    assert load_mapping("maps/t.toml", tmp_path).name == "tasks"


def test_the_models_check_keys_and_the_loader_checks_what_spans_them() -> None:
    """The models alone accept a spec whose match key names no field (that needs two keys);
    ``validate.check`` finds it, and the loader reports it like any other mistake."""
    raw = {
        "name": "x",
        "planfix_entity": "task",
        "planningpme_entity": "event",
        "planfix_marker": "customData[101]",
        "planningpme_marker": "fields.PLANFIX_ID",
        "match_keys": ["nope"],
        "fields": [{"name": "title", "planfix": "title", "planningpme": "label"}],
    }
    spec = MappingSpec.model_validate(raw)
    assert any("names no field" in p.message for p in check(spec))
    toml = """
name = "x"
planfix_entity = "task"
planningpme_entity = "event"
planfix_marker = "customData[101]"
planningpme_marker = "fields.PLANFIX_ID"
match_keys = ["nope"]

[[fields]]
name = "title"
planfix = "title"
planningpme = "label"
"""
    with pytest.raises(MappingFileError, match=r"match_keys.*names no field"):
        parse_mapping(toml, "x.toml")
