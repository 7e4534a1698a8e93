"""Viewing: what a viewer keeps: bookmarks, notifications, cloud recordings, profiles."""
