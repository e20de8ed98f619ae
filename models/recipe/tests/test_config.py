"""A training config's mistakes are refused with the file, the line and the key; good configs
(every one committed) load; --no-augment turns augmentation off."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

RECIPE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(RECIPE))

import recipe  # noqa: E402
from actiond_recipe import augment, config, train, train_temporal  # noqa: E402

DEFAULTS = {**train_temporal.DEFAULTS, **train.DEFAULTS}


def refusal(tmp_path, text: str) -> str:
    path = tmp_path / "mine.json"
    path.write_text(text)
    with pytest.raises(config.ConfigError) as e:
        config.load(path, DEFAULTS)
    return str(e.value).replace(str(path), "mine.json")


@pytest.mark.parametrize("text, said", [
    ('{"augment": \n', "mine.json:2:1: not JSON: Expecting value"),
    ("[1, 2]", "mine.json: a config is a JSON object of settings, got list"),
    ('{\n "hidden": 0,\n "learning_rat": 1e-3\n}', 'mine.json:3: unknown setting "learning_rat" (did you mean '
                                                   '"learning_rate"?)'),
    ('{"size": "big"}', 'mine.json:1: "size" must be a whole number, got "big"'),
    ('{"epochs": 2.5}', 'mine.json:1: "epochs" must be a whole number, got 2.5'),
    ('{"learning_rate": "1e-3"}', 'mine.json:1: "learning_rate" must be a number, got "1e-3"'),
    ('{"max_minutes": "60"}', 'mine.json:1: "max_minutes" must be a number, got "60"'),
    ('{"test_groups": "761-800"}', 'mine.json:1: "test_groups" must be a list, got "761-800"'),
    ('{"val_groups": [741, "760"]}', 'mine.json:1: "val_groups" must be a list of group numbers'),
    ('{"smoothing": {"method": "median", "window": 8, "stride": 4}}', 'mine.json:1: "smoothing" must be {"method": '),
    ('{"smoothing": {"method": "mean", "window": 0, "stride": 4}}', 'mine.json:1: "smoothing" must be {"method": '),
    ('{"augment": {"ops": [], "random_order": true}}', 'mine.json:1: "augment": unknown key "random_order"'),
    ('{"augment": [1]}', 'mine.json:1: "augment" must be false or an object with an "ops" list'),
    ('{\n "augment": {"ops": [\n  {"name": "hflip"},\n  {"name": "blur",\n   "sigm": [0, 1]}\n ]}\n}',
     'mine.json:5: "augment": augmentation blur: unknown parameter "sigm" (did you mean "sigma"?); '
     "blur reads methods, sigma, average_k, median_k and p"),
    ('{"augment": {"ops": [\n {"name": "add", "p": 0.5},\n {"name": "some_of", "ops": [\n'
     '  {"name": "low_resolution",\n   "p": 2}]}]}}', 'mine.json:5: "augment": augmentation low_resolution: '
                                                     "p must be a number in [0, 1], got 2"),
    ('{"augment": {"ops": [\n {"name": "hflip"},\n {"name": "lowres"}]}}',
     "mine.json:3: \"augment\": unknown augmentation 'lowres'"),
    ('{"augment": {"ops": [\n {"name": "hflip", "q": 1}]}}',
     'mine.json:2: "augment": augmentation hflip: unknown parameter "q"; hflip reads only p'),
    ('{"augment": {"ops": [\n {"name": "hflip"},\n {"name": "blur",\n  "sigma": [1.0]}]}}',
     'mine.json:4: "augment": augmentation blur: "sigma" must be a number or [low, high], got [1.0]'),
    ('{"augment": {"ops": [\n {"name": "low_resolution", "factor": [0, 0.5]}]}}',
     'mine.json:2: "augment": augmentation low_resolution: factor must be in (0, 1], got 0.0'),
])
def test_a_mistake_is_refused_with_the_line_and_the_key(tmp_path, text, said):
    assert refusal(tmp_path, text).startswith(said)


def test_every_null_default_has_a_kind():
    # A setting whose default is null is type-checked by NULL_DEFAULT_KINDS; one left out of it
    # would take any value.
    assert {k for k, v in DEFAULTS.items() if v is None} == set(config.NULL_DEFAULT_KINDS)


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(config.ConfigError, match=r"nothere.json: cannot read the config: No such file"):
        config.load(tmp_path / "nothere.json", DEFAULTS)


def test_every_committed_config_loads():
    """The people configs, each attempt's run config and every run's recorded training_config.json
    (a key that only the other trainer reads, such as "hidden", is accepted)."""
    root = RECIPE.parents[1]
    files = subprocess.run(["git", "ls-files", "*.json"], cwd=root, capture_output=True, text=True,
                           check=True).stdout.split()
    loaded = 0
    for f in files:
        if Path(f).name in ("training_config.json", "config.json") or Path(f).parent == Path("models/recipe/people"):
            if "augment" in json.loads((root / f).read_text()):
                config.load(root / f, DEFAULTS)
                loaded += 1
    assert loaded >= 60  # 70 today: a change that stopped finding them would check nothing


def test_augment_false_or_null_loads(tmp_path):
    for text in ('{"augment": false, "hidden": 0}', '{"augment": null}'):
        (tmp_path / "c.json").write_text(text)
        config.load(tmp_path / "c.json", DEFAULTS)


def test_no_augment_turns_augmentation_off():
    """--no-augment reached the trainers as None, which they read as "the default augmentations"."""
    for command in ("train", "train-temporal"):
        a = recipe.parser().parse_args([command, "--data", "d", "--out", "o", "--no-augment"])
        cfg = config.settings(train.DEFAULTS, recipe.training_config(a, ()))
        assert augment.from_config(cfg["augment"]) is None
    a = recipe.parser().parse_args(["train-temporal", "--data", "d", "--out", "o"])
    cfg = config.settings(train_temporal.DEFAULTS, recipe.training_config(a, ()))
    assert augment.from_config(cfg["augment"]) is not None
