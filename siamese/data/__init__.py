"""Datasets of faces: decoding images safely (`images`), identity folders (`folders`), the built-ins
(`builtin`), zip archives (`zips`), what a dataset name stands for (`sources`), the in-memory dataset
(`dataset`), the split by identity (`split`), and what the Data page shows of a dataset (`preview`)."""
