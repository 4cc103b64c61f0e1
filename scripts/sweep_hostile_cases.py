"""The bad-input sweep's cases for issue 25: hostile model files, JSON side files, outputs, environments.

`build(folder)` makes the fixtures (with `hostile_files`); `add_cases(add, ws, fixtures, i, d)` adds the
cases through the sweep's `add(name, argv, expect, **extra)`. Every case of the sweep watches its own
marker for code execution, so nothing here names a marker.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import hostile_files as hostile
import numpy as np

LONG_NAME = "n" * 300 + ".png"


def build(folder: Path) -> dict[str, Path]:
    """Hostile models, classes files, checkpoint folders and caches under `folder`."""
    import keras
    from keras import layers

    from cnnviz.core.paths import default_model_path

    shipped = default_model_path()
    folder.mkdir(parents=True, exist_ok=True)
    f = {}

    def config(name, content):
        f[name] = hostile.keras_with_config(folder / name, shipped, content)

    config("deep_config.keras", hostile.nested_config(100_000))
    config("list_config.keras", b"[1, 2, 3]")
    with_nan = json.dumps(hostile.stored_config(shipped)).replace('"units": 64', '"units": NaN', 1)
    config("nan_config.keras", with_nan.encode())
    config("dense_400000.keras", hostile.with_dense_units(shipped, 400_000))
    config("layers_10000.keras", hostile.with_many_layers(shipped, 10_000))
    for where in ("layer", "activation", "registered", "nested"):
        config(f"module_{where}.keras", hostile.naming_module(shipped, where))
    config("nested_lambda_config.keras", hostile.with_lambda_in_nested_model(shipped))
    f["dotdot_member.keras"] = hostile.keras_with_member(folder / "dotdot_member.keras", shipped, "../../evil.txt")
    f["absolute_member.keras"] = hostile.keras_with_member(folder / "absolute_member.keras", shipped, "/tmp/evil.txt")
    f["weights_bomb.keras"] = hostile.keras_weights_bomb(folder / "weights_bomb.keras", shipped, gigabytes=1.0)

    # Real Keras saves whose Lambda would create the case's marker if it ever ran.
    touch = hostile.lambda_touching_marker()
    inner = keras.Sequential([keras.Input((28, 28, 1)), layers.Lambda(touch, name="hidden")], name="inner")
    grey = keras.Input((28, 28, 1))
    nested = keras.Model(grey, layers.Dense(10, activation="softmax")(layers.Flatten()(inner(grey))))
    nested.save(folder / "nested_lambda.keras")
    f["nested_lambda.keras"] = folder / "nested_lambda.keras"
    plain = keras.Sequential([keras.Input((28, 28, 1)), layers.Flatten(), layers.Dense(10, activation="softmax")])
    plain.save(folder / "plain.h5")
    f["external_link.h5"] = hostile.h5_model(folder / "external_link.h5", folder / "plain.h5",
                                             hostile.h5_external_link("/etc/passwd"))
    f["huge_dataset.h5"] = hostile.h5_model(folder / "huge_dataset.h5", folder / "plain.h5", hostile.h5_huge_dataset())
    f["deep_config.h5"] = hostile.h5_model(folder / "deep_config.h5", folder / "plain.h5",
                                           hostile.h5_set_config(hostile.nested_config(100_000)))
    escape = "\x1b]0;owned\x07\x1b[2J"
    named = keras.Sequential([keras.Input((28, 28, 1)), layers.Flatten(name=f"flat{escape}"),
                              layers.Dense(10, activation="softmax", name=f"out{escape}")])
    named.save(folder / "escape_names.keras")
    f["escape_names.keras"] = folder / "escape_names.keras"

    # Class-name files beside copies of the shipped model.
    for name, content in (("classes_deep", hostile.nested_json(100_000, b'"a"')), ("classes_nan", b'["a", NaN]'),
                          ("classes_dict", b'{"0": "zero"}'), ("classes_truncated", b'["0", "1"'),
                          ("classes_escapes", json.dumps([f"\x1b[31m{d}\x1b]0;t\x07" for d in range(10)]).encode())):
        shutil.copy(shipped, folder / f"{name}.keras")
        (folder / f"{name}.classes.json").write_bytes(content)
        f[name] = folder / f"{name}.keras"

    # checkpoints.json variants, each in a folder with one real checkpoint file.
    good = {"format": "cnnviz-checkpoints", "version": 1, "status": "finished", "training": {},
            "checkpoints": [{"file": "epoch_01.keras", "epoch": 1, "batch": 0, "digits_seen": 60000,
                             "position": 1.0, "train_loss": 0.1, "train_accuracy": 0.9, "test_loss": 0.1,
                             "test_accuracy": 0.9}]}
    variants = {"deep": hostile.nested_json(100_000), "nan": json.dumps(good).replace("0.9}", "NaN}").encode(),
                "huge_number": json.dumps(good).replace('"position": 1.0', '"position": 1e999').encode(),
                "list": b"[]", "not_json": b"{",
                "dotdot_file": json.dumps(good).replace("epoch_01", "../epoch_01").encode()}
    for name, content in variants.items():
        target = folder / f"checkpoints_{name}"
        target.mkdir()
        shutil.copy(shipped, target / "epoch_01.keras")
        (target / "checkpoints.json").write_bytes(content)
        f[f"checkpoints_{name}"] = target

    f["own.keras"] = folder / "own.keras"
    shutil.copy(shipped, f["own.keras"])
    return f


def poisoned_caches(folder: Path, mnist_cache: Path) -> dict[str, Path]:
    """Cache folders whose filter-pattern entry for the shipped model's conv2d_1 (2 steps) is poisoned."""
    from cnnviz.core.filter_patterns import PatternSettings, pattern_cache_path
    from cnnviz.core.model import load_model
    from cnnviz.core.paths import default_model_path

    model = load_model(default_model_path())
    caches = {}
    poisons = {"declares_4tb": lambda p: hostile.npz_declaring(p, "patterns", (2**20, 2**20)),
               "wrong_key": lambda p: hostile.npz_of(p, other=np.zeros(3, np.float32)),
               "wrong_shape": lambda p: hostile.npz_of(p, patterns=np.zeros((3, 28), np.float32)),
               "nan": lambda p: hostile.npz_of(p, patterns=np.full((32, 28, 28), np.nan, np.float32)),
               "not_zip": lambda p: p.write_bytes(b"PK\x03\x04 corrupted")}
    saved = os.environ.get("CNNVIZ_CACHE_DIR")
    for name, poison in poisons.items():
        cache = folder / f"cache_{name}"
        cache.mkdir(parents=True)
        os.symlink(mnist_cache, cache / "mnist.npz")
        os.environ["CNNVIZ_CACHE_DIR"] = str(cache)
        path = pattern_cache_path(model, "conv2d_1", PatternSettings(steps=2))
        path.parent.mkdir(parents=True, exist_ok=True)
        poison(path)
        caches[name] = cache
    if saved is None:
        os.environ.pop("CNNVIZ_CACHE_DIR", None)
    else:
        os.environ["CNNVIZ_CACHE_DIR"] = saved
    return caches


