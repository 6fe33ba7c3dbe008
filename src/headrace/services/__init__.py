"""Use cases shared by every front end (SDK local backend, REST server, CLI)."""
