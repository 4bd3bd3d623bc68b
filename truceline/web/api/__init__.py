"""The HTTP API under /api/v1, one module per resource; the routes are in truceline.web.routes."""
