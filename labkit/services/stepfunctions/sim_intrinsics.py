"""Step Functions' intrinsic functions (``"field.$": "States.Format('{}', $.name)"``).

Arguments are string literals in single quotes (``\\'``, ``\\{``, ``\\}`` and ``\\\\`` escape),
numbers, ``true``/``false``/``null``, paths (``$.x``, ``$$.Execution.Id``, ``$variable``) and
nested calls. A call that cannot be made fails with ``States.IntrinsicFailure``... except a path
that names nothing, which, like every path, is ``States.Runtime``.
https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html

``States.MathRandom`` and ``States.UUID`` draw from the execution's seeded generator, so an
execution repeats exactly from run to run.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from labkit.services.stepfunctions.sim_errors import INTRINSIC_FAILURE, StatesError

Resolve = Callable[[str], Any]

#: Largest argument States.Base64Encode/Decode accept, and largest array States.ArrayRange makes
#: (intrinsic-functions page above).
_BASE64_MAX = 10000
_RANGE_MAX = 1000
_HASHES = {
    "MD5": hashlib.md5,
    "SHA-1": hashlib.sha1,
    "SHA-256": hashlib.sha256,
    "SHA-384": hashlib.sha384,
    "SHA-512": hashlib.sha512,
}


class IntrinsicSyntaxError(ValueError):
    """A string that starts like an intrinsic function but does not parse."""


@dataclass(frozen=True)
class Call:
    """A parsed call: the function's name and its argument nodes."""

    name: str
    args: tuple[Any, ...]


@dataclass(frozen=True)
class PathArg:
    """A path argument, resolved when the call runs."""

    path: str


def is_intrinsic(text: str) -> bool:
    """Whether a ``.$`` value is an intrinsic function call rather than a path."""
    return text.startswith("States.")


@lru_cache(maxsize=1024)
def parse(text: str) -> Call:
    """Parse ``States.Name(args)``.

    Raises:
        IntrinsicSyntaxError: Not a well-formed call to a known function.
    """
    call, end = _call(text.strip(), 0)
    if end != len(text.strip()):
        raise IntrinsicSyntaxError(f"{text!r}: unexpected text after the call.")
    return call


def _call(text: str, i: int) -> tuple[Call, int]:
    open_at = text.find("(", i)
    if open_at < 0:
        raise IntrinsicSyntaxError(f"{text!r}: a call needs parentheses.")
    name = text[i:open_at].strip()
    if name not in FUNCTIONS:
        raise IntrinsicSyntaxError(f"{text!r}: {name!r} is not an intrinsic function.")
    i = open_at + 1
    args: list[Any] = []
    while True:
        while i < len(text) and text[i] == " ":
            i += 1
        if i < len(text) and text[i] == ")" and not args:
            return Call(name, tuple(args)), i + 1
        arg, i = _arg(text, i)
        args.append(arg)
        while i < len(text) and text[i] == " ":
            i += 1
        if i >= len(text):
            raise IntrinsicSyntaxError(f"{text!r}: missing ')'.")
        if text[i] == ",":
            i += 1
            continue
        if text[i] == ")":
            return Call(name, tuple(args)), i + 1
        raise IntrinsicSyntaxError(f"{text!r}: unexpected {text[i]!r} at {i}.")


