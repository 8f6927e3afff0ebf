"""Electronic copies of the documents (Стандарт п.9) attached to a request ("process 3")."""
from __future__ import annotations

import hashlib
import uuid

from fastapi import APIRouter, Depends, Request, UploadFile
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from shared import jcs
from shared.app import JCSRoute, error_responses
from shared.errors import ApiError

from .deps import current_user, session
from .models import Attachment, User
from .settings import PortalSettings

router = APIRouter(route_class=JCSRoute, prefix="/api/v1", tags=["attachments"])

#: the whole multipart body may hold the largest file plus its part headers
UPLOAD_BODY_LIMIT = PortalSettings().portal_attachment_max_bytes + 64 * 1024

_SIGNATURES = ((b"%PDF-", "application/pdf"), (b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"))


def sniff(content: bytes) -> str | None:
    """The type a file's bytes say it is — PDF, JPEG, PNG by their magic numbers, JSON that parses,
    UTF-8 text — whatever the client's Content-Type claims; None for anything else."""
    for magic, kind in _SIGNATURES:
        if content.startswith(magic):
            return kind
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if "\x00" in text:
        return None
    try:
        if isinstance(jcs.loads(content), (dict, list)):
            return "application/json"
    except ValueError:
        pass
    return "text/plain"


class AttachmentOut(BaseModel):
    attachment_id: str
    sha256: str
    size: int
    content_type: str


@router.post("/attachments", status_code=201, response_model=AttachmentOut, max_body_size=UPLOAD_BODY_LIMIT,
             summary="Attach a document (multipart upload)",
             responses=error_responses("AUTH_REQUIRED", "REQUEST_TOO_LARGE", "ATTACHMENT_TOO_LARGE", "ATTACHMENT_TYPE",
                                       "QUOTA_EXCEEDED", "VALIDATION_ERROR"))
async def upload(
    file: UploadFile, request: Request, user: User = Depends(current_user), s: AsyncSession = Depends(session, scope="function")
) -> AttachmentOut:
    """Multipart upload. The type is read from the file's content (PDF, JPEG, PNG, JSON, UTF-8 text),
    not from the client's header. 413 REQUEST_TOO_LARGE / ATTACHMENT_TOO_LARGE, 415 ATTACHMENT_TYPE,
    429 QUOTA_EXCEEDED (the applicant's daily number of files or bytes)."""
    settings = request.app.state.rt.settings
    content = await file.read(settings.portal_attachment_max_bytes + 1)
    if len(content) > settings.portal_attachment_max_bytes:
        raise ApiError("ATTACHMENT_TOO_LARGE")
    content_type = sniff(content)
    if content_type is None:
        raise ApiError("ATTACHMENT_TYPE", detail="not a PDF, JPEG, PNG, JSON or UTF-8 text file")
    quotas = request.app.state.quotas
    await quotas.attachments.hit(user.iin_bin)
    await quotas.attachment_bytes.hit(user.iin_bin, cost=max(1, len(content)))
    a = Attachment(attachment_id=str(uuid.uuid4()), owner=user.iin_bin, filename=(file.filename or "file")[:255],
                   content_type=content_type, size=len(content), sha256=hashlib.sha256(content).hexdigest(),
                   content=content)
    s.add(a)
    return AttachmentOut(attachment_id=a.attachment_id, sha256=a.sha256, size=a.size, content_type=a.content_type)
