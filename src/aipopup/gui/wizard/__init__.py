"""The batch wizard: inputs → job → options (live preview) → output → review → run."""

from aipopup.gui.wizard.wizard import BatchWizard

__all__ = ["BatchWizard"]
