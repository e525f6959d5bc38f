"""Errors a user can fix. Their message is shown as-is (ephemeral on Discord)."""


class UserError(ValueError):
    """Bad input or a refused request; nothing was changed."""


class PermissionDenied(UserError):
    """The caller lacks a permission the action needs."""
