"""AWS's policy evaluation logic for one request, with the reasons behind the answer.

Sources: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
and reference_policies_evaluation-logic-cross-account.html. In order:

1. **Explicit deny.** A ``Deny`` statement that applies, in any policy, decides: denied.
2. **Allow.** Who must allow depends on the caller:

   - an IAM user or role session of the resource's own account: an ``Allow`` in an
     identity-based policy *or* in the resource policy. A resource-policy statement that names
     only the *account* (``123456789012`` / ``...:root``) delegates to the account's IAM
     policies and grants nothing alone; one naming the user, role or session (or ``*``) does;
   - the root user of the resource's account: allowed ("full access") unless denied;
   - a caller of another account: the resource policy *and* the caller's identity-based
     policies must both allow (for the root user of the other account, the resource policy);
   - an AWS service principal, an anonymous caller, a federated caller: the resource policy
     alone (they have no identity-based policies).

3. Otherwise **implicit deny**, the default.

Permissions boundaries, session policies, SCPs/RCPs, and the key-policy rules of KMS and of role
trust policies (which must name the principal even in the same account) are out of scope.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from labkit.policy import conditions, principals
from labkit.policy.document import Policy, PolicyKind, Statement, load_policy
from labkit.policy.request import Context, Request
from labkit.policy.variables import Unresolved, expand
from labkit.policy.wildcards import arn_match, glob_match, parse_wildcards

DecisionKind = Literal["explicit-deny", "allow", "implicit-deny"]
Failed = Literal["", "invalid", "principal", "action", "resource", "condition"]
Verdict = Literal["deny", "allow", "neutral"]
PolicyInput = Policy | Mapping[str, Any] | str | bytes


@dataclass(frozen=True)
class StatementRef:
    """Which statement of which policy.

    Attributes:
        policy: The policy's name ("the queue's policy").
        kind: ``identity`` or ``resource``.
        sid: The statement's Sid, or ``""``.
        index: Its position in the policy, from 1.
    """

    policy: str
    kind: PolicyKind
    sid: str
    index: int

    @property
    def label(self) -> str:
        """``Statement `AllowTopic` of the queue's policy`` / ``statement 2 of ...``."""
        name = f"statement `{self.sid}`" if self.sid else f"statement {self.index}"
        return f"{name} of {self.policy}"


@dataclass(frozen=True)
class StatementResult:
    """What one statement said about the request.

    Attributes:
        ref: The statement.
        effect: ``Allow``, ``Deny`` (``""`` if malformed).
        applies: Whether it applies to the request (principal, action, resource, conditions).
        failed: The first element that did not match (``""`` when it applies).
        reason: Why it does not apply, as the end of a sentence ("its Action does not include
            sqs:SendMessage"); ``""`` when it applies.
        direct: For a resource-policy statement that applies: whether it names the caller
            itself rather than only its account.
    """

    ref: StatementRef
    effect: str
    applies: bool
    failed: Failed = ""
    reason: str = ""
    direct: bool = True

    @property
    def note(self) -> str:
        """``statement `X` of the queue's policy: its Action does not include ...``."""
        return f"{self.ref.label}: {self.reason}" if self.reason else f"{self.ref.label} applies"


@dataclass(frozen=True)
class Decision:
    """The answer, and why.

    Attributes:
        allowed: Whether AWS would allow the request.
        kind: ``explicit-deny``, ``allow`` or ``implicit-deny``.
        reason: One sentence for a learner.
        deciding: The statement(s) that decided (the deny, or the allow(s)); empty for an
            implicit deny.
        statements: Every statement's verdict, in evaluation order (identity policies first).
        problems: Malformed policies or statements that were ignored, as sentences.
    """

    allowed: bool
    kind: DecisionKind
    reason: str
    deciding: tuple[StatementRef, ...] = ()
    statements: tuple[StatementResult, ...] = ()
    problems: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        # ``assert evaluate(...)`` must mean "allowed", not "a Decision exists".
        return self.allowed

    def verdict(self, kind: PolicyKind) -> Verdict:
        """What the policies of one kind say on their own: ``deny`` (a Deny applies), ``allow``
        (an Allow applies) or ``neutral``. For services that combine a resource policy with
        other checks of their own (S3's object ACLs after the bucket policy)."""
        applying = [r.effect for r in self.statements if r.applies and r.ref.kind == kind]
        return "deny" if "Deny" in applying else "allow" if "Allow" in applying else "neutral"

    @property
    def notes(self) -> tuple[str, ...]:
        """Why each statement that concerns the action did not apply (the near misses)."""
        return tuple(
            r.note for r in self.statements if not r.applies and r.failed not in ("action",)
        )


