"""The signed-in staff member's in-app inbox (the `inbox` channel of the notification outbox)."""

from __future__ import annotations

from sqlmodel import Session, col, select

from api.errors import NotFoundError
from models.tables import Notification, NotificationChannel, utc_now


def inbox(session: Session, *, staff_id: str, unread_only: bool, limit: int, offset: int) -> list[Notification]:
    """The staff member's inbox notifications, newest first."""
    query = select(Notification).where(
        Notification.recipient == staff_id, Notification.channel == NotificationChannel.INBOX
    )
    if unread_only:
        query = query.where(col(Notification.read_at).is_(None))
    query = query.order_by(col(Notification.created_at).desc(), col(Notification.id).desc())
    return list(session.exec(query.offset(offset).limit(limit)))


def mark_read(session: Session, *, staff_id: str, notification_id: int) -> Notification:
    """Mark one of the staff member's inbox notifications read; reading it twice keeps the first time."""
    notification = session.get(Notification, notification_id)
    # Someone else's notification is answered like a missing one: its existence is not theirs to know.
    if (
        notification is None
        or notification.recipient != staff_id
        or notification.channel is not NotificationChannel.INBOX
    ):
        raise NotFoundError(f"no notification {notification_id} in your inbox")
    if notification.read_at is None:
        notification.read_at = utc_now()
        session.add(notification)
        session.commit()
        session.refresh(notification)
    return notification
