"""What optional parts declare is merged with no key lost: a key two parts declare is refused."""

from __future__ import annotations

import pytest

from {{ cookiecutter.package_name }} import parts


def test_two_parts_declaring_the_same_key_is_one_error_naming_both_and_the_key():
    declarations = {
        "alpha": {"shared": ("table_a", "alpha.module:function")},
        "beta": {
            "own": ("table_b", "beta.module:function"),
            "shared": ("table_b", "beta.module:other"),
        },
    }
    with pytest.raises(ValueError) as error:
        parts.merge(declarations, "PREDICTION_SOURCES")
    assert str(error.value) == (
        "PREDICTION_SOURCES: key 'shared' is declared by both part 'alpha' and part "
        "'beta' (<part>/part.py); each key must belong to one part"
    )


def test_distinct_keys_of_several_parts_are_all_kept_in_part_order():
    merged = parts.merge({"b": {"x": 1, "y": 2}, "a": {"z": 3}}, "CHAMPION_FOLLOWERS")
    assert list(merged.items()) == [("x", 1), ("y", 2), ("z", 3)]


@pytest.mark.parametrize("name", ["PREDICTION_SOURCES", "CHAMPION_FOLLOWERS"])
def test_the_project_parts_declarations_merge_without_losing_a_key(name):
    """Every key the project's parts declare as ``name`` is in the merge, as declared, and
    names a function that exists. Skipped, saying so, where no part declares ``name``
    (a project rendered without the parts that do), as there is nothing to check."""
    declared = parts.declared(name)
    if not declared:
        pytest.skip(f"no part of this project declares {name}")
    merged = parts.merged(name)
    assert sum(len(entries) for entries in declared.values()) == len(merged)
    for entries in declared.values():
        assert all(merged[key] is value for key, value in entries.items())
    # every declared function exists in this project
    for value in merged.values():
        target = value[1] if isinstance(value, tuple) else value
        assert callable(parts.function(target))
