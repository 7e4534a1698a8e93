"""Media: sources, the SimLive encoders and their ownership, the archive layout, index,
coverage and retention, thumbnails and stills, the CDN configuration (what the worker role runs)."""
