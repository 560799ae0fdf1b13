"""The pixel sizes and JPEG qualities of every image the pipeline writes."""

THUMBNAIL_EDGE = 320     # gallery thumbnails, original and developed
PREVIEW_EDGE = 1600      # the import preview (analysis, lightbox) and the developed preview
ANALYSIS_EDGE = 512      # metrics are measured on the preview box-downscaled to this

THUMBNAIL_QUALITY = 80
PREVIEW_QUALITY = 85
DEVELOPED_QUALITY = 92   # the full-size developed JPEG
EXPORT_QUALITY = 92      # the default quality of an export
MAX_EXPORT_EDGE = 20000  # the largest long_edge an export may ask for
