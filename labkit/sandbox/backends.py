"""Read moto's backends without creating any: the one door through which state modules see moto.

moto keeps a backend per service, account and Region in ``BackendDict``\\ s and creates one on
first access. Views and checks must never create state by looking (a view of an unused service
would otherwise conjure an empty backend), so they read through here, which only walks the backends
that already exist. Keeping this in the core is also what lets the service folders' ``state.py``
modules stay free of moto imports (the layer contract, ``tests/test_layers.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from moto.core.base_backend import BackendDict
from moto.core.models import DEFAULT_ACCOUNT_ID

__all__ = ["DEFAULT_ACCOUNT_ID", "existing", "existing_in", "existing_services"]


def _dicts() -> list[Any]:
    return list(BackendDict._instances)  # type: ignore[misc]


def existing(service: str, account_id: str = DEFAULT_ACCOUNT_ID) -> Iterator[tuple[str, Any]]:
    """``(region, backend)`` of ``service`` that already exist in the account (none created)."""
    for backend_dict in _dicts():
        if backend_dict.service_name != service or account_id not in dict.keys(backend_dict):
            continue
        account = dict.__getitem__(backend_dict, account_id)
        yield from list(dict.items(account))


def existing_in(service: str, account_id: str, region: str) -> Iterator[Any]:
    """The backends of ``service`` for the account and Region that exist (none is created)."""
    for found, backend in existing(service, account_id):
        if found == region:
            yield backend


def existing_services(account_id: str = DEFAULT_ACCOUNT_ID) -> Iterator[tuple[str, str, Any]]:
    """``(service, region, backend)`` for every backend that exists in the account."""
    for backend_dict in _dicts():
        if account_id not in dict.keys(backend_dict):
            continue
        account = dict.__getitem__(backend_dict, account_id)
        for region, backend in list(dict.items(account)):
            yield backend_dict.service_name, region, backend
