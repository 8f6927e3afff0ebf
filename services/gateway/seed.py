"""The gateway's registries as the embedded system seeds them (``egov up``).

Systems authenticate with senderId + password and sign with the system certificate the
development НУЦ issued them; services name their recipient (or are routed by region, as the
regional gateways РШЭП route to the provider workstations); the ACL is deny-by-default.
"""
from __future__ import annotations

import hashlib

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy.ext.asyncio import AsyncSession

from shared import regulations
from shared.auth import hash_password
from shared.topics import ServiceId, SystemId

from . import repository
from .models import Acl, Route, Service, System

SYSTEMS = {
    SystemId.PORTAL: "Портал электронного правительства (ПЭП)",
    SystemId.E_LICENSING: "ИС ГБД «Е-лицензирование»",
    SystemId.PROVIDER_ARM: "АРМ услугодателя (АРМ РШЭП / ИС АРМ ГБД ЕЛ)",
    SystemId.CON: "ИС ЦОН (АРМ оператора центра обслуживания населения)",
    SystemId.GBD_FL: "ГБД ФЛ (государственная база данных «Физические лица»)",
    SystemId.GBD_UL: "ГБД ЮЛ (государственная база данных «Юридические лица»)",
    SystemId.ENIS: "ЕНИС (единая нотариальная информационная система)",
    SystemId.PSHEP: "ПШЭП (платёжный шлюз электронного правительства)",
}

SERVICES = {
    ServiceId.ELICENSE_SUBMIT: ("Приём заявления в ИС ГБД ЕЛ", SystemId.E_LICENSING),
    ServiceId.ARM_PROCESS: ("Передача заявления в АРМ услугодателя региона", None),
    ServiceId.ELICENSE_RESULT: ("Статусы и результат услуги в ИС ГБД ЕЛ", SystemId.E_LICENSING),
    ServiceId.PORTAL_NOTIFY: ("Статусы и результат в личный кабинет", SystemId.PORTAL),
    ServiceId.CON_NOTIFY: ("Статусы и результат в ЦОН (выдача по расписке)", SystemId.CON),
    # the sync channel: the state registries (docs/registries.md)
    ServiceId.GBDFL_PERSON: ("ГБД ФЛ: сведения о физическом лице по ИИН", SystemId.GBD_FL),
    ServiceId.GBDUL_ORGANISATION: ("ГБД ЮЛ: сведения о юридическом лице по БИН", SystemId.GBD_UL),
    ServiceId.ENIS_POWER_OF_ATTORNEY: ("ЕНИС: нотариальная доверенность", SystemId.ENIS),
    ServiceId.PSHEP_PAYMENT_STATUS: ("ПШЭП: факт оплаты", SystemId.PSHEP),
    ServiceId.PSHEP_PAY: ("ПШЭП: оплата услуги", SystemId.PSHEP),
}


#: the one system that answered for all four registries before each became its own (a data
#: directory made then has its services pointed at the four)
RETIRED_REGISTRIES = "registries"


def routes() -> dict[str, str]:
    """РШЭП routes of ARM_PROCESS: every region of the regulations (``shared.regulations``) → the
    provider workstation that serves it."""
    return {region: SystemId.PROVIDER_ARM for region in regulations.regions()}

ACL = [
    (SystemId.PORTAL, ServiceId.ELICENSE_SUBMIT),
    (SystemId.E_LICENSING, ServiceId.ARM_PROCESS),
    (SystemId.E_LICENSING, ServiceId.PORTAL_NOTIFY),
    (SystemId.PROVIDER_ARM, ServiceId.ELICENSE_RESULT),
    # the portal sends the applicant to ПШЭП ("process 4"); ИС ГБД ЕЛ checks the payment fact
    # ("condition 2") and may ask the state databases about applicants and representatives
    (SystemId.PORTAL, ServiceId.PSHEP_PAY),
    (SystemId.E_LICENSING, ServiceId.PSHEP_PAYMENT_STATUS),
    (SystemId.E_LICENSING, ServiceId.GBDFL_PERSON),
    (SystemId.E_LICENSING, ServiceId.GBDUL_ORGANISATION),
    (SystemId.E_LICENSING, ServiceId.ENIS_POWER_OF_ATTORNEY),
    (SystemId.PROVIDER_ARM, ServiceId.GBDFL_PERSON),
    (SystemId.PROVIDER_ARM, ServiceId.GBDUL_ORGANISATION),
    (SystemId.PROVIDER_ARM, ServiceId.ENIS_POWER_OF_ATTORNEY),
    # the ЦОН desk (docs/con.md): the lookups of "process 3", the payment taken at the desk,
    # the operator-signed submission ("process 6"), and the results routed back to it
    (SystemId.CON, ServiceId.GBDFL_PERSON),
    (SystemId.CON, ServiceId.GBDUL_ORGANISATION),
    (SystemId.CON, ServiceId.ENIS_POWER_OF_ATTORNEY),
    (SystemId.CON, ServiceId.PSHEP_PAY),
    (SystemId.CON, ServiceId.ELICENSE_SUBMIT),
    (SystemId.E_LICENSING, ServiceId.CON_NOTIFY),
]


def cert_sha256(cert: x509.Certificate) -> str:
    return hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()


async def seed(session: AsyncSession, credentials: dict[str, tuple[str, bytes]]) -> None:
    """Insert what is missing; ``credentials`` maps system id → (password, certificate PEM)."""
    for system_id, title in SYSTEMS.items():
        password, cert_pem = credentials[system_id]
        row = await repository.system(session, system_id)
        if row is None:
            row = System(system_id=system_id, title=title)
            session.add(row)
        row.password_hash = hash_password(password)
        row.cert_pem = cert_pem.decode()
        row.cert_sha256 = cert_sha256(x509.load_pem_x509_certificate(cert_pem))
    await session.flush()
    for service_id, (title, recipient) in SERVICES.items():
        row = await repository.service(session, service_id)
        if row is None:
            channel = "sync" if service_id in ServiceId.SYNC else "async"
            session.add(Service(service_id=service_id, title=title, recipient_id=recipient, channel=channel, enabled=True))
        elif row.recipient_id == RETIRED_REGISTRIES:
            row.recipient_id = recipient
    await session.flush()
    for route_id, recipient in routes().items():
        if await repository.route(session, ServiceId.ARM_PROCESS, route_id) is None:
            session.add(Route(service_id=ServiceId.ARM_PROCESS, route_id=route_id, recipient_id=recipient))
    for sender, service in ACL:
        if await repository.allowed(session, sender, service) is None:
            session.add(Acl(sender_id=sender, service_id=service))
