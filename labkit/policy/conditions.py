"""Condition operators, evaluated as AWS documents them.

Source: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
and reference_policies_condition-single-vs-multi-valued-context-keys.html. The rules that
matter, and that learners trip over:

- several operators, or several keys under one operator: all must hold (AND);
- several values for one key: any may match (OR), except for negated operators
  (``StringNotEquals``, ``NotIpAddress``, ...) where the key must match none of them;
- a key the request lacks makes a condition false, but true for negated operators; ``...IfExists``
  makes it true; ``Null`` tests presence itself;
- ``ForAnyValue:`` holds if any request value matches (false for a missing or empty key);
  ``ForAllValues:`` holds if every request value matches, and also when the key is missing or
  empty (AWS warns about exactly this);
- an operator AWS does not define makes the condition, and so the statement, not apply.

:func:`check` returns ``None`` when a condition block holds, else one sentence saying which key
and operator failed and why.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation

from labkit.policy.request import Context
from labkit.policy.variables import Unresolved, expand
from labkit.policy.wildcards import Template, arn_match, as_text, glob_match


class _BadValue(ValueError):
    """A value an operator cannot read (a number that is not one, a malformed date)."""


# Each comparator gets the request's value and the policy's value (a template: variables
# resolved, wildcards marked) and answers whether they match.
Comparator = Callable[[str, Template], bool]


def _number(text: str) -> Decimal:
    try:
        return Decimal(text.strip())
    except InvalidOperation:
        raise _BadValue(f"{text!r} is not a number") from None


_ISO = re.compile(
    r"(-?\d{4})(?:-(\d{2})(?:-(\d{2})(?:[Tt](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?)?)?"
    r"([Zz]|[+-]\d{2}(?::?\d{2})?)?"
)


def _moment(text: str) -> float:
    """Seconds since the epoch of an ISO 8601 (W3C profile) date or an epoch number.

    As moto's validator does, a value with a ``T`` or a ``-`` is a date, anything else epoch
    seconds (so ``"2024"`` is 2024 seconds after 1970, not the year).
    """
    text = text.strip()
    if "t" not in text.lower() and "-" not in text:
        try:
            return float(text)
        except ValueError:
            raise _BadValue(f"{text!r} is neither an ISO 8601 date nor epoch seconds") from None
    match = _ISO.fullmatch(text)
    if match is None:
        raise _BadValue(f"{text!r} is not an ISO 8601 date")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        moment = datetime(
            int(year), int(month or 1), int(day or 1), int(hour or 0), int(minute or 0),
            int(second or 0), tzinfo=timezone.utc,
        )  # fmt: skip
    except ValueError:
        raise _BadValue(f"{text!r} is not a valid date") from None
    if zone and zone not in "Zz":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
        moment -= sign * offset
    return moment.timestamp() + (float(f"0.{fraction}") if fraction else 0.0)


def _ip_in(value: str, template: Template) -> bool:
    try:
        network = ipaddress.ip_network(as_text(template).strip(), strict=False)
    except ValueError:
        raise _BadValue(f"{as_text(template)!r} is not an IP address or CIDR range") from None
    try:
        address = ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        raise _BadValue(f"{value!r} is not an IP address") from None
    return address.version == network.version and address.subnet_of(network)  # type: ignore[arg-type]


def _binary(value: str, template: Template) -> bool:
    try:
        return base64.b64decode(value, validate=True) == base64.b64decode(
            as_text(template), validate=True
        )
    except (binascii.Error, ValueError):
        raise _BadValue(f"{as_text(template)!r} is not base64") from None


def _bool(value: str, template: Template) -> bool:
    return value.strip().lower() == as_text(template).strip().lower()


def _numeric(test: Callable[[Decimal, Decimal], bool]) -> Comparator:
    return lambda value, template: test(_number(value), _number(as_text(template)))


def _dated(test: Callable[[float, float], bool]) -> Comparator:
    return lambda value, template: test(_moment(value), _moment(as_text(template)))


@dataclass(frozen=True)
class Operator:
    """A base operator (no set prefix, no ``IfExists``).

    Attributes:
        compare: The positive comparison (for a negated operator, the one it negates).
        negated: Whether the operator holds when no policy value matches.
        variables: Whether policy variables are expanded in its values (string and ARN
            operators only, as the policy variables page says).
        wording: How an explanation phrases the expectation ("to equal", "to be like").
    """

    compare: Comparator
    negated: bool = False
    variables: bool = False
    wording: str = "to match"


def _equals(value: str, template: Template) -> bool:
    return value == as_text(template)


def _equals_ignore_case(value: str, template: Template) -> bool:
    return value.casefold() == as_text(template).casefold()


def _like(value: str, template: Template) -> bool:
    return glob_match(template, value)


def _arn(value: str, template: Template) -> bool:
    return arn_match(template, value)


_ANY_CASE = "to equal (any case)"

OPERATORS: Mapping[str, Operator] = {
    "StringEquals": Operator(_equals, variables=True, wording="to equal"),
    "StringNotEquals": Operator(_equals, True, True, "not to equal"),
    "StringEqualsIgnoreCase": Operator(_equals_ignore_case, False, True, _ANY_CASE),
    "StringNotEqualsIgnoreCase": Operator(_equals_ignore_case, True, True, "not " + _ANY_CASE),
    "StringLike": Operator(_like, variables=True, wording="to be like"),
    "StringNotLike": Operator(_like, True, True, "not to be like"),
    "NumericEquals": Operator(_numeric(lambda a, b: a == b), wording="to equal"),
    "NumericNotEquals": Operator(_numeric(lambda a, b: a == b), True, wording="not to equal"),
    "NumericLessThan": Operator(_numeric(lambda a, b: a < b), wording="to be less than"),
    "NumericLessThanEquals": Operator(_numeric(lambda a, b: a <= b), wording="to be at most"),
    "NumericGreaterThan": Operator(_numeric(lambda a, b: a > b), wording="to be more than"),
    "NumericGreaterThanEquals": Operator(_numeric(lambda a, b: a >= b), wording="to be at least"),
    "DateEquals": Operator(_dated(lambda a, b: a == b), wording="to be"),
    "DateNotEquals": Operator(_dated(lambda a, b: a == b), True, wording="not to be"),
    "DateLessThan": Operator(_dated(lambda a, b: a < b), wording="to be before"),
    "DateLessThanEquals": Operator(_dated(lambda a, b: a <= b), wording="to be at or before"),
    "DateGreaterThan": Operator(_dated(lambda a, b: a > b), wording="to be after"),
    "DateGreaterThanEquals": Operator(_dated(lambda a, b: a >= b), wording="to be at or after"),
    "Bool": Operator(_bool, wording="to be"),
    "BinaryEquals": Operator(_binary, wording="to equal"),
    "IpAddress": Operator(_ip_in, wording="to be in"),
    "NotIpAddress": Operator(_ip_in, True, wording="not to be in"),
    "ArnEquals": Operator(_arn, variables=True, wording="to equal"),
    "ArnLike": Operator(_arn, variables=True, wording="to be like"),
    "ArnNotEquals": Operator(_arn, True, True, "not to equal"),
    "ArnNotLike": Operator(_arn, True, True, "not to be like"),
}  # fmt: skip

_SET_PREFIXES = ("ForAllValues", "ForAnyValue")


@dataclass(frozen=True)
class _Parsed:
    base: str
    quantifier: str  # "", "ForAllValues" or "ForAnyValue"
    if_exists: bool


def _parse_operator(name: str) -> _Parsed | None:
    quantifier, _, base = name.rpartition(":")
    if quantifier and quantifier not in _SET_PREFIXES:
        return None
    if_exists = base.endswith("IfExists") and base != "IfExists"
    if if_exists:
        base = base[: -len("IfExists")]
    if base == "Null":
        return None if (if_exists or quantifier) else _Parsed(base, "", False)
    return _Parsed(base, quantifier, if_exists) if base in OPERATORS else None


def check(
    block: Mapping[str, Mapping[str, tuple[str, ...]]], context: Context, *, variables: bool
) -> str | None:
    """``None`` when every condition of ``block`` holds for ``context``, else why not.

    Args:
        block: A statement's ``Condition``, normalised by :mod:`labkit.policy.document`.
        context: The request's keys.
        variables: Whether the policy's version enables policy variables.
    """
    for name, tests in block.items():
        parsed = _parse_operator(name)
        if parsed is None:
            return (
                f"it uses the condition operator {name}, which AWS does not define, so the "
                "statement never applies"
            )
        for key, wanted in tests.items():
            failure = _check_one(name, parsed, key, wanted, context, variables)
            if failure is not None:
                return failure
    return None


def _check_one(
    name: str,
    parsed: _Parsed,
    key: str,
    wanted: tuple[str, ...],
    context: Context,
    variables: bool,
) -> str | None:
    values = context.get(key)
    absent = values is None or len(values) == 0
    if parsed.base == "Null":
        # "true": the key must be absent (or empty); "false": present with a value.
        if any(w.strip().lower() == ("true" if absent else "false") for w in wanted):
            return None
        need = "absent" if any(w.strip().lower() == "true" for w in wanted) else "present"
        return f"it needs {key} to be {need} (Null), but it is {'absent' if absent else 'present'}"
    operator = OPERATORS[parsed.base]
    expects = f"{key} {operator.wording} {_listed(wanted)} ({name})"
    if absent:
        if parsed.if_exists or parsed.quantifier == "ForAllValues":
            return None
        if parsed.quantifier == "ForAnyValue":
            return f"it needs {expects}, but the request has no {key}"
        if operator.negated:
            return None
        return f"it needs {expects}, but the request has no {key}"
    assert values is not None
    templates = [
        t
        for t in (expand(w, context, enabled=variables and operator.variables) for w in wanted)
        # A variable without a value is "effectively null": it matches nothing.
        if not isinstance(t, Unresolved)
    ]
    try:
        hits = [any(operator.compare(v, t) for t in templates) for v in values]
    except _BadValue as error:
        return f"it needs {expects}, but {error}, so the condition does not match"
    # Per request value: does it satisfy the (possibly negated) operator?
    results = [not hit if operator.negated else hit for hit in hits]
    if parsed.quantifier == "ForAllValues" or (not parsed.quantifier and operator.negated):
        holds = all(results)
    else:
        holds = any(results)
    if holds:
        return None
    enabled = variables and operator.variables
    unresolved = [w for w in wanted if isinstance(expand(w, context, enabled=enabled), Unresolved)]
    extra = f" ({', '.join(unresolved)} has no value in this request)" if unresolved else ""
    return f"it needs {expects}, but it is {_listed(values, 'and')}{extra}"


def _listed(values: tuple[str, ...] | list[str], joiner: str = "or") -> str:
    if not values:
        return "nothing"
    return f" {joiner} ".join(values)
