"""Recorded audio and sign-language video for an instrument's pupil texts, stored on disk.

One row per file: the instrument (questionnaire key), the kind (audio or sign), the
language (a spoken language code for audio; bsl, isl or asl for signing), and what it
says (a statement id, `introduction`, or `answer-<value>`). The bytes live on disk under
MEDIA_DIR, named by their SHA-256, so replacing a file never overwrites one being served.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, utcnow

MEDIA_KINDS = ("audio", "sign")
SIGN_LANGUAGES = ("bsl", "isl", "asl")


class MediaFile(Base):
    """One recorded or signed file for one pupil text of an instrument, in one language."""

    __tablename__ = "media_files"
    __table_args__ = (UniqueConstraint("instrument", "kind", "language", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instrument: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(10))
    language: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str] = mapped_column(String(60))
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    stored_name: Mapped[str] = mapped_column(String(80))
    original_name: Mapped[str] = mapped_column(String(200))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
