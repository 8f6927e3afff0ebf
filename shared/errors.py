"""The one catalogue of error codes, and the error body of API.md.

Every refusal anywhere in the system is an :class:`ApiError` with a code from
:data:`CATALOGUE`. The body is always::

    {"error": {"code", "message_ru", "message_kk", "step", "trace_id"}}

``step`` names the diagram box of the regulation where the refusal happened
("process 2", "condition 3", ...), when there is one.

The failure model: every code says whether it is **retryable**. A retryable refusal is an
outage or a limit (the НУЦ cannot be asked, the service is in maintenance, too many
attempts), never a verdict on the request: its answer carries ``Retry-After``, a sender's
outbox tries again later, a consumer leaves the message unconfirmed so that the gateway
redelivers it, and nothing becomes a refusal to the applicant or a dead letter because of
it. Every other code is permanent: the same input gets the same answer.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorSpec:
    status: int
    message_ru: str
    message_kk: str
    step: str | None = None
    #: an outage or a limit, not a verdict: try again after ``retry_after`` seconds
    retryable: bool = False
    retry_after: int | None = None


CATALOGUE: dict[str, ErrorSpec] = {
    # --- generic ---------------------------------------------------------------
    "VALIDATION_ERROR": ErrorSpec(422, "Запрос не соответствует формату", "Сұрау форматқа сәйкес келмейді"),
    "NOT_FOUND": ErrorSpec(404, "Не найдено", "Табылмады"),
    "METHOD_NOT_ALLOWED": ErrorSpec(405, "Метод не поддерживается", "Әдіс қолдау көрсетілмейді"),
    "INTERNAL_ERROR": ErrorSpec(500, "Внутренняя ошибка сервиса", "Сервистің ішкі қатесі", retryable=True,
                                retry_after=5),
    "UNAVAILABLE": ErrorSpec(503, "Сервис временно недоступен", "Сервис уақытша қолжетімсіз", retryable=True,
                             retry_after=5),
    "REQUEST_TOO_LARGE": ErrorSpec(413, "Размер запроса превышает допустимый", "Сұрау көлемі рұқсат етілгеннен асады"),
    "QUOTA_EXCEEDED": ErrorSpec(
        429, "Превышен суточный лимит для заявителя, повторите завтра",
        "Өтініш берушіге арналған тәуліктік шектен асты, ертең қайталаңыз", "process 3",
        retryable=True, retry_after=3600,
    ),
    "RATE_LIMITED": ErrorSpec(
        429, "Слишком много запросов, повторите позже", "Сұраулар тым көп, кейінірек қайталаңыз",
        retryable=True, retry_after=1,
    ),
    # --- authentication and ownership (portal flow "condition 1" / "process 2") -----
    "AUTH_FAILED": ErrorSpec(
        401, "Неверный ИИН/БИН или пароль", "ЖСН/БСН немесе құпиясөз қате", "process 2"
    ),
    "AUTH_REQUIRED": ErrorSpec(401, "Требуется авторизация", "Авторизация қажет", "process 1"),
    "AUTH_LOCKED": ErrorSpec(
        429,
        "Вход временно заблокирован после неудачных попыток",
        "Сәтсіз әрекеттерден кейін кіру уақытша бұғатталды",
        "process 2",
        retryable=True,
        retry_after=60,
    ),
    "FORBIDDEN_ROLE": ErrorSpec(
        403, "Действие не разрешено вашей роли", "Әрекетке сіздің рөліңізге рұқсат жоқ"
    ),
    "IIN_BIN_INVALID": ErrorSpec(
        422, "ИИН/БИН указан неверно (контрольный разряд)", "ЖСН/БСН қате көрсетілген (бақылау разряды)"
    ),
    "ALREADY_REGISTERED": ErrorSpec(
        409, "Пользователь с таким ИИН/БИН уже зарегистрирован", "Бұл ЖСН/БСН бар пайдаланушы тіркелген"
    ),
    "IIN_BIN_NOT_OWNER": ErrorSpec(
        403,
        "Документ подан не от имени авторизованного заявителя",
        "Құжат авторизацияланған өтініш берушінің атынан берілмеген",
        "condition 3",
    ),
    # --- request submission (portal flow) -------------------------------------
    "PAYMENT_NOT_FOUND": ErrorSpec(
        402, "Факт оплаты не подтверждён", "Төлем фактісі расталмады", "process 5"
    ),
    "DUPLICATE_REQUEST": ErrorSpec(
        409, "Такой запрос уже подан (повтор nonce)", "Мұндай сұрау бұрын берілген (nonce қайталанды)"
    ),
    "DOCUMENT_STALE": ErrorSpec(
        422, "Документ подписан слишком давно или дата создания в будущем, подпишите заново",
        "Құжатқа тым ерте қол қойылған немесе құру күні болашақта, қайта қол қойыңыз", "process 8",
    ),
    "FORM_INVALID": ErrorSpec(
        422, "Форма запроса заполнена неверно", "Сұрау нысаны қате толтырылған", "process 3"
    ),
    "DOCUMENTS_INCOMPLETE": ErrorSpec(
        422, "Не приложены обязательные документы", "Міндетті құжаттар қоса берілмеген", "process 3"
    ),
    "SERVICE_UNKNOWN": ErrorSpec(
        422, "Услуга или регион не найдены в каталоге", "Қызмет немесе өңір каталогта табылмады", "process 3"
    ),
    "ATTACHMENT_TOO_LARGE": ErrorSpec(
        413, "Файл превышает допустимый размер", "Файл рұқсат етілген көлемнен асады", "process 3"
    ),
    "ATTACHMENT_TYPE": ErrorSpec(
        415, "Недопустимый тип файла", "Файл түріне рұқсат жоқ", "process 3"
    ),
    "RESULT_NOT_READY": ErrorSpec(404, "Результат ещё не готов", "Нәтиже әлі дайын емес"),
    "LICENCE_NOT_FOUND": ErrorSpec(
        404,
        "Лицензия (сертификат) с указанным номером не найдена в реестре или принадлежит другому лицу",
        "Көрсетілген нөмірлі лицензия (сертификат) тізілімде табылмады немесе басқа тұлғаға тиесілі",
        "process 9",
    ),
    # --- signatures (portal flow "condition 3" / "process 7") ------------------
    "ECP_BAD_SIGNATURE": ErrorSpec(
        422, "Подпись не соответствует документу", "Қолтаңба құжатқа сәйкес келмейді", "process 7"
    ),
    "ECP_EXPIRED": ErrorSpec(
        422, "Срок действия сертификата ЭЦП истёк", "ЭЦҚ тіркеу куәлігінің мерзімі өтті", "process 7"
    ),
    "ECP_NOT_YET_VALID": ErrorSpec(
        422, "Сертификат ЭЦП ещё не действует", "ЭЦҚ тіркеу куәлігі әлі күшіне енбеген", "process 7"
    ),
    "ECP_REVOKED": ErrorSpec(
        422, "Сертификат ЭЦП отозван", "ЭЦҚ тіркеу куәлігі кері қайтарылған", "process 7"
    ),
    "ECP_UNTRUSTED": ErrorSpec(
        422,
        "Сертификат выдан не доверенным удостоверяющим центром",
        "Тіркеу куәлігін сенімді куәландырушы орталық бермеген",
        "process 7",
    ),
    "ECP_WRONG_KEY_USAGE": ErrorSpec(
        422,
        "Ключ не предназначен для этого действия (AUTH/SIGN)",
        "Кілт бұл әрекетке арналмаған (AUTH/SIGN)",
        "process 7",
    ),
    "ECP_IIN_MISMATCH": ErrorSpec(
        422,
        "ИИН/БИН в запросе не совпадает с ИИН/БИН в сертификате",
        "Сұраудағы ЖСН/БСН тіркеу куәлігіндегі ЖСН/БСН-мен сәйкес келмейді",
        "process 7",
    ),
    "ECP_MALFORMED": ErrorSpec(
        422, "Подпись повреждена или имеет неверный формат", "Қолтаңба бүлінген немесе форматы қате", "process 7"
    ),
    # the НУЦ's OCSP responder and CRL could not be asked: an outage, not a bad signature
    "ECP_REVOCATION_UNKNOWN": ErrorSpec(
        503,
        "Не удалось проверить отзыв сертификата (НУЦ недоступен), повторите позже",
        "Тіркеу куәлігінің кері қайтарылуын тексеру мүмкін болмады (ҰКО қолжетімсіз), кейінірек қайталаңыз",
        "process 7",
        retryable=True,
        retry_after=10,
    ),
    "ECP_NO_SIGNING_RIGHT": ErrorSpec(
        422,
        "У подписавшего нет права подписи от имени организации",
        "Қол қоюшының ұйым атынан қол қою құқығы жоқ",
        "process 11",
    ),
    # --- provider workstation ---------------------------------------------------
    "TASK_NOT_OPEN": ErrorSpec(409, "Задача уже выполнена", "Тапсырма орындалған"),
    "DECISION_NOT_ALLOWED": ErrorSpec(
        422, "Решение не предусмотрено на этом шаге", "Бұл қадамда мұндай шешім қарастырылмаған"
    ),
    "TASK_DATA_INVALID": ErrorSpec(422, "Не хватает данных для решения", "Шешім үшін деректер жетіспейді"),
    "SIGNATURE_REQUIRED": ErrorSpec(
        422, "Шаг требует подписи ЭЦП", "Қадам ЭЦҚ қолтаңбасын талап етеді"
    ),
    # --- gateway (ШЭП) ------------------------------------------------------------
    "SENDER_UNKNOWN": ErrorSpec(
        401, "Информационная система-отправитель не зарегистрирована", "Жіберуші ақпараттық жүйе тіркелмеген"
    ),
    "SENDER_AUTH_FAILED": ErrorSpec(
        401, "Неверный пароль системы-отправителя", "Жіберуші жүйенің құпиясөзі қате"
    ),
    "SENDER_SIGNATURE_INVALID": ErrorSpec(
        401, "Подпись системы-отправителя не подтверждена", "Жіберуші жүйенің қолтаңбасы расталмады"
    ),
    "SERVICE_NOT_FOUND": ErrorSpec(404, "Сервис не зарегистрирован в ШЭП", "Сервис ЭҮШ-те тіркелмеген"),
    "WRONG_CHANNEL": ErrorSpec(400, "Сервис не поддерживает этот канал", "Сервис бұл арнаны қолдамайды"),
    "ACCESS_DENIED": ErrorSpec(
        403, "Системе не предоставлен доступ к сервису", "Жүйеге сервиске қол жеткізу берілмеген"
    ),
    "SERVICE_DISABLED": ErrorSpec(503, "Сервис отключён", "Сервис өшірілген", retryable=True, retry_after=30),
    "ROUTE_NOT_FOUND": ErrorSpec(
        404, "Маршрут (РШЭП) для сообщения не найден", "Хабарламаның бағыты (ЭҮӨШ) табылмады"
    ),
    "SYNC_TIMEOUT": ErrorSpec(
        504, "Получатель не ответил в установленное время", "Алушы белгіленген уақытта жауап бермеді",
        retryable=True, retry_after=5,
    ),
    "RECIPIENT_ERROR": ErrorSpec(
        502, "Получатель вернул ошибку (см. subError)", "Алушы қате қайтарды (subError қараңыз)"
    ),
    "ADMIN_AUTH_FAILED": ErrorSpec(401, "Неверный токен администратора ШЭП", "ЭҮШ әкімшісінің токені қате"),
    "MESSAGE_NOT_FOUND": ErrorSpec(404, "Сообщение не найдено", "Хабарлама табылмады"),
    "ENVELOPE_INVALID": ErrorSpec(422, "Конверт сообщения неверен", "Хабарлама конверті қате"),
    # --- state registries (ГБД ФЛ, ГБД ЮЛ, ЕНИС, ПШЭП), asked through the gateway's sync channel ---
    # the ЦОН flow's "condition 1" / "process 4": the data cannot be obtained
    "PERSON_NOT_FOUND": ErrorSpec(
        404, "Физическое лицо с указанным ИИН не найдено в ГБД ФЛ",
        "Көрсетілген ЖСН бар жеке тұлға ЖТ МДҚ-да табылмады", "process 4",
    ),
    "ORGANISATION_NOT_FOUND": ErrorSpec(
        404, "Юридическое лицо с указанным БИН не найдено в ГБД ЮЛ",
        "Көрсетілген БСН бар заңды тұлға ЗТ МДҚ-да табылмады", "process 4",
    ),
    "ORGANISATION_NOT_ACTIVE": ErrorSpec(
        422, "Юридическое лицо ликвидировано или его деятельность приостановлена (ГБД ЮЛ)",
        "Заңды тұлға таратылған немесе оның қызметі тоқтатыла тұрған (ЗТ МДҚ)", "process 4",
    ),
    "POWER_OF_ATTORNEY_NOT_FOUND": ErrorSpec(
        404, "Доверенность не найдена в ЕНИС или не дана этому представителю",
        "Сенімхат БНАЖ-да табылмады немесе бұл өкілге берілмеген", "process 4",
    ),
    "POWER_OF_ATTORNEY_REVOKED": ErrorSpec(
        422, "Доверенность отменена", "Сенімхаттың күші жойылған", "process 4",
    ),
    "POWER_OF_ATTORNEY_EXPIRED": ErrorSpec(
        422, "Срок действия доверенности истёк или ещё не наступил",
        "Сенімхаттың қолданылу мерзімі өтті немесе әлі басталмаған", "process 4",
    ),
    "POWER_OF_ATTORNEY_SCOPE": ErrorSpec(
        422, "Доверенность не распространяется на эту услугу", "Сенімхат бұл қызметке қолданылмайды", "process 4",
    ),
    # --- the ЦОН desk (services/con, diagram No 1 of seed 003) ---------------------------
    "CON_CONSENT_REQUIRED": ErrorSpec(
        400, "Требуется письменное согласие услугополучателя на использование сведений, составляющих охраняемую законом тайну",
        "Заңмен қорғалатын құпияны құрайтын мәліметтерді пайдалануға көрсетілетін қызметті алушының жазбаша келісімі қажет",
        "process 2",
    ),
    "CON_LOOKUP_NOT_FOUND": ErrorSpec(
        409, "Сведения из ГБД ФЛ/ГБД ЮЛ и ЕНИС по этому заявителю не запрошены",
        "Бұл өтініш беруші бойынша ЖТ МДҚ/ЗТ МДҚ және БНАЖ мәліметтері сұралмаған", "process 3",
    ),
    "ECP_NOT_CON_OPERATOR": ErrorSpec(
        403, "Форма подписана не ЭЦП оператора ЦОН", "Нысанға ХҚКО операторының ЭЦҚ-сымен қол қойылмаған", "process 5",
    ),
    "RECEIPT_NOT_FOUND": ErrorSpec(404, "Расписка с таким номером не найдена", "Мұндай нөмірлі қолхат табылмады"),
    "CON_RESULT_NOT_READY": ErrorSpec(
        409, "Результат оказания услуги ещё не поступил в ЦОН", "Қызмет көрсету нәтижесі ХҚКО-ға әлі түскен жоқ", "process 9",
    ),
    "RESULT_ALREADY_HANDED_OUT": ErrorSpec(
        409, "Результат по этой расписке уже выдан", "Бұл қолхат бойынша нәтиже берілген", "process 9",
    ),
    "HANDOUT_IDENTITY_MISMATCH": ErrorSpec(
        403, "Документ, удостоверяющий личность, или доверенность не соответствуют расписке",
        "Жеке басын куәландыратын құжат немесе сенімхат қолхатқа сәйкес келмейді", "process 9",
    ),
    "REGISTRY_QUERY_INVALID": ErrorSpec(
        422, "Запрос к государственной базе данных составлен неверно",
        "Мемлекеттік дерекқорға сұрау қате құрастырылған",
    ),
    "REGISTRY_RECORD_EXISTS": ErrorSpec(
        409, "Запись с таким ключом уже есть в базе данных", "Мұндай кілті бар жазба дерекқорда бар",
    ),
    # --- НУЦ (nca): issuance and revocation by the CA operator -------------------
    "CA_AUTH_FAILED": ErrorSpec(
        401, "Неверные учётные данные оператора УЦ", "КО операторының тіркелгі деректері қате"
    ),
    "CA_AUTH_LOCKED": ErrorSpec(
        429,
        "Вход оператора УЦ временно заблокирован после неудачных попыток",
        "Сәтсіз әрекеттерден кейін КО операторының кіруі уақытша бұғатталды",
        retryable=True,
        retry_after=60,
    ),
    "CSR_INVALID": ErrorSpec(
        422,
        "Запрос на сертификат (PKCS#10) повреждён, не подписан своим ключом или ключ не поддерживается",
        "Тіркеу куәлігіне сұрау (PKCS#10) бүлінген, өз кілтімен қол қойылмаған немесе кілтке қолдау жоқ",
    ),
    "CERT_PROFILE_INVALID": ErrorSpec(
        422,
        "Данные владельца сертификата указаны неверно (имя, организация, роли, сроки)",
        "Тіркеу куәлігі иесінің деректері қате көрсетілген (аты, ұйым, рөлдер, мерзімдер)",
    ),
    "CERTIFICATE_INVALID": ErrorSpec(
        422,
        "Сертификат не распознан или выпущен не этим удостоверяющим центром",
        "Тіркеу куәлігі танылмады немесе оны бұл куәландырушы орталық бермеген",
    ),
    "CERTIFICATE_NOT_FOUND": ErrorSpec(
        404,
        "Сертификат с таким серийным номером не выпускался этим удостоверяющим центром",
        "Мұндай сериялық нөмірлі тіркеу куәлігін бұл куәландырушы орталық бермеген",
    ),
}


class ApiError(Exception):
    """A refusal with a stable code. Raise it anywhere; the app turns it into the body."""

    def __init__(self, code: str, *, step: str | None = None, detail: str | None = None,
                 extra: dict | None = None, retry_after: int | None = None,
                 headers: dict[str, str] | None = None):
        if code not in CATALOGUE:
            raise KeyError(f"error code {code!r} is not in the catalogue")
        self.code = code
        self.spec = CATALOGUE[code]
        self.step = step if step is not None else self.spec.step
        self.detail = detail
        #: more fields for the body (e.g. the recipient's own ErrorInfo as ``subError``)
        self.extra = extra or {}
        #: seconds for ``Retry-After`` when it differs from the catalogue's (e.g. a lockout's remainder)
        self.retry_after = retry_after if retry_after is not None else self.spec.retry_after
        #: response headers besides Retry-After (e.g. a 401's WWW-Authenticate challenge)
        self.extra_headers = headers
        super().__init__(f"{code}: {detail or self.spec.message_ru}")

    @property
    def status(self) -> int:
        return self.spec.status

    @property
    def retryable(self) -> bool:
        return self.spec.retryable

    def headers(self) -> dict[str, str] | None:
        """``Retry-After`` for a retryable refusal, ``WWW-Authenticate`` for a 401."""
        headers = dict(self.extra_headers or {})
        if self.retry_after is not None:
            headers["Retry-After"] = str(max(1, int(self.retry_after)))
        if self.status == 401:
            headers.setdefault("WWW-Authenticate", "Bearer")
        return headers or None

    def body(self, trace_id: str | None = None) -> dict:
        body = error_body(self.code, step=self.step, trace_id=trace_id)
        body["error"].update(self.extra)
        return body


def is_retryable(code: str | None) -> bool:
    """Whether a code (e.g. from another system's error body) names an outage rather than a verdict."""
    spec = CATALOGUE.get(code or "")
    return spec is not None and spec.retryable


def error_body(code: str, *, step: str | None = None, trace_id: str | None = None) -> dict:
    spec = CATALOGUE[code]
    return {
        "error": {
            "code": code,
            "message_ru": spec.message_ru,
            "message_kk": spec.message_kk,
            "step": step if step is not None else spec.step,
            "trace_id": trace_id,
        }
    }
