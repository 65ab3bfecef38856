"""A run's identity: what changes its results, so that one folder never mixes two runs.

Issue #16.3: a rerun with `--seed 7` into the folder of a `--seed 123` run overwrote split_00
in place and left a metrics.json describing a mix. The identity of a run is everything that
changes its numbers: the datasets, the protocol, the config label, the number of splits, the
seed, the zero-shot sets and a digest of every task's train/val/test membership (which also
moves when the set of usable videos changes), plus each method's config hash. It is stored in
`identity.json` when a run starts. A later run into the same folder must have the same identity
(new methods may join: `bench --method str` then `bench --method dagr` share a table); when it
differs and the folder already holds task results, the run is refused before any work with
the fields that differ and how to proceed. A folder without results takes the new identity.

Folders written before identity.json existed are compared on the settings their run.json holds.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from vqa_bench.protocol import Task
from vqa_bench.settings import BenchSettings
from vqa_bench.store import RunStore, read_json, write_json_atomic
from vqa_core.errors import VqaError

__all__ = ["RunIdentityError", "check_identity", "run_identity"]

RUN_FIELDS = ("dataset", "protocol", "config", "splits", "seed", "zero_shot", "group_by", "membership")
LEGACY_FIELDS = ("dataset", "protocol", "config", "splits", "seed", "zero_shot")


class RunIdentityError(VqaError):
    """A run folder holds results of a run with another identity."""


def membership_digest(tasks: Sequence[Task]) -> str:
    """Digest of which videos every task trains, validates and tests on."""
    payload = {
        t.name: {
            "seed": t.seed,
            "train": sorted(i.video_id for i in t.train),
            "val": sorted(i.video_id for i in t.val),
            "tests": {k: sorted(i.video_id for i in v) for k, v in sorted(t.tests.items())},
        }
        for t in tasks
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


def run_identity(
    settings: BenchSettings, dataset: str, tasks: Sequence[Task], config_hashes: Mapping[str, str]
) -> dict[str, Any]:
    """The identity of a run about to start: run-level fields and each method's config hash."""
    protocol = settings.resolved_protocol()
    return {
        "run": {
            "dataset": dataset,
            "protocol": protocol,
            "config": settings.config_label(),
            "splits": len(tasks) if protocol == "intra" else None,
            "seed": settings.seed,
            "zero_shot": sorted(settings.zero_shot),
            "group_by": settings.group_by,
            "membership": membership_digest(tasks),
        },
        "methods": dict(config_hashes),
    }


def _stored(store: RunStore) -> tuple[dict[str, Any], tuple[str, ...]] | None:
    """(stored identity, run fields to compare), or None when the folder has none."""
    if store.identity_path.is_file():
        return read_json(store.identity_path), RUN_FIELDS
    legacy = read_json(store.run_info_path).get("run")
    if not legacy:
        return None
    methods = {}
    for name in store.method_names():
        chash = read_json(store.method_dir(name) / "metrics.json").get("config_hash")
        if chash:
            methods[name] = chash
    return {"run": legacy, "methods": methods}, LEGACY_FIELDS


def differences(
    stored: Mapping[str, Any], new: Mapping[str, Any], fields: Sequence[str], started: set[str]
) -> list[str]:
    """Lines 'field: X there, Y now' for every run field that differs, and for the config hash
    of each method that has task results in the folder."""
    out = []
    old_run, new_run = stored.get("run", {}), new["run"]
    for key in fields:
        if old_run.get(key) != new_run.get(key):
            if key == "membership":
                out.append(
                    "split membership: the videos in the train/val/test parts differ "
                    "(the dataset's items, its usable videos or the grouping changed)"
                )
            else:
                out.append(f"{key}: {old_run.get(key)!r} there, {new_run.get(key)!r} now")
    for name, chash in new["methods"].items():
        old = stored.get("methods", {}).get(name)
        if name in started and old is not None and old != chash:
            out.append(f"{name} config hash: {old} there, {chash} now (see {name}/config.yaml there)")
    return out


def check_identity(store: RunStore, identity: Mapping[str, Any]) -> None:
    """Refuse (RunIdentityError) if the folder holds task results of a run with another
    identity; else record `identity` (merged with the methods recorded earlier)."""
    found = _stored(store)
    started = {name for name, _ in store.started_tasks()}
    if found is not None and started:
        stored, fields = found
        diff = differences(stored, identity, fields, started)
        if diff:
            n = len(store.started_tasks())
            raise RunIdentityError(
                f"run folder {store.root} holds results of another run ({n} task(s) started or finished), "
                "which differs in:\n  - "
                + "\n  - ".join(diff)
                + "\nResults of different runs are never mixed: "
                "pass --run-name NEW_NAME (or another --out) to keep both runs, or delete "
                f"{store.root} to redo it with these settings."
            )
        methods = {**stored.get("methods", {}), **identity["methods"]}
    else:
        methods = dict(identity["methods"])
    write_json_atomic(store.identity_path, {"run": identity["run"], "methods": methods})
