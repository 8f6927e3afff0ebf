"""The shapes of the registries' sync messages (``messageData.data``) and of the admin API."""
from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

IinBin = Field(pattern=r"^\d{12}$")


class _Query(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PersonQuery(_Query):
    """GBDFL_PERSON"""

    iin: str = IinBin


class OrganisationQuery(_Query):
    """GBDUL_ORGANISATION"""

    bin: str = IinBin


class PowerOfAttorneyQuery(_Query):
    """ENIS_POWER_OF_ATTORNEY: by ``number`` (with ``representative_iin`` to check it was given to
    them), or by ``principal_iin_bin`` and ``representative_iin``; ``service_code`` checks the scope,
    ``on`` the date it must be valid on (today by default)."""

    number: str | None = Field(None, min_length=1, max_length=32)
    principal_iin_bin: str | None = Field(None, pattern=r"^\d{12}$")
    representative_iin: str | None = Field(None, pattern=r"^\d{12}$")
    service_code: str | None = Field(None, max_length=8)
    on: date | None = None

    @model_validator(mode="after")
    def _by_number_or_parties(self):
        if self.number is None and not (self.principal_iin_bin and self.representative_iin):
            raise ValueError("number, or principal_iin_bin and representative_iin")
        return self


class PaymentQuery(_Query):
    """PSHEP_PAYMENT_STATUS: by ``payment_id``, or the latest payment of ``payer_iin_bin`` for ``service_code``."""

    payment_id: str | None = Field(None, min_length=1, max_length=36)
    payer_iin_bin: str | None = Field(None, pattern=r"^\d{12}$")
    service_code: str | None = Field(None, max_length=8)

    @model_validator(mode="after")
    def _by_id_or_payer(self):
        if self.payment_id is None and not (self.payer_iin_bin and self.service_code):
            raise ValueError("payment_id, or payer_iin_bin and service_code")
        return self


class PaymentIn(_Query):
    """PSHEP_PAY (and the admin's POST /admin/payments)."""

    payer_iin_bin: str = IinBin
    service_code: str = Field(min_length=1, max_length=8)
    region: str | None = Field(None, max_length=32)
    amount: int = Field(ge=0, le=10**12)


# --- admin ------------------------------------------------------------------------------------------


class PersonIn(BaseModel):
    surname: str = Field(min_length=1, max_length=100)
    name: str = Field(min_length=1, max_length=100)
    patronymic: str | None = Field(None, max_length=100)
    birth_date: date
    document_number: str = Field(min_length=1, max_length=20)
    address: str = Field(min_length=1, max_length=1000)


class OrganisationIn(BaseModel):
    name: str = Field(min_length=1, max_length=500)
    head_iin: str = IinBin
    head_name: str = Field(min_length=1, max_length=300)
    address: str = Field(min_length=1, max_length=1000)
    status: Literal["ACTIVE", "SUSPENDED", "LIQUIDATED"] = "ACTIVE"


class PowerOfAttorneyIn(BaseModel):
    principal_iin_bin: str = IinBin
    representative_iin: str = IinBin
    scope: list[str] = Field(min_length=1, max_length=50, description='service codes, or ["all"]')
    valid_from: date
    valid_until: date
    revoked: bool = False
    notary: str | None = Field(None, max_length=300)
