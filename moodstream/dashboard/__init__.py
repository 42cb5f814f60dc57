"""The web dashboard and the Socket.IO feed (see docs/dashboard.md)."""
