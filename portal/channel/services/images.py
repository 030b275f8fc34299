"""Pictures in news posts: JPEG or PNG only (read from the bytes), re-encoded without metadata
(`portal.uploads`), no longer than 1600 px on their longest side, with alt text required.

They are kept in the uploads folder's `news` folder (not the folder's top level, which the
complaints' sweep treats as its own), readable by the portal's user alone, like complaint
attachments. A file follows its row's transaction: written files are deleted again unless the
transaction commits, and a removed picture's file goes only once the removal is committed.
"""

from __future__ import annotations

import io
import os
import secrets
from pathlib import Path

from PIL import Image
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import SessionTransaction
from sqlmodel import Session

from portal.accounts.models import StaffUser
from portal.channel.models import Post, PostImage
from portal.channel.services import workflow
from portal.config import Settings
from portal.db import now_of
from portal.history import Actor
from portal.uploads import JPEG_TYPE, PNG_TYPE, UploadRefused, safe_filename, sniff
from portal.uploads import strip_image_metadata as stripped

MAX_BYTES = 10 * 1024 * 1024
LONGEST_SIDE = 1600
MAX_IMAGES = 6
MAX_ALT = 500
FOLDER = "news"
TYPES = (JPEG_TYPE, PNG_TYPE)

_WRITTEN = "portal.channel.images.written"
_DELETED = "portal.channel.images.deleted"


def folder_of(settings: Settings) -> Path:
    return Path(settings.attachments_dir) / FOLDER


def path_of(settings: Settings, image: PostImage) -> Path:
    return folder_of(settings) / image.stored_name


def prepared(filename: str, content: bytes) -> tuple[bytes, str, str, int, int]:
    """The picture re-encoded, metadata gone, at most LONGEST_SIDE px: (bytes, type,
    extension, width, height). Refused with words for the person who sent it."""
    shown = safe_filename(filename)
    if not content:
        raise UploadRefused(f"{shown} is empty. Choose a photo")
    if len(content) > MAX_BYTES:
        raise UploadRefused(f"{shown} is too big: a picture must be smaller than 10 MB")
    kind = sniff(content)
    if kind is None or kind[0] not in TYPES:
        raise UploadRefused(f"{shown} must be a JPG or PNG picture")
    content_type, extension = kind
    clean = stripped(content, content_type)
    try:
        with Image.open(io.BytesIO(clean)) as image:
            image.load()
            picture = image.copy()
    except (OSError, ValueError) as error:
        raise UploadRefused(f"{shown} could not be opened. Try saving it again") from error
    picture.thumbnail((LONGEST_SIDE, LONGEST_SIDE))
    picture.info = {}
    buffer = io.BytesIO()
    if content_type == JPEG_TYPE:
        picture.convert("RGB").save(buffer, format="JPEG", quality=85)
    else:
        picture.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue(), content_type, extension, picture.width, picture.height


def _write_private(path: Path, content: bytes) -> None:
    folder = path.parent
    if not folder.is_dir():
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        folder.chmod(0o700)
    partial = path.with_name(path.name + ".part")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(content)
        os.replace(partial, path)
    except OSError:
        partial.unlink(missing_ok=True)
        raise


def add_image(
    session: Session,
    settings: Settings,
    user: StaffUser,
    post: Post,
    *,
    filename: str,
    content: bytes,
    alt_text: str,
) -> PostImage:
    """Add a picture to the post (the author, while it is being written). The author then says
    again who is in the pictures."""
    if not workflow.may_edit(user, post):
        raise workflow.NewsRefused("Only the author can add pictures to this post", "file")
    alt = " ".join(alt_text.split())
    if not alt:
        raise workflow.NewsRefused("Describe the picture for people who cannot see it", "alt_text")
    if len(alt) > MAX_ALT:
        raise workflow.NewsRefused(
            f"The description must be {MAX_ALT} characters or fewer", "alt_text"
        )
    count = session.scalar(
        select(func.count()).select_from(PostImage).where(PostImage.post_id == post.id)
    )
    if (count or 0) >= MAX_IMAGES:
        raise workflow.NewsRefused(f"A post can have up to {MAX_IMAGES} pictures", "file")
    try:
        data, content_type, extension, width, height = prepared(filename, content)
    except UploadRefused as refused:
        raise workflow.NewsRefused(str(refused), "file") from None
    workflow.touch(session, user, post, pupils_answered=False)
    name = f"{secrets.token_hex(16)}.{extension}"
    path = folder_of(settings) / name
    session.info.setdefault(_WRITTEN, []).append(path)
    try:
        _write_private(path, data)
    except OSError:
        raise workflow.NewsRefused(
            "The picture could not be saved just now. Try again in a few minutes", "file"
        ) from None
    image = PostImage(
        post_id=post.id,  # type: ignore[arg-type]
        stored_name=name,
        content_type=content_type,
        width=width,
        height=height,
        alt_text=alt,
        position=(count or 0) + 1,
        uploaded_at=now_of(session),
    )
    session.add(image)
    session.flush()
    workflow.record(
        session, post, workflow.IMAGE_ADDED, Actor.staff(user), detail={"image_id": image.id}
    )
    return image


def remove_image(
    session: Session, settings: Settings, user: StaffUser, post: Post, image: PostImage
) -> None:
    if image.post_id != post.id or not workflow.may_remove_pictures(user, post):
        raise workflow.NewsRefused("You cannot remove this picture")
    values = {} if post.status == "approved" else {"pupils_answered": False}
    workflow.touch(session, user, post, **values)
    session.delete(image)
    session.info.setdefault(_DELETED, []).append(path_of(settings, image))
    workflow.record(
        session, post, workflow.IMAGE_REMOVED, Actor.staff(user), detail={"image_id": image.id}
    )


@event.listens_for(OrmSession, "after_commit")
def _commit_files(session: OrmSession) -> None:
    session.info.pop(_WRITTEN, None)
    for path in session.info.pop(_DELETED, []):
        path.unlink(missing_ok=True)


@event.listens_for(OrmSession, "after_transaction_end")
def _forget_uncommitted_files(session: OrmSession, transaction: SessionTransaction) -> None:
    if transaction.parent is not None:
        return
    session.info.pop(_DELETED, None)
    for path in session.info.pop(_WRITTEN, []):
        path.unlink(missing_ok=True)
