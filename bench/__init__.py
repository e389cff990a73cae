"""The benchmark: not library code; it calls `siamese` like any user would. See README.md."""