def _arg(text: str, i: int) -> tuple[Any, int]:
    c = text[i] if i < len(text) else ""
    if c == "'":
        out, i = [], i + 1
        while i < len(text) and text[i] != "'":
            if text[i] == "\\" and i + 1 < len(text):
                i += 1
            out.append(text[i])
            i += 1
        if i >= len(text):
            raise IntrinsicSyntaxError(f"{text!r}: unterminated string.")
        return "".join(out), i + 1
    if c == "$":
        depth, j, quote = 0, i, ""
        while j < len(text):
            ch = text[j]
            if quote:
                quote = "" if ch == quote else quote
            elif ch in "'\"":
                quote = ch
            elif ch in "[(":
                depth += 1
            elif ch in "])":
                if depth == 0:
                    break
                depth -= 1
            elif ch == "," and depth == 0:
                break
            j += 1
        return PathArg(text[i:j].strip()), j
    if text.startswith("States.", i):
        return _call(text, i)
    j = i
    while j < len(text) and text[j] not in ",)":
        j += 1
    word = text[i:j].strip()
    if word in ("true", "false", "null"):
        return {"true": True, "false": False, "null": None}[word], j
    try:
        return json.loads(word), j
    except ValueError as exc:
        raise IntrinsicSyntaxError(f"{text!r}: {word!r} is not an argument.") from exc


def evaluate(text: str, resolve: Resolve, rng: random.Random) -> Any:
    """Run the intrinsic call ``text``, resolving its paths with ``resolve``.

    Raises:
        StatesError: ``States.IntrinsicFailure`` for a call that cannot be made.
    """
    try:
        call = parse(text)
    except IntrinsicSyntaxError as exc:
        raise StatesError(INTRINSIC_FAILURE, str(exc)) from None
    return _run(call, resolve, rng)


def _run(call: Call, resolve: Resolve, rng: random.Random) -> Any:
    args = [
        _run(a, resolve, rng)
        if isinstance(a, Call)
        else resolve(a.path)
        if isinstance(a, PathArg)
        else a
        for a in call.args
    ]
    try:
        return FUNCTIONS[call.name](args, rng)
    except StatesError:
        raise
    except (TypeError, ValueError, IndexError, KeyError, binascii.Error) as exc:
        raise StatesError(INTRINSIC_FAILURE, f"Invalid arguments in {call.name}: {exc}") from None


def _need(args: list[Any], low: int, high: int, name: str) -> None:
    if not low <= len(args) <= high:
        count = str(low) if low == high else f"{low} to {high}"
        raise ValueError(f"{name} takes {count} arguments, not {len(args)}")


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
        raise ValueError(f"{value!r} is not an integer")
    return int(value)


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a string")
    return value


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError(f"{value!r} is not an array")
    return value


def _format(args: list[Any], rng: random.Random) -> str:
    template = _str(args[0])
    values = args[1:]
    if template.count("{}") != len(values):
        raise ValueError(
            f"the template has {template.count('{}')} placeholders for {len(values)} values"
        )
    pieces = template.split("{}")
    out = [pieces[0]]
    for value, piece in zip(values, pieces[1:], strict=True):
        out.append(value if isinstance(value, str) else _json(value))
        out.append(piece)
    return "".join(out)


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _string_to_json(args: list[Any], rng: random.Random) -> Any:
    _need(args, 1, 1, "States.StringToJson")
    return json.loads(_str(args[0]))


def _json_to_string(args: list[Any], rng: random.Random) -> str:
    _need(args, 1, 1, "States.JsonToString")
    return _json(args[0])


def _partition(args: list[Any], rng: random.Random) -> list[Any]:
    _need(args, 2, 2, "States.ArrayPartition")
    items, size = _list(args[0]), _int(args[1])
    if size <= 0:
        raise ValueError("the chunk size must be positive")
    return [items[i : i + size] for i in range(0, len(items), size)]


def _contains(args: list[Any], rng: random.Random) -> bool:
    _need(args, 2, 2, "States.ArrayContains")
    return args[1] in _list(args[0])


def _range(args: list[Any], rng: random.Random) -> list[int]:
    _need(args, 3, 3, "States.ArrayRange")
    first, last, step = (_int(a) for a in args)
    if step == 0:
        raise ValueError("the step cannot be 0")
    out = list(range(first, last + (1 if step > 0 else -1), step))
    if len(out) > _RANGE_MAX:
        raise ValueError(f"the array would have {len(out)} items, more than {_RANGE_MAX}")
    return out


