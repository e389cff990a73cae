"""A run is a folder, and the folder is the contract between whoever starts a run (the dashboard, the
command line, `torchrun`) and whoever reads it (the pages, `evaluate`, the gallery):

    config.json       the TrainConfig, written before training starts; the trainer reads it from here
    status.json       new | starting | running | finished | stopped | diverged | failed, with the process id
    train.log         what the training process printed, when the dashboard started it
    split.json        training and validation identities
    metrics.jsonl     one JSON record a line: step, epoch and end records
    checkpoint.pt     model, loss, optimiser and sampler state, written atomically
    threshold.json    the decision thresholds (written and read by `siamese.decisions.saved` alone)
    snapshots/        the model at epochs 1, 2, 4, 8, ... and the last

`files` writes and reads them safely, `folder` names and lists runs, `status` is the one status reader,
`launch` starts and stops training processes, `progress` is what a live view shows, `table` the runs
table, and `trained` loads a run's model for use.
"""
