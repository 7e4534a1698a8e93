"""The archive: where encoders write (layout), what is on disk (index, coverage, media info),
what is kept (retention, holds), the content keys it is encrypted with, thumbnails and stills read
from it, and the CDN that serves it (configuration, URL signing). Imports nothing above it."""
