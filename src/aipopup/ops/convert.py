"""convert: orientation applied, resized to a longest side, re-encoded."""

from __future__ import annotations

from typing import Any

from aipopup.core.errors import TaskError
from aipopup.core.operation import TaskContext
from aipopup.ops import images


def run(ctx: TaskContext) -> dict[str, Any]:
    if ctx.output is None:
        raise TaskError("No output path was planned for this task.")
    image = images.load_image(ctx.input, pixel_limit=images.pixel_limit(ctx.settings))
    ctx.progress(0.4, "decoded")
    ctx.check()
    pixels = images.resize_max_side(image.pixels, ctx.params.get("max_side"))
    ctx.check()
    with ctx.atomic_output(ctx.output) as tmp:
        images.write_image(tmp, pixels, quality=int(ctx.params.get("quality") or 90))
    height, width = pixels.shape[:2]
    return {"width": width, "height": height, "source": f"{image.width}x{image.height}"}