def patterns_are_sound(folder: Path):
    """A check for `filters`: patterns.npy holds 32 finite patterns in [0, 1]."""
    def check(stdout: str) -> bool:
        try:
            patterns = np.load(folder / "patterns.npy", allow_pickle=False)
        except (OSError, ValueError):
            return False
        return patterns.shape == (32, 28, 28) and bool(np.isfinite(patterns).all()) and 0 <= patterns.min() \
            and patterns.max() <= 1
    return check


def add_cases(add, ws: Path, h: dict, i: dict, d: dict, caches: dict, env_dirs: dict) -> None:
    """Issue 25's classes, through the commands that read or write them."""
    out = ws / "out"
    good = i["digit.png"]

    for key in ("deep_config.keras", "list_config.keras", "nan_config.keras", "dense_400000.keras",
                "layers_10000.keras", "module_layer.keras", "module_activation.keras", "module_registered.keras",
                "module_nested.keras", "nested_lambda_config.keras", "dotdot_member.keras", "absolute_member.keras",
                "weights_bomb.keras", "nested_lambda.keras", "external_link.h5", "huge_dataset.h5", "deep_config.h5"):
        add(f"summary --model {key}", ["summary", "--model", h[key]])
    for key in ("dense_400000.keras", "module_activation.keras", "nested_lambda.keras", "weights_bomb.keras"):
        add(f"predict --model {key}", ["predict", good, "--model", h[key]])
    add("summary --model escape_names.keras (names printed escaped)", ["summary", "--model", h["escape_names.keras"]],
        "accept")
    for key in ("classes_deep", "classes_nan", "classes_dict", "classes_truncated"):
        add(f"predict --model with {key}.classes.json", ["predict", good, "--model", h[key]])
    add("predict --model with classes_escapes.classes.json (printed escaped)",
        ["predict", good, "--model", h["classes_escapes"]], "accept")
    for key in ("deep", "nan", "huge_number", "list", "not_json", "dotdot_file"):
        add(f"evaluate --checkpoints with checkpoints.json {key}", ["evaluate", "--json", "--checkpoints",
                                                                    h[f"checkpoints_{key}"]])

    # Outputs that must never be replaced or written through.
    fifo, link_to_model, link_to_null = ws / "targets" / "out.fifo", ws / "targets" / "link_model.png", \
        ws / "targets" / "link_null.png"
    dangling = ws / "targets" / "dangling.png"
    for flags, name in ((["--out", "/dev/null"], "attribution --out /dev/null"),
                        (["--out", out / "a_npy.png", "--npy", "/dev/null"], "attribution --npy /dev/null"),
                        (["--out", fifo], "attribution --out a FIFO"),
                        (["--out", link_to_null], "attribution --out a link to /dev/null"),
                        (["--out", dangling], "attribution --out a dangling link"),
                        (["--out", out / LONG_NAME], "attribution --out a 304-byte file name"),
                        (["--out", out / "x" / LONG_NAME / "a.png"], "attribution --out below a 300-byte folder name")):
        add(name, ["attribution", "--test-index", "0", *flags])
    add("attribution --model own.keras --out own.keras", ["attribution", "--model", h["own.keras"], "--test-index", "0",
                                                          "--out", h["own.keras"]])
    add("attribution --out a link to its own --model", ["attribution", "--model", h["own.keras"], "--test-index", "0",
                                                        "--out", link_to_model], guards=[h["own.keras"]])
    add("attribution --image a.png --out a.png", ["attribution", "--image", i["copy.png"], "--out", i["copy.png"]])
    add("train --history /dev/null", ["train", "--limit", "200", "--out", out / "t.keras", "--history", "/dev/null"])
    add("train --history a FIFO", ["train", "--limit", "200", "--out", out / "t.keras", "--history", fifo])
    add("train --out a 304-byte name", ["train", "--limit", "200", "--out", out / ("m" * 298 + ".keras")])
    add("compare --out /dev/null", ["compare", "--limit", "100", "--epochs", "1", "--out", "/dev/null"])
    add("compare --out the --data file", ["compare", "--limit", "100", "--epochs", "1", "--data", d["missing_keys.npz"],
                                          "--out", d["missing_keys.npz"]])
    add("export --out / --overwrite", ["export", "--test-index", "0", "--out", "/", "--overwrite"])
    add("export --out /dev/null", ["export", "--test-index", "0", "--out", "/dev/null"])
    add("export --out a 300-byte folder name", ["export", "--test-index", "0", "--out", out / LONG_NAME])
    add("export --out the folder holding its --image", ["export", "--image", i["in_folder.png"], "--out",
                                                        i["in_folder.png"].parent, "--overwrite"])
    add("filters --out /dev/null", ["filters", "--layer", "conv2d_1", "--steps", "2", "--out", "/dev/null"])
    add("predict a 304-byte file name", ["predict", out / LONG_NAME])
    for number in ("1e20", "100000000000000000000", "2147483648"):
        add(f"train --steps-per-execution {number}", ["train", "--steps-per-execution", number, "--out",
                                                      out / "spe.keras"])
    add("unit --top 100000000000000000000", ["unit", "--test-index", "0", "--layer", "conv2d_1", "--channel", "0",
                                             "--top", "100000000000000000000"])

    # A full disk (the file size limit): the write fails, nothing is left, nothing is lost.
    full = {"fsize": 64 * 1024}
    add("attribution, disk full while writing", ["attribution", "--test-index", "0", "--scale", "40", "--out",
                                                 out / "full.png"], limits=full)
    add("export, disk full while writing", ["export", "--test-index", "0", "--out", out / "full_export"], limits=full)
    add("train, disk full while saving", ["train", "--limit", "640", "--epochs", "1", "--out", out / "full.keras"],
        limits=full)

    # A 2 GiB --data file, poisoned filter-pattern caches (recomputed: accepted and correct).
    add("data --data a 2 GiB .pkl.gz", ["data", "--data", d["sparse_2gib.pkl.gz"]])
    add("train --data a 2 GiB .pkl.gz", ["train", "--data", d["sparse_2gib.pkl.gz"], "--out", out / "big.keras"])
    for name, cache in caches.items():
        folder = out / f"filters_{name}"
        add(f"filters with a poisoned cache entry ({name}): recomputed", ["filters", "--layer", "conv2d_1", "--steps",
                                                                         "2", "--out", folder], "accept",
            env={"CNNVIZ_CACHE_DIR": str(cache)}, check=patterns_are_sound(folder))

    # Unreadable inputs and read-only outputs, as a user who is not root.
    for key, argv in (("unreadable.keras", ["summary", "--model", i["unreadable.keras"]]),
                      ("unreadable.png", ["predict", i["unreadable.png"]]),
                      ("unreadable.npz", ["data", "--data", i["unreadable.npz"]])):
        add(f"{argv[0]} {key} (not root)", argv, user=True)
    add("attribution --out in a read-only folder (not root)", ["attribution", "--image", good, "--out",
                                                               env_dirs["read_only"] / "a.png"], user=True)
    add("train --out in a read-only folder (not root)", ["train", "--data", i["mnist_copy.npz"], "--limit", "200",
                                                         "--out", env_dirs["read_only"] / "m.keras"], user=True)

    # Environment faults.
    add("predict, HOME unset", ["predict", good], "accept", env={"HOME": None})
    add("attribution, HOME unset (matplotlib)", ["attribution", "--test-index", "0", "--out", out / "nohome.png"],
        "accept", env={"HOME": None, "MPLCONFIGDIR": None})
    add("predict, HOME read-only (not root)", ["predict", good], "accept", user=True,
        env={"HOME": str(env_dirs["read_only"])})
    add("data, XDG_CACHE_HOME is a file", ["data"],
        env={"CNNVIZ_CACHE_DIR": None, "XDG_CACHE_HOME": str(env_dirs["file"]), "KERAS_HOME": str(env_dirs["empty"])})
    add("data, CNNVIZ_CACHE_DIR is a file", ["data"], env={"CNNVIZ_CACHE_DIR": str(env_dirs["file"]),
                                                           "KERAS_HOME": str(env_dirs["empty"])})
    add("data, a truncated cached dataset", ["data"], env={"CNNVIZ_CACHE_DIR": str(env_dirs["truncated_cache"]),
                                                           "KERAS_HOME": str(env_dirs["empty"])})


