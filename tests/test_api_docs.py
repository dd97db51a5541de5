"""The public API is documented: numpydoc sections and an example for every function."""

from __future__ import annotations

import inspect

import pytest

import mineland
from mineland import charts

PUBLIC = [
    getattr(mineland, n) for n in mineland.__all__ if inspect.isfunction(getattr(mineland, n))
]
PUBLIC += [charts.plot_released, charts.plot_remaining]


@pytest.mark.parametrize("fn", PUBLIC, ids=lambda f: f.__name__)
def test_public_function_has_a_docstring_with_an_example(fn):
    doc = inspect.getdoc(fn) or ""
    assert len(doc.splitlines()) >= 3, fn.__name__
    assert "Examples\n--------" in doc and ">>> " in doc, fn.__name__


def test_options_are_keyword_only():
    for fn in (mineland.summarize, mineland.account, mineland.make_map, mineland.validate):
        params = inspect.signature(fn).parameters.values()
        positional = [p.name for p in params if p.kind is p.POSITIONAL_ONLY]
        assert positional and all(
            p.kind is p.KEYWORD_ONLY for p in params if p.name not in positional
        ), fn.__name__
