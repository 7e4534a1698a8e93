"""SQLAlchemy models: platform tables and the TSTV additions (docs/PRODUCT.md, 'Data model')."""

from app.db import Base
from app.models.channel import CatalogueState, Channel, ScheduleEntry
from app.models.cluster import ClusterWorker, EncoderStatus, EncoderWanted, LoginFailure
from app.models.drm import DrmKey
from app.models.iptv import IptvToken
from app.models.user import Profile, RevokedToken, User
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
    "IptvToken",
    "LoginFailure",
    "Notification",
    "Profile",
    "Recording",
    "RevokedToken",
    "ScheduleEntry",
    "SeriesRecording",
    "TstvSession",
    "User",
]
