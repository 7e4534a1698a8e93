"""Encoders: the SimLive FFmpeg runs that fill the archive: sources, the supervisor, its
ownership across workers and their remote control, handover between runs, logs, backfill. Writes
into `app.services.archive`; nothing below imports it."""
