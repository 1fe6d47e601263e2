"""AI Popup: batch face anonymizing, portrait cropping, conversion and downloads."""

__version__ = "0.1.0"
