"""SQLAlchemy models: platform tables and the TSTV additions (SPEC §3)."""

from app.db import Base
from app.models.channel import CatalogueState, Channel, ScheduleEntry
from app.models.cluster import ClusterWorker, EncoderStatus, EncoderWanted, LoginFailure
from app.models.drm import DrmKey
from app.models.user import Profile, User
from app.models.viewing import Bookmark, Notification, Recording, SeriesRecording, TstvSession

__all__ = [
    "Base",
    "Bookmark",
    "CatalogueState",
    "Channel",
    "ClusterWorker",
    "DrmKey",
    "EncoderStatus",
    "EncoderWanted",
    "LoginFailure",
    "Notification",
    "Profile",
    "Recording",
    "ScheduleEntry",
    "SeriesRecording",
    "TstvSession",
    "User",
]
