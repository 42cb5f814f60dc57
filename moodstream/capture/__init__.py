"""capture: one process per camera, publishing JPEG frames to the frames stream."""
