"""`make mutation` breaks each rule by replacing one piece of text: when the code moves on and
that text is no longer there exactly once, the mutation is silently not applied and its
rule no longer checked (`capacity-doubled` was, for a while). Each must still apply, and
name test files that exist."""
from __future__ import annotations

import pytest

from mutation.mutations import MUTATIONS
from tests.helpers import REPO


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda m: m.name)
def test_each_mutation_still_applies_to_the_code_it_breaks(mutation):
    text = (REPO / mutation.path).read_text()
    assert text.count(mutation.old) == 1, f"{mutation.path} no longer holds {mutation.old!r}"
    assert mutation.new != mutation.old
    for target in mutation.tests:
        assert (REPO / target.split("::")[0]).is_file(), target


def test_mutation_names_are_unique():
    names = [m.name for m in MUTATIONS]
    assert len(names) == len(set(names))
