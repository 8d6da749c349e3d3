"""Mapping templates: Velocity (VTL) as API Gateway evaluates it, with its ``$input``,
``$util``, ``$context`` and ``$stageVariables``.

Templates run on airspeed, a pure-Python Velocity engine (``#set``, ``#if``/``#elseif``,
``#foreach`` with ``$foreach.hasNext``, ``.size()``, ``.length()``, string methods). The
variables API Gateway gives a template are built here:

- ``$input.body`` (the raw payload), ``$input.json(x)`` (a JSONPath result as JSON text),
  ``$input.path(x)`` (as an object), ``$input.params()`` (``path``, ``querystring``,
  ``header`` maps) and ``$input.params(x)`` (searched in that order);
- ``$util.escapeJavaScript``, ``parseJson``, ``urlEncode``, ``urlDecode``, ``base64Encode``,
  ``base64Decode``;
- ``$context`` (``requestId``, ``stage``, ``resourcePath``, ``httpMethod``, ``identity``,
  ``authorizer``, ...) and ``$stageVariables``.

https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-mapping-template-reference.html

A template that Velocity cannot parse or run raises :class:`TemplateError`; the pipeline turns it
into API Gateway's 500 and names the problem in the trace.

Plain Python: no moto, no Jupyter.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote_plus, unquote_plus

import airspeed

from labkit.errors import LabkitError

_STEP = re.compile(r"\.([A-Za-z_$][\w$-]*)|\[(\d+|\*)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]|\.\*")


class TemplateError(LabkitError):
    """A mapping template that Velocity cannot parse or evaluate."""

    code = "MappingTemplateError"


def json_path(document: Any, path: str) -> Any:
    """The JSONPath ``path`` (``$``, ``$.a.b``, ``$.a[0]``, ``$['a']``, ``$.a[*].b``) in
    ``document``; ``None`` where nothing matches."""
    path = path.strip()
    if not path.startswith("$"):
        raise TemplateError(f"A JSONPath starts with $, not {path!r}.")
    current: list[Any] = [document]
    many = False
    position = 1
    while position < len(path):
        step = _STEP.match(path, position)
        if step is None:
            raise TemplateError(
                f"labkit cannot read the JSONPath {path!r} (at {path[position:]!r})."
            )
        position = step.end()
        name, index, quoted, double = step.groups()
        key = name if name is not None else quoted if quoted is not None else double
        found: list[Any] = []
        for value in current:
            if key is not None:
                if isinstance(value, dict) and key in value:
                    found.append(value[key])
            elif index == "*" or step.group(0) == ".*":
                many = True
                if isinstance(value, list):
                    found.extend(value)
                elif isinstance(value, dict):
                    found.extend(value.values())
            elif isinstance(value, list) and int(index) < len(value):
                found.append(value[int(index)])
        current = found
    if many:
        return current
    return current[0] if current else None


class Input:
    """``$input``: the request (or, in a response template, the integration's response)."""

    def __init__(self, body: str, params: Mapping[str, Mapping[str, str]]) -> None:
        self.body = body
        self._params = params
        self._parsed: Any = None
        self._read = False

    def _document(self) -> Any:
        if not self._read:
            self._read = True
            try:
                self._parsed = json.loads(self.body) if self.body.strip() else {}
            except ValueError:
                self._parsed = None
        return self._parsed

    def json(self, path: str = "$") -> str:
        """The JSONPath result as JSON text."""
        return json.dumps(json_path(self._document(), path))

    def path(self, path: str = "$") -> Any:
        """The JSONPath result as an object."""
        return json_path(self._document(), path)

    def params(self, name: str | None = None) -> Any:
        """Every parameter (``path``, ``querystring``, ``header``), or one by name."""
        if name is None:
            return {k: dict(v) for k, v in self._params.items()}
        for where in ("path", "querystring", "header"):
            found = self._params.get(where, {})
            if name in found:
                return found[name]
            if where == "header":
                for k, v in found.items():
                    if k.lower() == name.lower():
                        return v
        return ""


class Util:
    """``$util``: the helpers API Gateway gives a template."""

    def escapeJavaScript(self, text: Any) -> str:
        """``text`` escaped for a JavaScript (and JSON) string."""
        return json.dumps(str(text))[1:-1].replace("'", "\\'")

    def parseJson(self, text: str) -> Any:
        """``text`` read as JSON."""
        try:
            return json.loads(text)
        except ValueError as bad:
            raise TemplateError(f"$util.parseJson could not read {text[:40]!r}: {bad}") from bad

    def urlEncode(self, text: Any) -> str:
        """``text`` URL-encoded (``application/x-www-form-urlencoded``)."""
        return quote_plus(str(text))

    def urlDecode(self, text: Any) -> str:
        """``text`` URL-decoded."""
        return unquote_plus(str(text))

    def base64Encode(self, text: Any) -> str:
        """``text`` (UTF-8) in base64."""
        return base64.b64encode(str(text).encode("utf-8")).decode("ascii")

    def base64Decode(self, text: Any) -> str:
        """base64 ``text`` decoded to a string."""
        return base64.b64decode(str(text)).decode("utf-8", errors="replace")


_CACHE: dict[str, Any] = {}


def render(
    template: str,
    *,
    body: str,
    params: Mapping[str, Mapping[str, str]],
    context: Mapping[str, Any],
    stage_variables: Mapping[str, str],
) -> str:
    """Evaluate ``template`` with API Gateway's variables.

    Raises:
        TemplateError: Velocity could not parse or evaluate it.
    """
    compiled = _CACHE.get(template)
    if compiled is None:
        try:
            compiled = airspeed.Template(template)
        except Exception as bad:  # airspeed's parse errors have no common base class
            raise TemplateError(f"The mapping template does not parse: {bad}") from bad
        if len(_CACHE) > 256:
            _CACHE.clear()
        _CACHE[template] = compiled
    names = {
        "input": Input(body, params),
        "util": Util(),
        "context": dict(context),
        "stageVariables": dict(stage_variables),
    }
    try:
        return str(compiled.merge(names))
    except TemplateError:
        raise
    except Exception as bad:
        raise TemplateError(f"The mapping template failed: {bad}") from bad
