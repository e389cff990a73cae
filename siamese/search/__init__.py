"""Hyperparameter search with Optuna, in its own terms: a study (in a storage: SQLite under runs/, a journal
file, or a database server that many machines share) of trials drawn by a sampler from a space of
`TrainConfig` fields and stopped early by a pruner on their live validation curve. Every trial is an
ordinary run folder.

`space` what is searched and the default spaces, `study` storage, samplers, pruners and the study's plan,
`objective` one trial as a run and what it is judged by, `workers` running a study in one process, in
several or detached from the dashboard, `results` what a study found, as plain data and figures.
"""
