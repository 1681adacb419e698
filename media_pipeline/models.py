"""Models of this app; added by the issue that owns it."""
