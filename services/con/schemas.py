"""Request and answer bodies of the ЦОН desk's API."""
from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, Field


class LookupIn(BaseModel):
    """"Process 2": the service, the region and the applicant; for a representative, his IIN and the
    number of the notarised power of attorney; the applicant's written consent (a flag)."""

    service_code: str = Field(max_length=8)
    region: str = Field(max_length=32)
    iin_bin: str = Field(max_length=12)
    representative_iin: str | None = Field(None, max_length=12)
    power_of_attorney_number: str | None = Field(None, max_length=64)
    #: the applicant's written consent to use legally protected secrets held in information systems
    consent: bool = False
    #: the ЦОН queue ticket (``POST /queue``) the operator called: the wait in the queue is measured
    #: from it on the desk's clock (Almaty: 15 minutes, seed 001 п. 10)
    queue_ticket: str | None = Field(None, max_length=1024)


class LookupOut(BaseModel):
    lookup_id: str
    applicant: dict
    representative: dict | None = None


class PaymentIn(BaseModel):
    lookup_id: str = Field(max_length=36)


class PaymentOut(BaseModel):
    payment_id: str
    amount: int
    status: str


class AttachmentOut(BaseModel):
    attachment_id: str
    sha256: str
    size: int
    content_type: str


class AttachmentRef(BaseModel):
    attachment_id: str = Field(max_length=36)
    sha256: str = Field(max_length=64)
    code: str | None = Field(None, max_length=64)


class Contacts(BaseModel):
    phone: str | None = Field(None, max_length=32)
    email: str | None = Field(None, max_length=255)


class DraftIn(BaseModel):
    """What the operator filled in: the server returns the document to sign ("process 5")."""

    lookup_id: str = Field(max_length=36)
    subtype: str = Field(max_length=32)
    language: str = Field("ru", max_length=2)
    form: dict
    attachments: list[AttachmentRef] = Field(default_factory=list, max_length=50)
    payment_id: str | None = Field(None, max_length=36)
    applicant_contacts: Contacts = Field(default_factory=Contacts)
    representative_contacts: Contacts | None = None


class ConDocument(BaseModel):
    """The form the ЦОН operator signs (CMS over its JCS): the portal's document plus the desk's fields."""

    channel: str = Field(pattern="^con$")
    service_code: str = Field(max_length=8)
    region: str = Field(max_length=32)
    subtype: str = Field(max_length=32)
    iin_bin: str = Field(max_length=12)
    language: str = Field("ru", max_length=2)
    form: dict
    attachments: list[AttachmentRef] = Field(default_factory=list, max_length=50)
    payment_id: str | None = Field(None, max_length=36)
    lookup_id: str = Field(max_length=36)
    consent: bool
    representative: dict | None = None
    applicant_contacts: dict = Field(default_factory=dict)
    operator: dict
    created_at: AwareDatetime
    nonce: str = Field(min_length=8, max_length=64)


class SubmitIn(BaseModel):
    document: dict
    signature: str


class HandoutIn(BaseModel):
    """"Process 9": the result against the receipt and an identity document (and, for a representative,
    the power of attorney)."""

    identity_document_number: str = Field(max_length=32)
    representative_iin: str | None = Field(None, max_length=12)
    power_of_attorney_number: str | None = Field(None, max_length=64)
    #: the queue ticket of the visit: the hand-out is measured from it (Zhambyl: 20 minutes, seed 003 п. 10)
    queue_ticket: str | None = Field(None, max_length=1024)


class TicketOut(BaseModel):
    """A ticket of the ЦОН's electronic queue, stamped with the desk's clock."""

    ticket: str
    issued_at: AwareDatetime
    region: str
