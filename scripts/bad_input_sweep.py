"""Bad-input sweep (issues 15 and 25): run cnnviz on a few hundred bad or edge-case inputs and report how each ended.

Every case runs `python -m cnnviz ...` in its own process with a timeout, in a scratch workspace
of prepared files (corrupt, truncated and hostile models, images, datasets, JSON side files and
caches; folders that an overwrite must not touch; FIFOs, devices and links as outputs; unreadable
inputs and read-only folders, run as a user who is not root; a full disk, as a file size limit;
broken environments). For each case the table shows the exit code, the last line of stderr, the
process's peak memory (VmHWM from /proc, polled while it runs) and its verdict.

The sweep cannot pass by accident: a case expected to be refused that exits 0 fails the verdict
(and one expected to be accepted that fails, or whose output a check finds wrong); every case has
its own marker file that any code from a hostile file would create (`hostile_files`: shell and
Python payloads, a module on PYTHONPATH that configs name), so `--jobs > 1` cases share nothing;
"data lost" fingerprints every existing path on the command line, the files its parents turn out
to be, the targets of its links, the case's own guards, the shipped models and the data caches;
every case gets its own TMPDIR and anything left in it (or a temporary beside an output) counts;
raw terminal escapes in the output count; and the memory bound (1 GB over a plain `cnnviz
summary`) applies to every case, accepted ones too. The totals: cases, clear errors,
accepted-and-correct, tracebacks, data lost, code run, temporary files left, unescaped output,
unexpected outcomes, peak memory over the baseline.

    .venv/bin/python scripts/bad_input_sweep.py              # all cases, one at a time
    .venv/bin/python scripts/bad_input_sweep.py --only export --jobs 2
    .venv/bin/python scripts/bad_input_sweep.py --list       # the cases, without running them

Exit status 0 when the targets are met. Needs MNIST in the cache (`cnnviz data --fetch`).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import gzip
import io
import os
import pickle
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile
import zlib
from pathlib import Path

import hostile_files as hostile
import numpy as np
import sweep_hostile_cases
from bad_input_case import Case
from sweep_runner import leftover_temporaries, report, run_case, sweep_user

# --- fixtures ------------------------------------------------------------------------------------

def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_of_zero_rows(path: Path, width: int, height: int) -> Path:
    """A grey PNG of `height` rows of `width` zero bytes, compressed as it is written (a 'bomb')."""
    compressor = zlib.compressobj(9)
    row = b"\0" * (width + 1)
    parts = [compressor.compress(row) for _ in range(height)]
    data = b"".join(parts) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", data)
                     + png_chunk(b"IEND", b""))
    return path


def png_declaring(path: Path, width: int, height: int) -> Path:
    """A PNG whose header declares width × height but that holds almost nothing."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + png_chunk(b"IEND", b""))
    return path


def bmp_of(path: Path, width: int, height: int, stored_rows: int | None = None) -> Path:
    """A 24-bit BMP of black pixels (`stored_rows` rows of data actually written, default all)."""
    row = (width * 3 + 3) & ~3
    rows = height if stored_rows is None else stored_rows
    header = struct.pack("<2sIHHI", b"BM", 54 + row * height, 0, 0, 54)
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, row * height, 2835, 2835, 0, 0)
    with open(path, "wb") as stream:
        stream.write(header + info)
        block = b"\0" * row
        for _ in range(rows):
            stream.write(block)
    return path


def patched(source: bytes, offset: int, fmt: str, *values) -> bytes:
    data = bytearray(source)
    struct.pack_into(fmt, data, offset, *values)
    return bytes(data)


class _RunsCode:
    """Unpickling this creates the case's marker (`touch "$CNNVIZ_SWEEP_MARKER"`; cnnviz must never unpickle it)."""

    def __reduce__(self):
        return os.system, (f'touch "${hostile.MARKER_VARIABLE}"',)


def gz_pickle(path: Path, value) -> Path:
    with gzip.open(path, "wb") as stream:
        pickle.dump(value, stream)
    return path


