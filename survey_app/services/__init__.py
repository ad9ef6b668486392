"""The write side: operations called by routes and CLI alike, never reading `request`."""
