"""OpenSearch domains answer the REST API at their endpoints, from a real engine (tantivy).

moto 5.2.5 keeps the OpenSearch Service control plane (``create_domain`` with its
``AccessPolicies``, ``Endpoint`` ``<domain>.<region>.es.amazonaws.com``) and nothing answers at
the endpoint. While a lab runs, ``requests`` and ``urllib`` reach it in process (through
:mod:`labkit.sandbox.hosts`, as load balancers' DNS names are served; the real ``opensearch-py``
client works with ``connection_class=RequestsHttpConnection``):

- ``PUT /<index>`` (settings and mappings), ``GET``/``DELETE /<index>``, ``PUT|POST
  /<index>/_doc/<id>``, ``POST /<index>/_doc``, ``GET|DELETE /<index>/_doc/<id>``, ``POST
  [/<index>]/_bulk`` (NDJSON ``index``/``create``/``delete``), ``GET|POST /<index>/_search``,
  ``/<index>/_count``, ``POST /<index>/_refresh``, ``?refresh=true`` on writes, ``GET /``;
  documents are searchable after the next refresh on the lab clock (:mod:`.sim_engine`).
- The domain's access policy is asked of the policy engine for every request, as
  ``es:ESHttp<Method>`` on ``arn:aws:es:<region>:<account>:domain/<name>/<path>``: an unsigned
  request is anonymous, a SigV4-signed one is the IAM user (or the account's root) whose
  access key signed it. A domain without a policy refuses everyone; a refusal is a 403 with
  OpenSearch's message (https://docs.aws.amazon.com/opensearch-service/latest/developerguide/
  ac.html). Identity-based policies of the caller are not consulted (the resource policy
  decides), which the lesson says.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

from moto.iam.models import iam_backends
from moto.opensearch.models import opensearch_backends

from labkit import policy as engine_policy
from labkit.sandbox import hosts as patch_hosts
from labkit.sandbox.backends import DEFAULT_ACCOUNT_ID
from labkit.services.opensearch.sim_engine import Engine, SearchError
from labkit.services.opensearch.state import ENGINE

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox

HOST = re.compile(r"[a-z0-9][a-z0-9-]*\.[a-z0-9-]+\.es\.amazonaws\.com")
_JSON = {"Content-Type": "application/json; charset=UTF-8"}


def find_domain(host: str) -> tuple[str, str, Any] | None:
    """``(account, region, domain)`` whose endpoint is ``host``."""
    name, _, rest = host.lower().partition(".")
    region = rest.split(".")[0]
    for account in list(dict.keys(opensearch_backends)):
        regions = dict.__getitem__(opensearch_backends, account)
        backend = dict.get(regions, region)
        domain = getattr(backend, "domains", {}).get(name) if backend is not None else None
        if domain is not None:
            return str(account), region, domain
    return None


def engine_of(domain: Any) -> Engine:
    """The domain's search engine (made on first use, kept on moto's domain object)."""
    found: Engine | None = domain.__dict__.get(ENGINE)
    if found is None:
        found = Engine()
        domain.__dict__[ENGINE] = found
    return found


def caller(headers: Any) -> engine_policy.Principal:
    """Who sent a request: anonymous unless SigV4-signed by a known access key."""
    authorization = str(headers.get("Authorization") or headers.get("authorization") or "")
    key = re.search(r"Credential=([^/]+)/", authorization)
    if not key:
        return engine_policy.Principal.anonymous()
    for account in list(dict.keys(iam_backends)):
        backend = dict.__getitem__(iam_backends, account).get("aws")
        access = backend.access_keys.get(key.group(1)) if backend is not None else None
        if access is not None and getattr(access, "user_name", None):
            return engine_policy.Principal.user(str(account), str(access.user_name))
    # The sandbox's own credentials: the default account's root.
    return engine_policy.Principal.root(DEFAULT_ACCOUNT_ID)


def refusal(domain: Any, account: str, region: str, request: Any, path: str) -> str | None:
    """Why the domain's access policy refuses a request (``None``: allowed)."""
    principal = caller(request.headers)
    action = f"es:ESHttp{str(request.method).capitalize()}"
    resource = f"arn:aws:es:{region}:{account}:domain/{domain.domain_name}/{path.lstrip('/')}"
    raw = domain.access_policies or ""
    policy = json.loads(raw) if isinstance(raw, str) and raw.strip() else (raw or None)
    decision = engine_policy.evaluate(
        engine_policy.Request(principal, action, resource, account), resource_policy=policy
    )
    if decision.allowed:
        return None
    who = "anonymous" if principal.kind == "anonymous" else principal.arn
    return (
        f"User: {who} is not authorized to perform: {action} on resource: {resource} "
        f"({decision.reason})"
    )


