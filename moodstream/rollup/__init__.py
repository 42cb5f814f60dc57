"""rollup: each camera's emotions folded into 10 s timeline buckets, for the dashboard's long views."""