def evaluate(
    request: Request,
    *,
    identity_policies: Iterable[PolicyInput] = (),
    resource_policy: PolicyInput | None = None,
) -> Decision:
    """Whether AWS allows ``request``, and why.

    Args:
        request: Who asks for what.
        identity_policies: The caller's identity-based policies (documents or :class:`Policy`).
            Raw documents are named "identity policy 1", ... in explanations; use
            :func:`~labkit.policy.document.load_policy` to name them.
        resource_policy: The resource's policy, or ``None`` when it has none.
    """
    identity = [
        load_policy(p, name=f"identity policy {i}", kind="identity")
        for i, p in enumerate(identity_policies, start=1)
    ]
    resource = None if resource_policy is None else load_policy(resource_policy, kind="resource")
    context = request.context_keys()
    caller = request.principal
    problems: list[str] = []
    if identity and caller.kind not in ("user", "role"):
        # Only IAM users and role sessions have identity-based policies.
        problems.append(f"{caller.describe} has no identity-based policies; they were ignored")
        identity = []
    results: list[StatementResult] = []
    for policy in [*identity, *([resource] if resource else [])]:
        problems.extend(policy.problems)
        results.extend(statement_result(s, policy, request, context) for s in policy.statements)

    denies = [r for r in results if r.applies and r.effect == "Deny"]
    if denies:
        return Decision(
            False,
            "explicit-deny",
            f"{_cap(denies[0].ref.label)} denies it (an explicit deny wins over any allow).",
            tuple(r.ref for r in denies),
            tuple(results),
            tuple(problems),
        )
    allows_id = [
        r for r in results if r.applies and r.effect == "Allow" and r.ref.kind == "identity"
    ]
    allows_res = [
        r for r in results if r.applies and r.effect == "Allow" and r.ref.kind == "resource"
    ]
    return _allow_or_default(request, allows_id, allows_res, results, problems, resource)


def statement_result(
    statement: Statement, policy: Policy, request: Request, context: Context | None = None
) -> StatementResult:
    """Whether one statement applies to ``request``, and if not, the first reason why not."""
    ctx = context if context is not None else request.context_keys()
    ref = StatementRef(policy.name, policy.kind, statement.sid, statement.index)
    result = _Result(ref, statement.effect)
    if statement.problem:
        return result.no("invalid", f"it is malformed ({statement.problem})")
    direct = True
    if statement.principal is not None:
        found = principals.match(statement.principal, request.principal)
        if not found.matched:
            return result.no(
                "principal",
                f"its Principal ({principals.describe(statement.principal)}) does not include "
                f"{request.principal.describe}",
            )
        direct = found.direct
    elif (
        statement.not_principal is not None
        and principals.match(statement.not_principal, request.principal).matched
    ):
        return result.no("principal", f"its NotPrincipal excludes {request.principal.describe}")
    action = request.action
    if statement.action is not None:
        if not any(
            glob_match(parse_wildcards(a), action, ignore_case=True) for a in statement.action
        ):
            return result.no("action", f"its Action does not include {action}")
    elif statement.not_action is not None and any(
        glob_match(parse_wildcards(a), action, ignore_case=True) for a in statement.not_action
    ):
        return result.no("action", f"its NotAction excludes {action}")
    why = _resource_miss(statement, policy, request, ctx)
    if why:
        return result.no("resource", why)
    failure = conditions.check(statement.condition, ctx, variables=policy.variables_enabled)
    if failure:
        return result.no("condition", failure)
    return StatementResult(ref, statement.effect, True, direct=direct)


@dataclass(frozen=True)
class _Result:
    ref: StatementRef
    effect: str

    def no(self, failed: Failed, reason: str) -> StatementResult:
        return StatementResult(self.ref, self.effect, False, failed, reason)


