"""Shared plumbing: settings, message schemas, stream names, the Redis layer and the worker runtime."""
