"""How the stages talk: key names, the stage registry, the Redis transport and the message schemas."""
