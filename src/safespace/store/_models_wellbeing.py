"""Each console user's reviewer wellbeing settings (``reviewer_settings``, migration 0026).

How strongly media is blurred, whether it stays greyscale once revealed, after how many
minutes of continuous review a break is suggested (NULL: the operator's default, 0: never)
and which categories the reviewer opted out of. ``break_snoozed_until`` records the last
"not now" on the break notice. A user without a row has the defaults; the row goes with the
user.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ._models import Base, utcnow

__all__ = ["BLUR_STRENGTHS", "MAX_BREAK_MINUTES", "ReviewerSettings"]

BLUR_STRENGTHS = ("strong", "medium", "light")  # never "none": media is always blurred first
MAX_BREAK_MINUTES = 480


class ReviewerSettings(Base):
    """One console user's choices; absent means the defaults."""

    __tablename__ = "reviewer_settings"
    __table_args__ = (
        CheckConstraint("blur IN ('strong', 'medium', 'light')", name="blur"),
        CheckConstraint(
            f"break_minutes IS NULL OR break_minutes BETWEEN 0 AND {MAX_BREAK_MINUTES}",
            name="break_minutes",
        ),
    )

    user_name: Mapped[str] = mapped_column(
        String(64), ForeignKey("users.name", ondelete="CASCADE"), primary_key=True
    )
    blur: Mapped[str] = mapped_column(String(8), default="strong")
    keep_grey: Mapped[bool] = mapped_column(Boolean, default=True)
    break_minutes: Mapped[int | None] = mapped_column(Integer)
    opt_out: Mapped[list[Any]] = mapped_column(JSON, default=list)
    break_snoozed_until: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
