"""A training config file (`--config`, JSON) read so that a mistake in it is refused before
TensorFlow loads, as `file:line: message` naming the key: a file that is not JSON or not an
object, a setting neither trainer has (with the nearest one), a value of the wrong type (group
lists and the smoothing, read only after training, in full), and an augmentation that is
unknown, has an unknown parameter or a range no draw survives."""

from __future__ import annotations

import copy
import difflib
import json
import re
from pathlib import Path

from . import augment


class ConfigError(Exception):
    """A refused config file; the message names the file, and the line where one is known."""


def line_of(text: str, key: str, value: str | None = None, after: int = 0) -> int | None:
    """The line of the first `"key":` (followed by the string `value`, when given) in `text`, from
    the line `after` on when that has one."""
    rx = re.compile(r'"' + re.escape(key) + r'"\s*:' + (r'\s*"' + re.escape(value) + r'"' if value is not None else ""))
    start = len("".join(text.splitlines(keepends=True)[:max(after - 1, 0)]))
    m = rx.search(text, start) or rx.search(text)
    return text.count("\n", 0, m.start()) + 1 if m else None


def _where(path: Path, line: int | None) -> str:
    return f"{path}:{line}" if line else str(path)


# A value of the kind of each setting whose default is null (the others go by their default's).
NULL_DEFAULT_KINDS = {"name": "", "weights": "", "init_from": "", "init_from_frame": "", "split_dir": "",
                      "max_minutes": 0.0, "from_onset": 0.0, "init_from_expand": 0.0,
                      "test_groups": [], "val_groups": [], "train_groups": []}

_KINDS = ((bool, "true or false"), (int, "a whole number"), (float, "a number"), (str, "a string"),
          (dict, "an object"), (list, "a list"))


def _whole(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _type_problem(value, default) -> str | None:
    """What `value` should be, when it is not of `default`'s kind (null means the default)."""
    if value is None or default is None:
        return None
    for kind, said in _KINDS:
        if isinstance(default, kind):
            if kind is float:
                ok = isinstance(value, float) or _whole(value)
            elif kind is int:
                ok = _whole(value)
            else:
                ok = isinstance(value, kind)
            return None if ok else said
    return None


def _content_problem(key: str, value) -> str | None:
    """What a group list or the smoothing should be, when it is not (they are read after training)."""
    if key.endswith("_groups") and isinstance(value, list) and not all(_whole(g) for g in value):
        return "a list of group numbers"
    if key == "smoothing" and isinstance(value, dict) and not (
            set(value) == {"method", "window", "stride"} and value["method"] in ("mean", "ema")
            and all(_whole(value[k]) and value[k] >= 1 for k in ("window", "stride"))):
        return '{"method": "mean" or "ema", "window": frames, "stride": frames}'
    return None


def load(path: Path, defaults: dict) -> dict:
    """The settings in `path`, each a key of `defaults` (the trainers' settings: one config file
    serves both `train` and `train-temporal`, so a key only the other one reads is accepted) with
    a value of its default's kind; "augment" is false (off), null (the default) or checked in full."""
    try:
        text = Path(path).read_text()
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the config: {e.strerror or e}") from e
    try:
        cfg = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError(f"{path}:{e.lineno}:{e.colno}: not JSON: {e.msg}") from e
    if not isinstance(cfg, dict):
        raise ConfigError(f"{path}: a config is a JSON object of settings, got {type(cfg).__name__}")
    for key, value in cfg.items():
        if key not in defaults:
            near = difflib.get_close_matches(key, list(defaults), n=1)
            hint = f' (did you mean "{near[0]}"?)' if near else ""
            raise ConfigError(f'{_where(path, line_of(text, key))}: unknown setting "{key}"{hint}; the settings are '
                              "the keys of DEFAULTS in actiond_recipe/train.py and train_temporal.py")
        if key == "augment":
            continue
        default = defaults[key] if defaults[key] is not None else NULL_DEFAULT_KINDS.get(key)
        said = _type_problem(value, default) or _content_problem(key, value)
        if said:
            raise ConfigError(f'{_where(path, line_of(text, key))}: "{key}" must be {said}, got {json.dumps(value)}')
    check_augment(path, text, cfg.get("augment"))
    return cfg


def check_augment(path: Path, text: str, value) -> None:
    """Refuses an "augment" that is not false, null or {"ops": [...], "choose": ...} with every op
    known, its parameters known and its ranges drawable (augment.Augmenter's checks)."""
    if value is None or value is False:
        return
    where = _where(path, line_of(text, "augment"))
    if not isinstance(value, dict) or not isinstance(value.get("ops"), list):
        raise ConfigError(f'{where}: "augment" must be false or an object with an "ops" list')
    for key in value:
        if key not in ("ops", "choose"):
            raise ConfigError(f'{_where(path, line_of(text, key))}: "augment": unknown key "{key}"; it takes '
                              '"ops" and "choose"')
    try:
        augment.from_config(value)
    except augment.AugmentError as e:
        op_line = line_of(text, "name", e.op) if e.op else None  # the op's first use
        line = line_of(text, e.key, after=op_line or 0) if e.key else op_line
        raise ConfigError(f'{_where(path, line or line_of(text, "augment"))}: "augment": {e}') from e
    except (ValueError, TypeError, AttributeError) as e:
        raise ConfigError(f'{where}: "augment": {e}') from e


def settings(defaults: dict, cfg: dict) -> dict:
    """`defaults` overridden by each value of `cfg` that is not None (null in the file, or an
    option not given); `"augment": false` stays false (off)."""
    return {**copy.deepcopy(defaults), **{k: v for k, v in cfg.items() if v is not None}}
