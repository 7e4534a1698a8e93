"""Viewing: what a viewer keeps: bookmarks, the player's session heartbeats that save them,
notifications, cloud recordings, profiles."""
