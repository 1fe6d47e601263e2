"""Downloads: URLs and URL lists to files, resumable and verified.

Kept empty on purpose: the catalogue and the CLI import ``sources`` without paying for httpx,
which only ``fetch`` (run on a worker thread) imports.
"""
