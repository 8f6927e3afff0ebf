"""What each gateway service carries in ``messageData.data`` — the contract between the systems,
in one place, as ``shared/topics.py`` names the services. Each recipient validates a message
against its model before touching it (a message that does not fit is a permanent
ENVELOPE_INVALID, never a crash); the models name only the fields the recipients read, and keep
the rest (the applicant's signed document is carried whole, byte for byte under JCS).
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Status = Literal["SUBMITTED", "REGISTERED", "IN_PROCESSING", "COMPLETED", "REFUSED"]


class ApplicantDocument(BaseModel):
    """The fields of the applicant's signed document that the systems behind the portal read."""

    model_config = ConfigDict(extra="allow")
    service_code: str = Field(max_length=8)
    region: str = Field(max_length=32)
    subtype: str | None = Field(None, max_length=32)
    iin_bin: str = Field(min_length=12, max_length=12)
    form: dict[str, Any] = Field(default_factory=dict)
    payment_id: str | None = Field(None, max_length=36)


class _CarriesDocument(BaseModel):
    document: dict[str, Any]

    @field_validator("document")
    @classmethod
    def _readable(cls, value: dict) -> dict:
        ApplicantDocument.model_validate(value)  # checked, and carried as it was signed
        return value


class Submission(_CarriesDocument):
    """ELICENSE_SUBMIT (portal → ИС ГБД ЕЛ): the applicant's signed request."""

    request_id: str = Field(min_length=1, max_length=36)
    signature: str
    applicant: dict[str, Any] | None = None
    attachments: list[dict[str, Any]] = Field(default_factory=list)
    payment: dict[str, Any] | None = None
    expected_result_at: str | None = None
    #: where the request was accepted: the portal (signed by the applicant) or a ЦОН desk (signed by
    #: the ЦОН operator, sent by the system ``con``; docs/con.md)
    channel: Literal["portal", "con"] = "portal"
    #: (ЦОН) the receipt (расписка) number the applicant holds
    receipt_number: str | None = Field(None, max_length=32)


class RegisteredApplication(_CarriesDocument):
    """ARM_PROCESS (ИС ГБД ЕЛ → the provider's workstation of the region): the registered application."""

    model_config = ConfigDict(extra="allow")
    application_number: str = Field(min_length=1, max_length=32)
    request_id: str = Field(min_length=1, max_length=36)
    signature: str
    attachments: list[dict[str, Any]] = Field(default_factory=list)


class SignedResult(BaseModel):
    """The provider's result: the document and the CMS of its authorised person over its JCS."""

    kind: str = Field(max_length=32)
    document: dict[str, Any]
    signature: str


class StatusUpdate(BaseModel):
    """ELICENSE_RESULT (provider → ИС ГБД ЕЛ) and PORTAL_NOTIFY (ИС ГБД ЕЛ → portal): where the request
    stands — a status, the step and its actor, when — or, in a RESPONSE, the signed result."""

    model_config = ConfigDict(extra="allow")
    request_id: str = Field(min_length=1, max_length=36)
    status: Status | None = None
    step: str | None = Field(None, max_length=128)
    #: the same step in Kazakh (a provider's step: its number and title_kk)
    step_kk: str | None = Field(None, max_length=255)
    actor: str | None = Field(None, max_length=255)
    note: str | None = None
    #: the same note in Kazakh
    note_kk: str | None = None
    at: str | None = None
    application_number: str | None = Field(None, max_length=32)
    result: SignedResult | None = None
    #: a signed notice to the applicant on the way (S6: the date and place of the testing)
    notice: SignedResult | None = None
