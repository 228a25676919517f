"""Griffe extension for the docs build: reST idioms in docstrings rendered for Markdown.

skcfm's numpydoc docstrings cross-reference with Sphinx roles (``:func:`align_pam```,
``:class:`pandas.DataFrame```) and introduce literal blocks with ``::``, which Markdown
would show verbatim. When mkdocstrings loads the package this turns each role into inline
code (``align_pam``) and a trailing ``::`` into ``:``; the source is unchanged.
"""

import re

import griffe

ROLE = re.compile(r":(?:py:)?(?:func|meth|class|mod|attr|obj|data|exc|const):`[~!]?([^`<]*?)(?:\s*<([^>]+)>)?`")
LITERAL_MARKER = re.compile(r"(?<=\S)::$", flags=re.MULTILINE)


def _as_code(match: re.Match) -> str:
    return f"`{match.group(1) or match.group(2)}`"


class SphinxRoles(griffe.Extension):
    """Replace ``:role:`target``` by ```target``` and a line-final ``::`` by ``:``."""

    def on_instance(self, *, obj: griffe.Object, **kwargs) -> None:
        if obj.docstring is not None:
            value = ROLE.sub(_as_code, obj.docstring.value)
            obj.docstring.value = LITERAL_MARKER.sub(":", value)
