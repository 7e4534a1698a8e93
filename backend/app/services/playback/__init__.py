"""Playback: playlists, playback tokens, licences and the rights cache (the API role's hot path).
Reads the archive and the rules in `app.domain`; imports neither catalogue nor viewing."""