def _reply(status: int, body: Any) -> patch_hosts.Reply:
    return status, _JSON, json.dumps(body)


def _error(err: SearchError) -> patch_hosts.Reply:
    return _reply(
        err.status,
        {
            "error": {
                "root_cause": [{"type": err.kind, "reason": err.message}],
                "type": err.kind,
                "reason": err.message,
            },
            "status": err.status,
        },
    )


def _body(request: Any) -> Any:
    raw = patch_hosts.body_of(getattr(request, "body", None))
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except ValueError as err:
        raise SearchError(400, "parse_exception", f"request body is not JSON: {err}") from err


def _bulk(search: Engine, default: str | None, raw: bytes, now: float) -> dict[str, Any]:
    """Run a ``_bulk`` body: each action answers for itself, as in OpenSearch (a document its
    field types refuse, or a ``create`` of an existing id, fails alone; ``errors`` says so)."""
    lines = [line for line in raw.decode("utf-8").splitlines() if line.strip()]
    items: list[dict[str, Any]] = []
    index = 0
    while index < len(lines):
        action_line = json.loads(lines[index])
        ((action, meta),) = action_line.items()
        target = meta.get("_index") or default
        if not target:
            raise SearchError(400, "action_request_validation_exception", "index is missing")
        doc_id = meta.get("_id")
        try:
            if action == "delete":
                index += 1
                gone = search.delete(target, str(doc_id))
                items.append(
                    {
                        "delete": {
                            "_index": target,
                            "_id": doc_id,
                            "result": "deleted" if gone else "not_found",
                            "status": 200 if gone else 404,
                        }
                    }
                )
                continue
            source = json.loads(lines[index + 1])
            index += 2
            existed = (
                doc_id is not None
                and target in search.indexes
                and search.get(target, str(doc_id)) is not None
            )
            if action == "create" and existed:
                raise SearchError(
                    409,
                    "version_conflict_engine_exception",
                    f"[{doc_id}]: version conflict, document already exists",
                )
            new_id = search.put(target, doc_id, source, now)
            items.append(
                {
                    action: {
                        "_index": target,
                        "_id": new_id,
                        "result": "updated" if existed else "created",
                        "status": 200 if existed else 201,
                    }
                }
            )
        except SearchError as err:
            error = {"type": err.kind, "reason": err.message}
            items.append(
                {action: {"_index": target, "_id": doc_id, "status": err.status, "error": error}}
            )
    errors = any("error" in next(iter(item.values())) for item in items)
    return {"took": 1, "errors": errors, "items": items}


def serve(request: Any, now: float) -> patch_hosts.Reply:
    """Answer one REST request to a domain's endpoint."""
    parts = urlsplit(str(request.url))
    found = find_domain(parts.hostname or "")
    if found is None:
        raise _refused(parts.hostname or "")
    account, region, domain = found
    path = unquote(parts.path) or "/"
    why = refusal(domain, account, region, request, path)
    if why is not None:
        return _reply(403, {"Message": why})
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    search = engine_of(domain)
    method = str(request.method).upper()
    segments = [s for s in path.split("/") if s]
    try:
        result = _route(search, method, segments, request, query, now, domain)
    except SearchError as err:
        return _error(err)
    return result


