"""Running replicates: one pure function, one family of executors, results on disk."""
