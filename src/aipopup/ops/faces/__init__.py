"""Face operations: detection (YuNet), anonymizing, portrait crops and reports.

Kept empty on purpose: importing ``aipopup.ops.faces`` must not import OpenCV; the submodules
(``detector``, ``masks``, ...) are imported by the operations that run on worker threads.
"""
