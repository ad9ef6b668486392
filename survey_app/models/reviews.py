"""Using results with pupils and families: what a round shares with its pupils, a pupil's
own hopes, agreed targets and their ladders of steps, review days and their meetings,
withdrawals, and the pupil-voice comments with the school's safeguarding words."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, UTCDateTime, utcnow

TARGET_AREAS = ("attendance", "behaviour", "homework", "subject", "factor")
TARGET_OUTCOMES = ("met", "partly", "not_yet", "replaced")
WITHDRAWAL_ANSWERS = ("kept", "erased")


class RoundReviewSettings(Base):
    """What a round shares with its pupils (off unless staff turn it on), and who reads
    the pupil-voice comments it collects."""

    __tablename__ = "round_review_settings"

    round_id: Mapped[int] = mapped_column(ForeignKey("survey_rounds.id", ondelete="CASCADE"), primary_key=True)
    show_results: Mapped[bool] = mapped_column(Boolean, default=False)
    pupil_voice: Mapped[bool] = mapped_column(Boolean, default=False)
    safeguarding_lead_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    family_contact: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    safeguarding_lead = relationship("StaffUser")


class PupilHope(Base):
    """What a pupil hopes for and one thing they want to get better at, written on their
    "My results" page for their tutor (one per pupil and round)."""

    __tablename__ = "pupil_hopes"
    __table_args__ = (UniqueConstraint("pupil_id", "round_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pupil_id: Mapped[int] = mapped_column(ForeignKey("pupils.id", ondelete="CASCADE"))
    round_id: Mapped[int] = mapped_column(ForeignKey("survey_rounds.id", ondelete="CASCADE"), index=True)
    hopes: Mapped[str] = mapped_column(Text, default="")
    better_at: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Target(Base):
    """A target agreed with a pupil: its area, the words agreed, who agreed it, a ladder of
    steps, a review date and, once reviewed, the outcome."""

    __tablename__ = "targets"
    __table_args__ = (Index("ix_targets_pupil_id_review_on", "pupil_id", "review_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pupil_id: Mapped[int] = mapped_column(ForeignKey("pupils.id", ondelete="CASCADE"))
    area: Mapped[str] = mapped_column(String(20))
    # The subject's name (area 'subject') or the factor's key (area 'factor').
    detail: Mapped[str | None] = mapped_column(String(100))
    words: Mapped[str] = mapped_column(Text)
    agreed_pupil: Mapped[bool] = mapped_column(Boolean, default=False)
    agreed_tutor: Mapped[bool] = mapped_column(Boolean, default=False)
    agreed_parent: Mapped[bool] = mapped_column(Boolean, default=False)
    review_on: Mapped[date] = mapped_column(Date)
    outcome: Mapped[str | None] = mapped_column(String(20))
    reviewed_on: Mapped[date | None] = mapped_column(Date)
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("review_meetings.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    steps: Mapped[list[TargetStep]] = relationship(
        order_by="TargetStep.position", cascade="all, delete-orphan", passive_deletes=True)

    @property
    def agreed_by(self) -> list[str]:
        return [who for who, yes in (("pupil", self.agreed_pupil), ("tutor", self.agreed_tutor),
                                     ("parent or carer", self.agreed_parent)) if yes]


class TargetStep(Base):
    """One rung of a target's ladder; ticked with the day it was done."""

    __tablename__ = "target_steps"
    __table_args__ = (Index("ix_target_steps_target_id", "target_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("targets.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    words: Mapped[str] = mapped_column(Text)
    done_on: Mapped[date | None] = mapped_column(Date)


class Withdrawal(Base):
    """A family's withdrawal of their child from the survey: no new codes, left out of
    later rounds; `answers` records whether earlier answers were kept or erased."""

    __tablename__ = "withdrawals"

    id: Mapped[int] = mapped_column(primary_key=True)
    pupil_id: Mapped[int] = mapped_column(ForeignKey("pupils.id", ondelete="CASCADE"), unique=True)
    answers: Mapped[str] = mapped_column(String(10))
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


review_day_groups = Table(
    "review_day_groups",
    Base.metadata,
    Column("review_day_id", ForeignKey("review_days.id", ondelete="CASCADE"), primary_key=True),
    Column("group_id", ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True),
)


class ReviewDay(Base):
    """A day of review meetings for some groups, in slots of `slot_minutes` from `starts_at`."""

    __tablename__ = "review_days"

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    held_on: Mapped[date] = mapped_column(Date)
    starts_at: Mapped[str] = mapped_column(String(5))  # "08:40", the school's local time
    slot_minutes: Mapped[int] = mapped_column(Integer, default=15)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    groups = relationship("Group", secondary=review_day_groups)
    meetings: Mapped[list[ReviewMeeting]] = relationship(
        back_populates="day", order_by="ReviewMeeting.slot", cascade="all, delete-orphan", passive_deletes=True)


class ReviewMeeting(Base):
    """One pupil's slot on a review day: whether the meeting was held and who came."""

    __tablename__ = "review_meetings"
    __table_args__ = (UniqueConstraint("review_day_id", "pupil_id"), Index("ix_review_meetings_pupil_id", "pupil_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    review_day_id: Mapped[int] = mapped_column(ForeignKey("review_days.id", ondelete="CASCADE"))
    pupil_id: Mapped[int] = mapped_column(ForeignKey("pupils.id", ondelete="CASCADE"))
    slot: Mapped[int] = mapped_column(Integer)
    held: Mapped[bool] = mapped_column(Boolean, default=False)
    who_came: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    day: Mapped[ReviewDay] = relationship(back_populates="meetings")
    pupil = relationship("Pupil")


class PupilComment(Base):
    """What a pupil chose to tell their teacher at the end of a round (pupil voice); read by
    the round's designated safeguarding lead only, never in any export."""

    __tablename__ = "pupil_comments"
    __table_args__ = (UniqueConstraint("pupil_id", "round_id"), Index("ix_pupil_comments_round_id", "round_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    pupil_id: Mapped[int] = mapped_column(ForeignKey("pupils.id", ondelete="CASCADE"))
    round_id: Mapped[int] = mapped_column(ForeignKey("survey_rounds.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SafeguardingWord(Base):
    """A word or phrase the school wants its safeguarding lead to see highlighted."""

    __tablename__ = "safeguarding_words"
    __table_args__ = (UniqueConstraint("school_id", "word"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    word: Mapped[str] = mapped_column(String(100))


def erase_review_records(session, pupil_id: int) -> dict[str, int]:
    """Delete everything of this file that is about one pupil (their erasure); return how
    many rows of each kind went. Steps go with their targets."""
    from sqlalchemy import delete

    counts = {}
    for key, model in (("pupil_hopes", PupilHope), ("targets", Target), ("review_meetings", ReviewMeeting),
                       ("pupil_comments", PupilComment), ("withdrawals", Withdrawal)):
        if model is Target:
            session.execute(delete(TargetStep).where(
                TargetStep.target_id.in_(select_ids(Target, pupil_id))))
        counts[key] = session.execute(delete(model).where(model.pupil_id == pupil_id)).rowcount or 0
    return counts


def select_ids(model, pupil_id: int):
    """Return SELECT model.id for one pupil's rows."""
    from sqlalchemy import select

    return select(model.id).where(model.pupil_id == pupil_id)


def withdrawn_pupil_ids():
    """Return SELECT of the ids of pupils withdrawn from the survey (left out of rounds)."""
    from sqlalchemy import select

    return select(Withdrawal.pupil_id)


def review_records(session, pupil_id: int) -> dict[str, list[dict]]:
    """Return everything of this file held about one pupil, as plain data (subject access)."""
    from sqlalchemy import select

    def rows(model, order):
        return session.scalars(select(model).where(model.pupil_id == pupil_id).order_by(order)).all()

    return {
        "hopes": [{"round_id": h.round_id, "hopes": h.hopes, "better_at": h.better_at, "updated_at": h.updated_at}
                  for h in rows(PupilHope, PupilHope.id)],
        "targets": [{"area": t.area, "detail": t.detail, "words": t.words, "agreed_by": t.agreed_by,
                     "review_on": t.review_on, "outcome": t.outcome, "reviewed_on": t.reviewed_on,
                     "steps": [{"words": s.words, "done_on": s.done_on} for s in t.steps]}
                    for t in rows(Target, Target.id)],
        "review_meetings": [{"review_day_id": m.review_day_id, "held": m.held, "who_came": m.who_came}
                            for m in rows(ReviewMeeting, ReviewMeeting.id)],
        # Pupil voice: check safeguarding exemptions before releasing these.
        "comments": [{"round_id": c.round_id, "text": c.text, "created_at": c.created_at}
                     for c in rows(PupilComment, PupilComment.id)],
        "withdrawal": [{"answers": w.answers, "note": w.note, "recorded_at": w.recorded_at}
                       for w in rows(Withdrawal, Withdrawal.id)],
    }
