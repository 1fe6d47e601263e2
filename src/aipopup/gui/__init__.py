"""The desktop app: PySide6 widgets over the engine. The only package that imports Qt."""
