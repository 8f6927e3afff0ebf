"""Kafka topic and header names — the one place they are spelled (see docs/gateway-protocol.md)."""
from __future__ import annotations

#: the gateway delivers every message for system X to this topic, keyed by correlationId
DELIVER_TOPIC_PREFIX = "shep.deliver."
#: messages the gateway gave up on, with the reason in a header
DEAD_LETTER_TOPIC = "shep.dead-letter"


def deliver_topic(system_id: str) -> str:
    return f"{DELIVER_TOPIC_PREFIX}{system_id}"


class Header:
    """Kafka record headers set by the gateway on every delivered record (UTF-8 values)."""

    MESSAGE_ID = "shep-message-id"
    CORRELATION_ID = "shep-correlation-id"
    SERVICE_ID = "shep-service-id"
    MESSAGE_TYPE = "shep-message-type"
    SENDER_ID = "shep-sender-id"
    ATTEMPT = "shep-attempt"
    DEAD_LETTER_REASON = "shep-dead-letter-reason"
    #: W3C trace context of the message (its sender's, from the envelope's properties)
    TRACEPARENT = "traceparent"


class MessageType:
    REQUEST = "REQUEST"
    NOTIFICATION = "NOTIFICATION"
    UPDATE = "UPDATE"
    RESPONSE = "RESPONSE"
    ALL = (REQUEST, NOTIFICATION, UPDATE, RESPONSE)


class MessageState:
    ON_DELIVERY = "ON_DELIVERY"
    DELIVERED = "DELIVERED"
    NOT_DELIVERED = "NOT_DELIVERED"
    DELIVERY_STOPPED = "DELIVERY_STOPPED"


class SystemId:
    """The information systems registered at the gateway (and the gateway's own id)."""

    GATEWAY = "shep"
    PORTAL = "portal"
    E_LICENSING = "e_licensing"
    PROVIDER_ARM = "provider_arm"
    #: the state registries, four systems answering the sync channel (services/registries, docs/registries.md)
    GBD_FL = "gbd_fl"  #: ГБД ФЛ, the state database of individuals
    GBD_UL = "gbd_ul"  #: ГБД ЮЛ, the state database of legal entities
    ENIS = "enis"  #: ЕНИС, the notaries' information system (powers of attorney)
    PSHEP = "pshep"  #: ПШЭП, the e-government payment gateway
    REGISTRIES = (GBD_FL, GBD_UL, ENIS, PSHEP)
    #: the ЦОН desk (services/con, docs/con.md): operators accept paper packages and submit them
    CON = "con"


class ServiceId:
    """Gateway services (serviceId → recipient system), seeded into the gateway's registry."""

    #: portal → e_licensing: a signed application (REQUEST)
    ELICENSE_SUBMIT = "ELICENSE_SUBMIT"
    #: e_licensing → the provider's workstation of the request's region (routeId = region)
    ARM_PROCESS = "ARM_PROCESS"
    #: provider_arm → e_licensing: status notifications and the signed result
    ELICENSE_RESULT = "ELICENSE_RESULT"
    #: e_licensing → portal: status notifications and the result for the personal cabinet
    PORTAL_NOTIFY = "PORTAL_NOTIFY"
    #: e_licensing → the ЦОН: status notifications and the result of a request accepted at a ЦОН desk
    CON_NOTIFY = "CON_NOTIFY"

    # --- sync channel: the state registries (recipients gbd_fl, gbd_ul, enis, pshep; docs/registries.md) ----------
    #: ГБД ФЛ: an individual by IIN
    GBDFL_PERSON = "GBDFL_PERSON"
    #: ГБД ЮЛ: an organisation by BIN
    GBDUL_ORGANISATION = "GBDUL_ORGANISATION"
    #: ЕНИС: a notarised power of attorney by number, or by principal and representative
    ENIS_POWER_OF_ATTORNEY = "ENIS_POWER_OF_ATTORNEY"
    #: ПШЭП: a payment fact by payment id, or by payer and service
    PSHEP_PAYMENT_STATUS = "PSHEP_PAYMENT_STATUS"
    #: ПШЭП: the portal sends the applicant's payment for a service ("process 4")
    PSHEP_PAY = "PSHEP_PAY"

    SYNC = (GBDFL_PERSON, GBDUL_ORGANISATION, ENIS_POWER_OF_ATTORNEY, PSHEP_PAYMENT_STATUS, PSHEP_PAY)