def build_outputs_and_environment(ws: Path, i: dict, d: dict, mnist_cache: Path) -> dict:
    """FIFOs, links, read-only and unreadable files, and environment folders the cases above use."""
    targets = ws / "targets"
    targets.mkdir(exist_ok=True)
    os.mkfifo(targets / "out.fifo")
    os.symlink(ws / "fixtures" / "hostile" / "own.keras", targets / "link_model.png")
    os.symlink("/dev/null", targets / "link_null.png")
    os.symlink(ws / "nowhere" / "x.png", targets / "dangling.png")
    shutil.copy(i["digit.png"], i.setdefault("copy.png", ws / "fixtures" / "images" / "copy.png"))
    holder = ws / "fixtures" / "image_holder"
    holder.mkdir()
    shutil.copy(i["digit.png"], holder / "in_folder.png")
    i["in_folder.png"] = holder / "in_folder.png"
    d["sparse_2gib.pkl.gz"] = hostile.sparse_file(ws / "fixtures" / "data" / "sparse_2gib.pkl.gz", 2 * 2**30)
    private = ws / "fixtures" / "private"
    private.mkdir()
    for name, source in (("unreadable.keras", None), ("unreadable.png", i["digit.png"]),
                         ("unreadable.npz", mnist_cache)):
        from cnnviz.core.paths import default_model_path

        shutil.copy(source or default_model_path(), private / name)
        os.chmod(private / name, 0)
        i[name] = private / name
    shutil.copy(mnist_cache, private / "mnist_copy.npz")
    os.chmod(private / "mnist_copy.npz", 0o644)
    i["mnist_copy.npz"] = private / "mnist_copy.npz"
    env = {"read_only": ws / "env" / "read_only", "empty": ws / "env" / "empty", "file": ws / "env" / "a_file",
           "truncated_cache": ws / "env" / "truncated_cache"}
    for key in ("read_only", "empty", "truncated_cache"):
        env[key].mkdir(parents=True)
    env["file"].write_text("a file where a folder should be\n")
    (env["truncated_cache"] / "mnist.npz").write_bytes(Path(mnist_cache).read_bytes()[:4096])
    os.chmod(env["read_only"], stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
    return env