def npz_declaring(path: Path, shape: tuple) -> Path:
    """An .npz in Keras's layout whose x_train header declares `shape` but stores a few bytes."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "|u1", "fortran_order": False, "shape": shape})
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("x_train.npy", header.getvalue() + b"\0" * 16)
        for key, size in (("y_train", 60_000), ("x_test", 10_000), ("y_test", 10_000)):
            buffer = io.BytesIO()
            np.save(buffer, np.zeros((size, 28, 28) if key == "x_test" else size, np.uint8))
            archive.writestr(f"{key}.npy", buffer.getvalue())
    return path


def build_models(folder: Path) -> dict[str, Path]:
    """Model files: valid ones of other kinds, and models cnnviz must refuse or warn about."""
    import logging

    import keras
    from keras import layers

    from cnnviz.core.paths import default_model_path

    logging.getLogger("absl").setLevel(logging.ERROR)  # no "HDF5 is legacy" notes: the .h5 files are on purpose
    keras.utils.set_random_seed(0)
    shipped = default_model_path()
    paths = {"shipped": shipped}

    def save(name: str, model) -> None:
        paths[name] = folder / name
        model.save(paths[name])

    def image(shape=(28, 28, 1)):
        return keras.Input(shape)

    grey = image()
    flat = layers.Flatten()(grey)
    save("two_outputs.keras", keras.Model(grey, [layers.Dense(10, activation="softmax")(flat),
                                                 layers.Dense(2, activation="softmax")(flat)]))
    lam = keras.Sequential([image(), layers.Lambda(hostile.lambda_touching_marker(), name="double"), layers.Flatten(),
                            layers.Dense(10, activation="softmax")])
    save("lambda.keras", lam)
    save("lambda.h5", lam)
    logits = keras.Sequential([image(), layers.Conv2D(4, 3), layers.Flatten(), layers.Dense(10)])
    save("logits.keras", logits)
    save("legacy.h5", logits)
    save("tiny_input.keras",
         keras.Sequential([image((4, 4, 1)), layers.Flatten(), layers.Dense(3, activation="softmax")]))
    save("any_size.keras",
         keras.Sequential([image((None, None, 1)), layers.Conv2D(2, 1), layers.GlobalAveragePooling2D(),
                           layers.Dense(3, activation="softmax")]))
    save("one_class.keras", keras.Sequential([image(), layers.Flatten(), layers.Dense(1, activation="softmax")]))
    save("rgb64.keras", keras.Sequential([image((64, 64, 3)), layers.Conv2D(4, 3, activation="relu"),
                                          layers.GlobalAveragePooling2D(), layers.Dense(5, activation="softmax")]))
    for name, bad in (("nan.keras", np.nan), ("inf.keras", np.inf)):
        model = keras.models.clone_model(logits)
        weights = [w.copy() for w in logits.get_weights()]
        weights[0][0, 0, 0, 0] = bad
        model.set_weights(weights)
        save(name, model)
    data = shipped.read_bytes()
    for name, content in (("empty.keras", b""), ("text.keras", b"not a model\n"),
                          ("random.keras", np.random.default_rng(0).bytes(50_000)),
                          ("truncated.keras", data[: len(data) // 2]), ("header_only.keras", data[:64])):
        paths[name] = folder / name
        paths[name].write_bytes(content)
    junk = folder / "junk_zip.keras"
    with zipfile.ZipFile(junk, "w") as archive:
        archive.writestr("readme.txt", "a zip, but no model inside")
    paths["junk_zip.keras"] = junk
    bomb = folder / "config_bomb.keras"   # config.json declared at 1 GB of spaces (1 MB compressed)
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("config.json", "w", force_zip64=True) as stream:
            block = b" " * 2**20
            for _ in range(1024):
                stream.write(block)
        archive.writestr("metadata.json", "{}")
    paths["config_bomb.keras"] = bomb
    (folder / "folder.keras").mkdir()
    paths["folder.keras"] = folder / "folder.keras"
    paths["model.txt"] = folder / "model.txt"
    paths["model.txt"].write_text("hello")
    return paths


def build_images(folder: Path) -> dict[str, Path]:
    """Image files: a real digit in several forms, and pictures built to exhaust memory or confuse readers."""
    from PIL import Image

    from cnnviz.core.data import load_mnist

    seven = load_mnist().x_test[0]
    paths = {}

    def keep(name: str, path: Path | None = None) -> Path:
        paths[name] = path or folder / name
        return paths[name]

    Image.fromarray(255 - seven).save(keep("digit.png"))
    Image.fromarray(255 - seven).save(keep("digit.jpg"), quality=90)
    Image.fromarray(255 - seven).save(keep("digit.gif"))
    Image.fromarray(255 - seven).save(keep("digit.bmp"))
    Image.fromarray(255 - seven).save(keep("digit.webp"))
    Image.fromarray(255 - seven).save(keep("digit.tiff"))
    Image.fromarray(np.full((28, 28), 255, np.uint8)).save(keep("blank.png"))
    rgba = np.zeros((28, 28, 4), np.uint8)
    rgba[..., 3] = seven
    Image.fromarray(rgba, "RGBA").save(keep("alpha_only.png"))
    Image.fromarray((np.asarray(seven, np.uint16) * 257)).save(keep("sixteen_bit.png"))
    Image.fromarray(np.zeros((1, 1), np.uint8)).save(keep("1x1.png"))
    Image.fromarray(np.zeros((1, 28), np.uint8) + 255).save(keep("1x28.png"))
    png_of_zero_rows(keep("1x999999.png"), 999_999, 1)
    png_of_zero_rows(keep("999999x1.png"), 1, 999_999)
    png_of_zero_rows(keep("bomb_30000x30000.png"), 30_000, 30_000)
    png_declaring(keep("declares_100000x100000.png"), 100_000, 100_000)
    png_declaring(keep("declares_0x10.png"), 0, 10)
    bmp_of(keep("1x5000000.bmp"), 5_000_000, 1)
    bmp_of(keep("1x20000000.bmp"), 20_000_000, 1)
    bmp_of(keep("declares_30000x30000.bmp"), 30_000, 30_000, stored_rows=1)
    jpeg = paths["digit.jpg"].read_bytes()
    sof = next(m.start() for m in re.finditer(rb"\xff[\xc0-\xc2]", jpeg))
    keep("declares_60000x60000.jpg").write_bytes(patched(jpeg, sof + 5, ">HH", 60_000, 60_000))
    gif = paths["digit.gif"].read_bytes()
    keep("declares_65535x65535.gif").write_bytes(patched(gif, 6, "<HH", 65_535, 65_535))
    png = paths["digit.png"].read_bytes()
    keep("truncated.png").write_bytes(png[: len(png) // 2])
    keep("header_only.png").write_bytes(png[:33])
    keep("empty.png").write_bytes(b"")
    keep("text.png").write_text("this is not a picture\n")
    keep("random.png").write_bytes(np.random.default_rng(1).bytes(10_000))
    keep("png_named.jpg").write_bytes(png)
    keep("folder.png").mkdir()
    os.mkfifo(keep("fifo.png"))
    os.symlink("loop.png", keep("loop.png"))
    os.symlink(folder / "missing.png", keep("dangling.png"))
    odd = {"non_utf8": os.fsdecode(b"bad\xff name.png"), "tab": "tab\tname.png", "newline": "new\nline.png",
           "dash": "-starts-with-dash.png", "spaces": "  spaced  .png", "unicode": "siebenstellige 7 ✓.png"}
    for key, name in odd.items():
        shutil.copy(paths["digit.png"], keep(key, folder / name))
    return paths


def build_data(folder: Path) -> dict[str, Path]:
    """--data files: hostile pickles, lying .npz and idx files, and files of the wrong kind."""
    paths = {}
    images, labels = np.zeros((2, 784), np.float32), np.zeros(2, np.int64)
    paths["malicious.pkl.gz"] = gz_pickle(folder / "malicious.pkl.gz", _RunsCode())
    paths["nested_malicious.pkl.gz"] = gz_pickle(folder / "nested_malicious.pkl.gz",
                                                 ((images, labels), (images, _RunsCode()), (images, labels)))
    paths["wrong_structure.pkl.gz"] = gz_pickle(folder / "wrong_structure.pkl.gz", {"train": [1, 2, 3]})
    paths["pickle_bomb.pkl.gz"] = folder / "pickle_bomb.pkl.gz"
    with gzip.open(paths["pickle_bomb.pkl.gz"], "wb", compresslevel=9) as stream:
        for _ in range(2048):
            stream.write(b"\0" * 2**20)       # 2 GB of zeros unpacked, 2 MB on disk
    paths["declares_3gb.npz"] = npz_declaring(folder / "declares_3gb.npz", (4_000_000, 28, 28))
    paths["empty.npz"] = folder / "empty.npz"
    paths["empty.npz"].write_bytes(b"")
    paths["text.npz"] = folder / "text.npz"
    paths["text.npz"].write_text("x_train,y_train\n")
    paths["missing_keys.npz"] = folder / "missing_keys.npz"
    np.savez(paths["missing_keys.npz"], x_train=np.zeros((3, 28, 28), np.uint8))
    paths["object.npz"] = folder / "object.npz"
    np.savez(paths["object.npz"], x_train=np.array([{"a": 1}], dtype=object), y_train=np.zeros(1),
             x_test=np.zeros(1), y_test=np.zeros(1))
    idx = folder / "idx_bad"
    idx.mkdir()
    for name, dims in (("train-images-idx3-ubyte", (10**8, 28, 28)), ("train-labels-idx1-ubyte", (60_000,)),
                       ("t10k-images-idx3-ubyte", (10_000, 28, 28)), ("t10k-labels-idx1-ubyte", (10_000,))):
        (idx / name).write_bytes(bytes([0, 0, 8, len(dims)]) + np.array(dims, ">u4").tobytes())
    paths["idx_bad"] = idx
    (folder / "empty_folder").mkdir()
    paths["empty_folder"] = folder / "empty_folder"
    return paths


def build_targets(folder: Path, shipped_export: Path | None) -> dict[str, Path]:
    """Folders and files an output must not damage."""
    paths = {}
    web = folder / "web_project"
    (web / "src").mkdir(parents=True)
    (web / "manifest.json").write_text('{"name": "app", "short_name": "app"}\n')
    (web / "index.html").write_text("<html>mine</html>\n")
    (web / "src" / "app.js").write_text("console.log('mine')\n")
    paths["web_project"] = web
    home = folder / "home_like"
    (home / "Documents").mkdir(parents=True)
    (home / "notes.txt").write_text("precious\n")
    paths["home_like"] = home
    paths["plain_file"] = folder / "plain_file.txt"
    paths["plain_file"].write_text("precious\n")
    paths["existing.keras"] = folder / "existing.keras"
    from cnnviz.core.paths import default_model_path

    shutil.copy(default_model_path(), paths["existing.keras"])
    paths["ckpt_with_others"] = folder / "ckpt_with_others"
    paths["ckpt_with_others"].mkdir()
    (paths["ckpt_with_others"] / "thesis.tex").write_text("precious\n")
    if shipped_export is not None:
        extra = folder / "export_plus_notes"
        shutil.copytree(shipped_export, extra)
        (extra / "my_notes.txt").write_text("precious\n")
        paths["export_plus_notes"] = extra
        paths["export_link"] = folder / "export_link"
        os.symlink(shipped_export, paths["export_link"])
    return paths


# --- cases ---------------------------------------------------------------------------------------

def cases(ws: Path, m: dict, i: dict, d: dict, t: dict) -> list[Case]:
    """The sweep, command by command."""
    out = ws / "out"
    good = str(i["digit.png"])
    found = []

    def add(name, argv, expect="refuse", **extra):
        found.append(Case(name, [str(a) if isinstance(a, Path) else a for a in argv], expect, **extra))

    # Model files, through `summary`, `predict` and `evaluate`.
    for key in ("empty.keras", "text.keras", "random.keras", "truncated.keras", "header_only.keras", "junk_zip.keras",
                "config_bomb.keras", "folder.keras", "model.txt", "two_outputs.keras", "lambda.keras", "lambda.h5",
                "tiny_input.keras", "any_size.keras", "one_class.keras"):
        add(f"summary --model {key}", ["summary", "--model", m[key]])
    add("summary --model missing.keras", ["summary", "--model", ws / "missing.keras"])
    add("summary --model legacy.h5 (valid)", ["summary", "--model", m["legacy.h5"]], "accept")
    add("summary --json --model nan.keras", ["summary", "--json", "--model", m["nan.keras"]], "either")
    add("summary --architecture nope", ["summary", "--architecture", "nope"])
    for key in ("two_outputs.keras", "lambda.h5", "truncated.keras", "folder.keras"):
        add(f"predict --model {key}", ["predict", good, "--model", m[key]])
    add("predict --json --model nan.keras (null, not NaN)",
        ["predict", "--json", good, "--model", m["nan.keras"]], "either")
    add("predict --model inf.keras", ["predict", good, "--model", m["inf.keras"]], "either")
    add("predict --model logits.keras (softmax applied)", ["predict", good, "--model", m["logits.keras"]], "accept")
    add("predict --model rgb64.keras --preprocess digit", ["predict", good, "--model", m["rgb64.keras"],
                                                           "--preprocess", "digit"])
    for key in ("two_outputs.keras", "random.keras", "nan.keras"):
        add(f"evaluate --model {key}", ["evaluate", "--model", m[key]], "either" if key == "nan.keras" else "refuse")

    # Images, through `predict` (and a few through `export`, `unit`, `attribution`).
    for key in ("empty.png", "text.png", "random.png", "truncated.png", "header_only.png", "folder.png", "fifo.png",
                "loop.png", "dangling.png", "digit.webp", "digit.tiff", "1x999999.png", "999999x1.png",
                "bomb_30000x30000.png", "declares_100000x100000.png", "declares_0x10.png", "1x5000000.bmp",
                "1x20000000.bmp", "declares_30000x30000.bmp", "declares_60000x60000.jpg",
                "declares_65535x65535.gif", "1x1.png", "1x28.png", "blank.png"):
        edge = key in ("1x1.png", "1x28.png", "blank.png", "1x999999.png", "999999x1.png", "1x5000000.bmp",
                       "1x20000000.bmp")   # accepted (scaled down first) or "no digit": either is fine
        add(f"predict {key}", ["predict", i[key]], "either" if edge else "refuse")
    for key in ("digit.jpg", "digit.gif", "digit.bmp", "alpha_only.png", "sixteen_bit.png", "png_named.jpg",
                "non_utf8", "tab", "newline", "spaces", "unicode"):
        add(f"predict {key} (valid)", ["predict", i[key]], "accept")
    add("predict ./-starts-with-dash.png (valid)", ["predict", "--", i["dash"]], "accept")
    add("predict non-UTF-8 name, strict stdout", ["predict", i["non_utf8"], good], "accept",
        env={"PYTHONIOENCODING": "utf-8:strict"})
    add("predict bad file among good ones", ["predict", good, i["truncated.png"], good])
    add("predict /dev/zero", ["predict", "/dev/zero"])
    add("predict /dev/null", ["predict", "/dev/null"])
    for spec in ("nope:1", "conv2d_1:999", "conv2d_1:", "conv2d_1:a", "dense_2:0,1,2,3,4,5,6,7,8,9"):
        add(f"predict --ablate {spec}", ["predict", good, "--ablate", spec],
            "either" if spec.startswith("dense_2") else "refuse")

    # Export: targets that must survive, bad numbers, bad layers.
    add("export --overwrite onto a web project with its own manifest.json",
        ["export", "--test-index", "0", "--out", t["web_project"], "--overwrite"], guards=[t["web_project"]])
    add("export --overwrite onto a folder without manifest", ["export", "--test-index", "0", "--out", t["home_like"],
                                                              "--overwrite"])
    if "export_plus_notes" in t:
        add("export --overwrite onto an export holding a user's file",
            ["export", "--test-index", "0", "--out", t["export_plus_notes"], "--overwrite"])
        add("export --overwrite onto a symlink to an export",
            ["export", "--test-index", "0", "--out", t["export_link"], "--overwrite"],
            guards=[t["export_link"].resolve()])
    add("export into a non-empty folder, no --overwrite", ["export", "--test-index", "0", "--out", t["home_like"]])
    add("export --out names a file", ["export", "--test-index", "0", "--out", t["plain_file"]])
    add("export --out below a file", ["export", "--test-index", "0", "--out", t["plain_file"] / "x"])
    for flags in (["--scale", "0"], ["--scale", "65"], ["--scale", "-3"], ["--colormap", "nope"],
                  ["--normalisation", "nope"], ["--figure-format", "gif"], ["--layers", "nope"],
                  ["--layers", "conv2d_1", "--channel", "999"], ["--channel", "0"], ["--test-index", "-1"],
                  ["--test-index", "10000"], ["--test-index", "99999999999999999999"]):
        if "--test-index" in flags:
            argv = ["export", *flags, "--out", out / "e_bad"]
        else:
            argv = ["export", "--test-index", "0", *flags, "--out", out / "e_bad"]
        add(f"export {' '.join(flags)}", argv)
    for key in ("1x999999.png", "bomb_30000x30000.png", "blank.png", "folder.png"):
        add(f"export --image {key}", ["export", "--image", i[key], "--out", out / f"e_{key}"],
            "either" if key == "1x999999.png" else "refuse")
    add("export --model nan.keras", ["export", "--test-index", "0", "--model", m["nan.keras"], "--out", out / "e_nan"])
    add("export --model two_outputs.keras", ["export", "--test-index", "0", "--model", m["two_outputs.keras"],
                                             "--out", out / "e_two"])

    # Train: colliding and impossible outputs, bad numbers, hostile data.
    add("train --history same.keras --out same.keras", ["train", "--history", t["existing.keras"], "--out",
                                                         t["existing.keras"], "--limit", "200", "--epochs", "1"])
    add("train --history h.keras (a model's name for the history)",
        ["train", "--history", ws / "h.keras", "--out", out / "m.keras", "--limit", "200"])
    add("train --out an existing folder", ["train", "--out", m["folder.keras"], "--limit", "200"])
    add("train --out not .keras", ["train", "--out", t["plain_file"], "--limit", "200"])
    add("train --history an existing folder", ["train", "--history", t["home_like"], "--out", out / "m.keras",
                                               "--limit", "200"])
    add("train --out below a file", ["train", "--out", t["plain_file"] / "m.keras", "--limit", "200"])
    add("train --checkpoints same as --out folder", ["train", "--checkpoints", out / "ck", "--out",
                                                     out / "ck" / "m.keras", "--limit", "200"])
    add("train --checkpoints with a user's file", ["train", "--checkpoints", t["ckpt_with_others"], "--out",
                                                  out / "m.keras", "--limit", "200"])
    add("train --checkpoints names a file", ["train", "--checkpoints", t["plain_file"], "--out", out / "m.keras",
                                            "--limit", "200"])
    add("train --history is the --data file", ["train", "--data", d["missing_keys.npz"], "--history",
                                               d["missing_keys.npz"], "--out", out / "m.keras", "--limit", "200"])
    for flags in (["--batch-size", "60000"], ["--batch-size", "0"], ["--batch-size", "-1"], ["--batch-size", "4097"],
                  ["--batch-size", "abc"], ["--limit", "100", "--batch-size", "200"], ["--learning-rate", "inf"],
                  ["--learning-rate", "nan"], ["--learning-rate", "-1"], ["--learning-rate", "0"],
                  ["--learning-rate", "1e309"], ["--seed", "-1"], ["--seed", str(2**32)], ["--seed", str(2**64)],
                  ["--seed", "1.5"], ["--epochs", "0"], ["--limit", "0"], ["--architecture", "nope"],
                  ["--optimizer", "nope"], ["--steps-per-execution", "0"], ["--dataset", "nope"]):
        add(f"train {' '.join(flags)}", ["train", *flags, "--out", out / "m_bad.keras"])
    add("train diverging (sgd, learning rate 1e6)", ["train", "--optimizer", "sgd", "--learning-rate", "1e6",
                                                     "--limit", "640", "--epochs", "1", "--out", out / "m_div.keras"])
    for key in ("malicious.pkl.gz", "nested_malicious.pkl.gz", "wrong_structure.pkl.gz", "pickle_bomb.pkl.gz",
                "declares_3gb.npz", "idx_bad"):
        add(f"train --data {key}", ["train", "--data", d[key], "--out", out / "m_data.keras", "--limit", "200"])

    # Data and evaluate with hostile or broken dataset files.
    for key in ("malicious.pkl.gz", "nested_malicious.pkl.gz", "wrong_structure.pkl.gz", "pickle_bomb.pkl.gz",
                "declares_3gb.npz", "empty.npz", "text.npz", "missing_keys.npz", "object.npz", "idx_bad",
                "empty_folder"):
        add(f"data --data {key}", ["data", "--data", d[key]])
    add("data --data /dev/zero", ["data", "--data", "/dev/zero"])
    add("data --data missing", ["data", "--data", ws / "missing.npz"])
    for key in ("malicious.pkl.gz", "declares_3gb.npz", "idx_bad"):
        add(f"evaluate --data {key}", ["evaluate", "--data", d[key]])
    add("evaluate --checkpoints missing", ["evaluate", "--checkpoints", ws / "no_such_folder"])
    add("evaluate --checkpoints a file", ["evaluate", "--checkpoints", t["plain_file"]])
    add("evaluate --checkpoints a folder of other files", ["evaluate", "--checkpoints", t["ckpt_with_others"]])
    add("evaluate --checkpoints with --model", ["evaluate", "--checkpoints", t["ckpt_with_others"], "--model",
                                                m["shipped"]])

    # unit, attribution, filters: bad layers, channels, positions, numbers.
    for flags in (["--layer", "nope", "--channel", "0"], ["--layer", "conv2d_1", "--channel", "999"],
                  ["--layer", "conv2d_1", "--channel", "0", "--y", "99", "--x", "0"],
                  ["--layer", "conv2d_1", "--channel", "0", "--y", "-1", "--x", "-1"],
                  ["--layer", "conv2d_1", "--channel", "-1"], ["--layer", "conv2d_1", "--channel", "0", "--top", "0"],
                  ["--layer", "conv2d_1", "--channel", "0", "--top", "1000000000"]):
        add(f"unit {' '.join(flags)}", ["unit", "--test-index", "0", *flags],
            "either" if flags[-1] == "1000000000" else "refuse")
    add("unit --image 1x999999.png", ["unit", "--image", i["1x999999.png"], "--layer", "conv2d_1", "--channel", "0"])
    for flags in (["--method", "nope"], ["--layer", "dense_1"], ["--class", "99"], ["--class", "-1"],
                  ["--method", "occlusion", "--patch", "0"], ["--method", "occlusion", "--patch", "100"],
                  ["--method", "occlusion", "--stride", "0"], ["--scale", "0"], ["--scale", "100000"]):
        add(f"attribution {' '.join(flags)}", ["attribution", "--test-index", "0", *flags, "--out", out / "a.png"],
            "either" if flags[-1] == "100" else "refuse")
    add("attribution --out names a folder", ["attribution", "--test-index", "0", "--out", t["home_like"]])
    add("attribution --npy same as --out", ["attribution", "--test-index", "0", "--out", out / "same.png", "--npy",
                                            out / "same.png"])
    add("attribution --image declares_60000x60000.jpg", ["attribution", "--image", i["declares_60000x60000.jpg"],
                                                         "--out", out / "a2.png"])
    for flags in (["--layer", "dense_1"], ["--layer", "nope"], ["--layer", "conv2d_1", "--steps", "0"],
                  ["--layer", "conv2d_1", "--scale", "0"], ["--layer", "conv2d_1", "--scale", "100000"]):
        add(f"filters {' '.join(flags)}", ["filters", *flags, "--out", out / "f"])
    add("filters --out names a file", ["filters", "--layer", "conv2d_1", "--out", t["plain_file"]])
    for flags in (["--seed", "-1"], ["--batch-size", "60000"], ["--architectures", "nope"]):
        add(f"compare {' '.join(flags)}",
            ["compare", *flags, "--limit", "100", "--epochs", "1", "--out", out / "c.csv"])
    return found


# --- running -------------------------------------------------------------------------------------

def shipped_export(workspace: Path, env: dict) -> Path | None:
    """A real export of the shipped model (to test overwriting an export that also holds a user's file)."""
    folder = workspace / "fixtures" / "an_export"
    done = subprocess.run([sys.executable, "-m", "cnnviz", "export", "--test-index", "0", "--layers", "dense_2",
                           "--out", str(folder)], env=env, capture_output=True, text=True)
    return folder if done.returncode == 0 else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", metavar="TEXT", action="append",
                        help="only the cases whose name contains TEXT (repeatable: any of them)")
    parser.add_argument("--jobs", type=int, default=1, help="cases run at once (default 1)")
    parser.add_argument("--timeout", type=float, default=180, help="seconds a case may take (default 180)")
    parser.add_argument("--nice", type=int, default=0, help="run the cases at this nice increment")
    parser.add_argument("--keep", action="store_true", help="keep the workspace (its path is printed)")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    args = parser.parse_args()

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    workspace = Path(tempfile.mkdtemp(prefix="cnnviz-sweep-")).resolve()
    try:
        return sweep(workspace, args)
    finally:
        if args.keep:
            print(f"\nworkspace kept: {workspace}")
        else:
            shutil.rmtree(workspace, ignore_errors=True)


