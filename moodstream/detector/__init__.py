"""detector: stateless Haar-cascade face detection, any number of instances in one consumer group."""
