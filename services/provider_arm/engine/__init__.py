"""The engine that runs process definitions: the interpreter (``interpreter.py``) and what each kind
of step does besides deciding (``actions/``, one module per kind)."""
from .actions.base import case_data
from .actions.results import check_result_signature, is_amendment
from .interpreter import (
    CHANNEL,
    PROVIDER_ACTOR,
    acting_role,
    allowed_decisions,
    case_subtype,
    check_overdue,
    complete,
    due_at,
    may_act,
    open_case,
)

__all__ = ["CHANNEL", "PROVIDER_ACTOR", "acting_role", "allowed_decisions", "case_data", "case_subtype",
           "check_overdue", "check_result_signature", "complete", "due_at", "is_amendment", "may_act", "open_case"]