def _route(
    search: Engine,
    method: str,
    segments: list[str],
    request: Any,
    query: dict[str, str],
    now: float,
    domain: Any,
) -> patch_hosts.Reply:
    refresh = query.get("refresh") in ("true", "", "wait_for")
    if not segments:
        return _reply(
            200,
            {
                "name": domain.domain_name,
                "cluster_name": f"{domain.domain_name}",
                "version": {"distribution": "opensearch", "number": "2.11.0"},
                "tagline": "The OpenSearch Project: https://opensearch.org/",
            },
        )
    if segments[-1] == "_bulk":
        raw = patch_hosts.body_of(getattr(request, "body", None))
        result = _bulk(search, segments[0] if len(segments) > 1 else None, raw, now)
        if refresh:
            for target in {next(iter(item.values()))["_index"] for item in result["items"]}:
                if target in search.indexes:  # an action on a missing index failed alone
                    search.refresh(target, now)
        return _reply(200, result)
    name = segments[0]
    if len(segments) == 1:
        if method == "PUT":
            search.create_index(name, _body(request), now)
            return _reply(200, {"acknowledged": True, "shards_acknowledged": True, "index": name})
        if method == "DELETE":
            search.index_of(name)
            del search.indexes[name]
            return _reply(200, {"acknowledged": True})
        if method in ("GET", "HEAD"):
            index = search.index_of(name)
            return _reply(200, {name: {"mappings": {"properties": _properties(index)}}})
    action = segments[1]
    if action in ("_search", "_count", "_refresh"):
        if action == "_refresh":
            search.refresh(name, now)
            return _reply(200, {"_shards": {"total": 1, "successful": 1, "failed": 0}})
        body = _body(request)
        if action == "_count":
            return _reply(200, {"count": search.count(name, body, now)})
        if "size" in query:
            body["size"] = int(query["size"])
        return _reply(200, search.search(name, body, now))
    if action in ("_doc", "_create"):
        doc_id = segments[2] if len(segments) > 2 else None
        if method == "GET" and doc_id:
            source = search.get(name, doc_id)
            found = source is not None
            body = {"_index": name, "_id": doc_id, "found": found}
            if found:
                body["_source"] = source
            return _reply(200 if found else 404, body)
        if method == "DELETE" and doc_id:
            gone = search.delete(name, doc_id)
            return _reply(
                200 if gone else 404,
                {"_index": name, "_id": doc_id, "result": "deleted" if gone else "not_found"},
            )
        if method in ("PUT", "POST"):
            existed = (
                doc_id is not None
                and search.indexes.get(name) is not None
                and (search.get(name, doc_id) is not None)
            )
            new_id = search.put(name, doc_id, _body(request), now)
            if refresh:
                search.refresh(name, now)
            return _reply(
                200 if existed else 201,
                {
                    "_index": name,
                    "_id": new_id,
                    "result": "updated" if existed else "created",
                    "_shards": {"total": 1, "successful": 1, "failed": 0},
                },
            )
    raise SearchError(
        400,
        "illegal_argument_exception",
        f"the sandbox does not answer {method} /{'/'.join(segments)}",
    )


def _refused(host: str) -> Exception:
    import requests

    return requests.exceptions.ConnectionError(f"no OpenSearch domain answers at {host}")


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Serve domains' endpoints while ``sandbox`` runs."""
    now: Callable[[], float] = lambda: sandbox.clock.timestamp  # noqa: E731

    def handle(request: Any) -> patch_hosts.Reply:
        return serve(request, now())

    patch_hosts.serve(stack, HOST, handle)


__all__ = ["HOST", "engine_of", "find_domain", "install", "serve"]


def _properties(index: Any) -> dict[str, Any]:
    """An index's mappings as OpenSearch shows them: multi-fields under their field's ``fields``."""
    subs = {f"{parent}.{sub}" for parent, fields in index.multi.items() for sub in fields}
    shown: dict[str, Any] = {}
    for name, kind in index.mappings.items():
        if name in subs:
            continue
        shown[name] = {"type": kind}
        for sub, (sub_kind, above) in (index.multi.get(name) or {}).items():
            spec: dict[str, Any] = {"type": sub_kind}
            if above is not None:
                spec["ignore_above"] = above
            shown[name].setdefault("fields", {})[sub] = spec
    return shown
