"""Playback: rights, playlists, playback tokens, keys and licences, viewing sessions (the API
role's hot path)."""
