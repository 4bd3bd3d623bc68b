"""The web application: the `/api/v1` JSON API (pages come later)."""
