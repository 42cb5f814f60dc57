"""Running and watching a deployment: supervisor stacks, process launch lines, status, recordings, a dev cluster."""
