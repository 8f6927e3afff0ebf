"""The regulations as one body of data (``regulations/`` at the root of the checkout), read by every
service through this one loader: the services (forms, documents, fees), the providers, and the
regional variants — each a process definition with its steps, roles, limits, decisions, subtypes,
its portal diagram's numbering, and the seed it cites. ``regulations/README.md`` says how to add a
variant; no code changes for it."""
from __future__ import annotations

from .location import regulations_dir
from .processes import ROLES, Decision, Process, Step, Subtype, all_processes, find
from .providers import Provider, provider_by_bin, providers
from .services import Document, ServiceDef, services


def regions() -> list[str]:
    """Every region some variant serves (the РШЭП routes)."""
    return sorted({p.region for p in all_processes().values()})


def reload() -> None:
    """Forget what was read (a test pointing ``EGOV_REGULATIONS_DIR`` elsewhere)."""
    for f in (all_processes, providers, services):
        f.cache_clear()


__all__ = ["ROLES", "Decision", "Document", "Process", "Provider", "ServiceDef", "Step", "Subtype", "all_processes",
           "find", "provider_by_bin", "providers", "regions", "regulations_dir", "reload", "services"]
