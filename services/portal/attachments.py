"""Electronic copies of the documents (Стандарт п.9) attached to a request ("process 3")."""
from __future__ import annotations

import hashlib
import uuid

from fastapi import APIRouter, Depends, Request, UploadFile
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import ApiError

from .deps import current_user, session
from .models import Attachment, User

router = APIRouter(prefix="/api/v1", tags=["attachments"])


class AttachmentOut(BaseModel):
    attachment_id: str
    sha256: str
    size: int
    content_type: str


@router.post("/attachments", status_code=201, response_model=AttachmentOut)
async def upload(
    file: UploadFile, request: Request, user: User = Depends(current_user), s: AsyncSession = Depends(session, scope="function")
) -> AttachmentOut:
    """Multipart upload. 413 ATTACHMENT_TOO_LARGE, 415 ATTACHMENT_TYPE (pdf, jpeg, png, json, text)."""
    settings = request.app.state.rt.settings
    content_type = (file.content_type or "").split(";")[0].strip()
    if content_type not in settings.portal_attachment_types:
        raise ApiError("ATTACHMENT_TYPE", detail=content_type)
    content = await file.read(settings.portal_attachment_max_bytes + 1)
    if len(content) > settings.portal_attachment_max_bytes:
        raise ApiError("ATTACHMENT_TOO_LARGE")
    a = Attachment(attachment_id=str(uuid.uuid4()), owner=user.iin_bin, filename=file.filename or "file",
                   content_type=content_type, size=len(content), sha256=hashlib.sha256(content).hexdigest(),
                   content=content)
    s.add(a)
    return AttachmentOut(attachment_id=a.attachment_id, sha256=a.sha256, size=a.size, content_type=a.content_type)