def _get_item(args: list[Any], rng: random.Random) -> Any:
    _need(args, 2, 2, "States.ArrayGetItem")
    items, index = _list(args[0]), _int(args[1])
    if not 0 <= index < len(items):
        raise ValueError(f"index {index} is outside the array of {len(items)}")
    return items[index]


def _unique(args: list[Any], rng: random.Random) -> list[Any]:
    _need(args, 1, 1, "States.ArrayUnique")
    out: list[Any] = []
    for item in _list(args[0]):
        if item not in out:
            out.append(item)
    return out


def _b64encode(args: list[Any], rng: random.Random) -> str:
    _need(args, 1, 1, "States.Base64Encode")
    text = _str(args[0])
    if len(text) > _BASE64_MAX:
        raise ValueError(f"the input is longer than {_BASE64_MAX} characters")
    return base64.b64encode(text.encode()).decode()


def _b64decode(args: list[Any], rng: random.Random) -> str:
    _need(args, 1, 1, "States.Base64Decode")
    text = _str(args[0])
    if len(text) > _BASE64_MAX:
        raise ValueError(f"the input is longer than {_BASE64_MAX} characters")
    return base64.b64decode(text, validate=True).decode()


def _hash(args: list[Any], rng: random.Random) -> str:
    _need(args, 2, 2, "States.Hash")
    algorithm = _str(args[1])
    if algorithm not in _HASHES:
        raise ValueError(f"{algorithm!r} is not one of {', '.join(_HASHES)}")
    data = args[0] if isinstance(args[0], str) else _json(args[0])
    return _HASHES[algorithm](data.encode()).hexdigest()


def _merge(args: list[Any], rng: random.Random) -> dict[str, Any]:
    _need(args, 3, 3, "States.JsonMerge")
    left, right, deep = args
    if not isinstance(left, dict) or not isinstance(right, dict):
        raise ValueError("both values must be objects")
    if deep is not False:
        raise ValueError("only a shallow merge (false) is supported")
    return {**left, **right}


def _random(args: list[Any], rng: random.Random) -> int:
    _need(args, 2, 3, "States.MathRandom")
    start, end = _int(args[0]), _int(args[1])
    if end <= start:
        raise ValueError("the end must be greater than the start")
    chooser = random.Random(_int(args[2])) if len(args) == 3 else rng
    return chooser.randrange(start, end)


def _add(args: list[Any], rng: random.Random) -> int:
    _need(args, 2, 2, "States.MathAdd")
    return _int(args[0]) + _int(args[1])


def _split(args: list[Any], rng: random.Random) -> list[str]:
    _need(args, 2, 2, "States.StringSplit")
    text, delimiters = _str(args[0]), _str(args[1])
    parts: list[str] = []
    current: list[str] = []
    for ch in text:
        if ch in delimiters:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p for p in parts if p]


def _uuid(args: list[Any], rng: random.Random) -> str:
    _need(args, 0, 0, "States.UUID")
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _length(args: list[Any], rng: random.Random) -> int:
    _need(args, 1, 1, "States.ArrayLength")
    return len(_list(args[0]))


FUNCTIONS: dict[str, Callable[[list[Any], random.Random], Any]] = {
    "States.Format": _format,
    "States.StringToJson": _string_to_json,
    "States.JsonToString": _json_to_string,
    "States.Array": lambda args, rng: list(args),
    "States.ArrayPartition": _partition,
    "States.ArrayContains": _contains,
    "States.ArrayRange": _range,
    "States.ArrayGetItem": _get_item,
    "States.ArrayLength": _length,
    "States.ArrayUnique": _unique,
    "States.Base64Encode": _b64encode,
    "States.Base64Decode": _b64decode,
    "States.Hash": _hash,
    "States.JsonMerge": _merge,
    "States.MathRandom": _random,
    "States.MathAdd": _add,
    "States.StringSplit": _split,
    "States.UUID": _uuid,
}
