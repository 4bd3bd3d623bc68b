"""The pages (Jinja2), one module per family; their routes are in truceline.web.routes."""