def _resource_miss(statement: Statement, policy: Policy, request: Request, ctx: Context) -> str:
    """Why the statement's Resource / NotResource does not cover the request's, or ``""``."""
    patterns = statement.resource if statement.resource is not None else statement.not_resource
    if patterns is None:
        return ""  # a resource policy without Resource covers the resource it is attached to
    unresolved: list[str] = []
    hit = False
    for pattern in patterns:
        template = expand(pattern, ctx, enabled=policy.variables_enabled)
        if isinstance(template, Unresolved):
            # "the resource that includes a policy variable with no value will not match any
            # resource" (policy variables page), for Resource and NotResource alike.
            unresolved.append(f"{pattern} (its variable {template.name} has no value)")
        elif arn_match(template, request.resource):
            hit = True
            break
    if statement.resource is not None and not hit:
        detail = f"; {', '.join(unresolved)}" if unresolved else ""
        return f"its Resource does not match {request.resource}{detail}"
    if statement.not_resource is not None and hit:
        return f"its NotResource excludes {request.resource}"
    return ""


def _allow_or_default(
    request: Request,
    allows_id: list[StatementResult],
    allows_res: list[StatementResult],
    results: list[StatementResult],
    problems: list[str],
    resource: Policy | None,
) -> Decision:
    caller = request.principal
    everything = (tuple(results), tuple(problems))

    def allow(reason: str, deciding: list[StatementResult]) -> Decision:
        return Decision(True, "allow", reason, tuple(r.ref for r in deciding), *everything)

    def deny(reason: str) -> Decision:
        return Decision(False, "implicit-deny", reason, (), *everything)

    if caller.kind == "root" and not request.cross_account:
        return allow(f"The root user of account {caller.account} has full access to its own "
                     "resources, and no statement denies it.", [])  # fmt: skip
    if caller.kind in ("user", "role") and request.cross_account:
        if allows_id and allows_res:
            return allow(
                f"{_cap(allows_res[0].ref.label)} and {allows_id[0].ref.label} allow it "
                "(access from another account needs both).",
                [allows_res[0], allows_id[0]],
            )
        if allows_res or allows_id:
            has, lacks = (
                (allows_res[0], "an identity-based policy of the caller")
                if allows_res
                else (allows_id[0], "the resource's policy")
            )
            return deny(
                f"{_cap(has.ref.label)} allows it, but the caller is in account "
                f"{caller.account} and the resource in {request.owner}: access from another "
                f"account also needs {lacks} to allow it, and none does."
                + _near_miss(results, "resource" if allows_res else "identity")
            )
        return deny(_nothing_allows(request, results, resource))
    if caller.kind in ("user", "role"):
        direct = [r for r in allows_res if r.direct]
        if allows_id or direct:
            first = (allows_id or direct)[0]
            return allow(f"{_cap(first.ref.label)} allows it.", (allows_id or direct)[:1])
        if allows_res:
            return deny(
                f"{_cap(allows_res[0].ref.label)} names only account {caller.account}, which "
                "delegates to the account's IAM policies: an identity-based policy of "
                f"{caller.describe} must also allow it, and none does."
            )
        return deny(_nothing_allows(request, results, resource))
    # Root of another account, services, anonymous and federated callers: the resource policy.
    if allows_res:
        return allow(f"{_cap(allows_res[0].ref.label)} allows it.", allows_res[:1])
    return deny(_nothing_allows(request, results, resource))


def _nothing_allows(
    request: Request, results: list[StatementResult], resource: Policy | None
) -> str:
    who = request.principal
    text = f"No statement allows {who.describe} to {request.action} on {request.resource}"
    if who.kind in ("service", "anonymous", "federated", "root") and resource is None:
        return (
            text + f": only a resource policy can grant {who.describe} access, and there is none."
        )
    if not results:
        return text + ": there are no policy statements."
    return text + "." + _near_miss(results, "")


def _near_miss(results: list[StatementResult], kind: str) -> str:
    """The most telling miss: the first Allow that got furthest (past principal and action)."""
    order = {"condition": 0, "resource": 1, "principal": 2, "invalid": 3, "action": 4}
    misses = [
        r for r in results
        if not r.applies and r.effect == "Allow" and (not kind or r.ref.kind != kind)
    ]  # fmt: skip
    if not misses:
        return ""
    best = min(misses, key=lambda r: order.get(r.failed, 9))
    return f" {_cap(best.ref.label)} comes closest: {best.reason}."


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]