def sweep(workspace: Path, args) -> int:
    from cnnviz.core.data import load_mnist
    from cnnviz.core.paths import default_model_path, resources_dir, user_cache_dir

    load_mnist()  # fails early, with its own advice, when MNIST is not here
    os.chmod(workspace, 0o755)   # the user that is not root reads the fixtures
    cache = workspace / "cache"
    cache.mkdir()
    mnist_cache = (user_cache_dir() / "mnist.npz").resolve()
    os.symlink(mnist_cache, cache / "mnist.npz")
    env = {**os.environ, "CNNVIZ_CACHE_DIR": str(cache), "XDG_CONFIG_HOME": str(workspace / "config"),
           "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(workspace / "payload")}
    env.pop("PYTHONIOENCODING", None)
    hostile.write_payload_module(workspace / "payload")
    fixtures = workspace / "fixtures"
    for name in ("models", "images", "data", "targets"):
        (fixtures / name).mkdir(parents=True)
    for name in ("out", "markers", "tmp", "env/user_home"):
        (workspace / name).mkdir(parents=True)
        os.chmod(workspace / name, 0o777)
    print("building the fixtures…", file=sys.stderr, flush=True)
    images, data = build_images(fixtures / "images"), build_data(fixtures / "data")
    all_cases = cases(workspace, build_models(fixtures / "models"), images, data,
                      build_targets(fixtures / "targets", None if args.list else shipped_export(workspace, env)))
    env_dirs = sweep_hostile_cases.build_outputs_and_environment(workspace, images, data, mnist_cache)
    hostile_models = sweep_hostile_cases.build(fixtures / "hostile")
    caches = sweep_hostile_cases.poisoned_caches(workspace / "caches", mnist_cache)

    def add(name, argv, expect="refuse", **extra):
        all_cases.append(Case(name, [str(a) if isinstance(a, Path) else a for a in argv], expect, **extra))

    sweep_hostile_cases.add_cases(add, workspace, hostile_models, images, data, caches, env_dirs)
    selected = [c for c in all_cases if not args.only or any(text in c.name for text in args.only)]
    if args.list:
        for case in selected:
            print(case.name)
        print(f"{len(selected)} cases")
        return 0
    user = sweep_user()
    if user is None and any(case.user for case in selected):
        print("not root: the cases that run as a user who is not root are left out", file=sys.stderr)
        selected = [case for case in selected if not case.user]
    # Never changed by any case: the shipped models, the data caches (the real files behind the links).
    always = [resources_dir(), default_model_path().resolve(), mnist_cache]
    keras_cache = Path.home() / ".keras" / "datasets"
    if keras_cache.exists():
        always.append(keras_cache)
    baseline = run_case(Case("baseline: cnnviz summary", ["summary"], "accept"), 0, workspace, env, args.timeout,
                        args.nice, [], user)
    print(f"baseline `cnnviz summary`: exit {baseline.exit_code}, peak {baseline.peak_mb:.0f} MB, "
          f"{baseline.seconds:.1f} s\n")
    header = f"{'case':<66} {'exit':>4} {'peak MB':>7} {'s':>5}  {'verdict':<10} last line of stderr"
    print(header)
    print("-" * len(header))
    outcomes = []
    with concurrent.futures.ThreadPoolExecutor(max(1, args.jobs)) as pool:
        futures = [pool.submit(run_case, case, number, workspace, env, args.timeout, args.nice, always, user)
                   for number, case in enumerate(selected, 1)]
        for future in futures:
            outcome = future.result()
            outcome.above_baseline = outcome.peak_mb - baseline.peak_mb
            outcomes.append(outcome)
            print(f"{outcome.case.name[:66]:<66} {'-' if outcome.exit_code is None else outcome.exit_code:>4} "
                  f"{outcome.peak_mb:7.0f} {outcome.seconds:5.1f}  {outcome.verdict:<10} "
                  f"{outcome.last_line[:110]}", flush=True)
            for path in outcome.changed:
                print(f"    changed: {path}")
    return report(outcomes, baseline, leftover_temporaries(workspace))


if __name__ == "__main__":
    sys.exit(main())
