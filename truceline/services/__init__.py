"""Use cases joining the domain and the store; the CLI and the web app call these."""
