"""Make the README's pictures of the app from the real app, under Xvfb (issue 16: regenerated, not kept by hand).

    .venv/bin/python scripts/make_screenshots.py                  # every picture in SHOTS
    .venv/bin/python scripts/make_screenshots.py --only app_draw   # some of them (output file stems)
    .venv/bin/python scripts/make_screenshots.py --list            # the table, without running anything

Each autotest mode a picture needs (`cnnviz/testing/autotest.py`, `CNNVIZ_AUTOTEST=MODE:PNG`) runs once:
`python -m cnnviz` in a fresh Xvfb display, with settings of its own (so the layout is the default one),
acting as a user would, then saving a screenshot of the screen and, beside it, the rectangles of the
window's parts (`.json`). Each picture is the screenshot cropped to the parts its row names, scaled
down to at most its width, and written (atomically) into `docs/`. Re-running replaces the pictures.

To add a picture: add an autotest mode for the feature (a module in cnnviz/testing/ and a line in
autotest.py's MODES), then a row to SHOTS below, then reference the file from the README. Needs Xvfb (`apt-get install
xvfb`) and MNIST in the cache (`cnnviz data --fetch`).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCREEN = (1280, 800)
APP_TIMEOUT_S = 300


@dataclass(frozen=True)
class Shot:
    out: str                   # path in the repository
    mode: str                  # the autotest mode that sets the scene
    parts: tuple[str, ...] = ()   # regions to keep (their bounding box); () = the whole screen
    width: int | None = None   # scaled down to at most this many pixels wide
    margin: int = 4            # pixels kept around the parts
    about: str = ""            # what it shows (the README's alt text)
    screenshot: str = ""       # another picture the mode saves, `<mode><screenshot>.png` (e.g. "_gradcam")


SHOTS = (
    Shot("docs/screenshot.png", "maps-and-screenshot",
         about="cnnviz: a drawn 7, its prediction, the network overview and the 32 maps of the first "
               "convolution with channel 1 enlarged, the training panel and the shipped model's curves"),
    Shot("docs/images/app_draw.png", "maps-and-screenshot", ("input",), width=300,
         about="the canvas with a drawn 7, its ink box and centre of mass, the 28×28 model input and the prediction"),
    Shot("docs/images/app_maps.png", "maps-and-screenshot", ("layer_title", "layer_stack", "side_panel", "hover"),
         width=900, about="conv2d_1's 32 maps of the 7, channel 1 enlarged with its colour bar, a map hovered"),
    Shot("docs/images/app_open_image.png", "open-image-and-screenshot", ("input",), width=300,
         about="a photo of a 7 on paper opened: the ink found outlined, the box used, invert and threshold"),
    Shot("docs/images/app_flatten.png", "flatten-and-screenshot", ("layer_title", "layer_stack", "hover"),
         width=900, about="flatten_1 as a heat strip: 9 positions (y,x) × conv2d_3's 64 channels, one unit hovered"),
    Shot("docs/images/app_training.png", "train-and-screenshot", ("training_dock", "curves_dock"), width=400,
         about="the training panel after one epoch on 3,000 digits, with the loss and accuracy curves"),
    Shot("docs/images/app_recovered.png", "kill-and-recover", ("banner",), width=900,
         about="the banner after the compute process was killed mid-training and the model came back"),
    Shot("docs/images/app_lab.png", "lab-and-screenshot", ("lab_dock",), width=1000,
         about="the Lab's results over five seeds: mean ± sd, error bars on one scale, Welch's test against the "
               "seed (strided and no-pooling beyond the noise), and conv2d_3's maps of seed and no-pooling side "
               "by side"),
    Shot("docs/images/any_model_rgb.png", "rgb-model-and-screenshot", ("central",), width=880,
         about="a 32×32 RGB model with a residual block on a colour picture, a 256-channel layer's second page"),
    Shot("docs/images/app_pytorch_lenet.png", "pytorch-model-and-screenshot", ("central",), width=900,
         about="the LeNet trained in PyTorch, opened from its ONNX file: the banner says it was converted node by "
               "node, its 12 layers in the overview, a drawn 7 predicted, its first convolution's 6 maps, one "
               "enlarged and hovered"),
    Shot("docs/images/app_unit.png", "unit-and-screenshot", ("central", "unit_dock"), width=1000,
         about="a conv2d_3 unit pinned: its 18×18 field outlined on the drawing, the input and the overview, "
               "the Unit panel's sum"),
    Shot("docs/images/app_kernels.png", "unit-and-screenshot", ("layer_title", "layer_modes", "layer_stack",
                                                                "side_panel", "hover"), width=900,
         about="conv2d_2's Kernels view: 64 filters of 32 3×3 patches in red and blue, filter 9 enlarged",
         screenshot="_kernels"),
    Shot("docs/images/app_gradcam_overlay.png", "attribution-and-screenshot", ("input",), width=300,
         screenshot="_gradcam", about="a drawn 7 under Grad-CAM's heat overlay (why 7? at conv2d_3), on the "
                                      "drawing and on the 28×28 model input"),
    Shot("docs/images/app_where_it_looks.png", "attribution-and-screenshot", ("attribution_dock",), width=360,
         screenshot="_gradcam", about="the Where the network looks panel: Grad-CAM beside occlusion for the 7, "
                                      "with the class, the layer and the occlusion patch to choose"),
    Shot("docs/images/app_test_set.png", "history-and-screenshot", ("test_set_dock",), width=420,
         screenshot="_2_opened", about="the Test set panel: the shipped model's matrix, the cell \"4 taken for 9\" "
                                       "chosen, its digits, most confident first"),
    Shot("docs/images/app_epoch0.png", "history-and-screenshot", ("window",), width=1000,
         screenshot="_3_epoch0",
         about="the app at epoch 0: the chosen digit through the random weights, the matrix of epoch 0, the marker "
               "at epoch 0 on the curves, the slider at its start"),
    Shot("docs/images/app_lesson_question.png", "lesson-and-screenshot", ("lesson_dock", "central"), width=900,
         screenshot="_question", about="lesson 1 asks how many maps conv2d_1 makes for the drawn 7, the overview's "
                                       "sizes hidden; 1 is typed in the Lessons panel"),
    Shot("docs/images/app_lesson_reveal.png", "lesson-and-screenshot", ("lesson_dock", "central"), width=900,
         about="the reveal: conv2d_1's 32 maps outlined, the sizes back, the panel says why 1 is not it"),
    Shot("docs/images/app_patterns.png", "attribution-and-screenshot", ("layer_modes", "layer_stack", "side_panel"),
         width=620, about="conv2d_2's 64 filter patterns in the grid, filter 3 switched off (crossed out), filter 12's "
                          "pattern enlarged with its top test digits and the patches its units saw"),
    Shot("docs/images/app_edge_detector.png", "experiments-and-screenshot", ("central", "experiments_dock"),
         width=1000, screenshot="_kernel",
         about="a hand-made vertical-edge detector: conv2d_1's filter 5 set to −1 0 +1 in the kernel painter, its map "
               "of the drawn 7 (left edges only), every later layer and the prediction changed, and the test digits "
               "it fires on, ranked by its mean activation"),
    Shot("docs/images/app_attack.png", "experiments-and-screenshot", ("epsilon", "attack_images", "attack_curve"),
         width=560, screenshot="_attack",
         about="test digit 510, a 7 at 99.8 %, attacked with PGD towards 3: at ε 0.070 (no pixel moved more than "
               "18 grey levels) it reads as 3; the perturbation in red and blue and the prediction as ε grows"),
    Shot("docs/images/app_sanity_check.png", "experiments-and-screenshot", ("sanity_strip",), width=560,
         about="the sanity check of test digit 0: Grad-CAM, occlusion and the gradient of the trained model, then "
               "with the layers randomised from the top down, each with its Spearman ρ to the trained map"),
    Shot("docs/images/app_move_it.png", "move-it-and-screenshot", ("central", "move_it_dock"), width=1000,
         about="the Move it panel: a test 7 dragged 3 pixels right, P(7) against the move for the notes' model "
               "and the Lab's no-pooling, how closely each layer follows the move"),
    Shot("docs/images/app_your_digits.png", "handwriting-and-screenshot", ("handwriting_dock",), width=1000,
         about="Your digits: a collected handwriting with the model's readings, mistakes marked, after "
               "Teach it my handwriting: before and after on your digits and on MNIST's test set"),
)


def _rgb_model(screenshot: Path) -> None:
    """The RGB model rgb-model-and-screenshot opens (`<stem>_model.keras` beside its screenshot): the
    test suite's residual 32×32 RGB classifier with 256-channel layer, random weights (seed 3), CIFAR names."""
    sys.path.insert(0, str(REPO / "tests"))
    import keras
    from test_any_model_app import CIFAR_NAMES, wide_rgb_model

    from cnnviz.core.model_files import write_class_names

    keras.utils.set_random_seed(3)
    path = screenshot.with_name(screenshot.stem + "_model.keras")
    wide_rgb_model().save(path)
    write_class_names(path, CIFAR_NAMES)


PREPARE = {"rgb-model-and-screenshot": _rgb_model}   # files a mode needs beside its screenshot


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", metavar="NAME", help="only these pictures (file stems, e.g. app_draw)")
    parser.add_argument("--list", action="store_true", help="print the table of pictures and exit")
    parser.add_argument("--keep", metavar="DIR", help="also keep each mode's full screenshot and regions in DIR")
    args = parser.parse_args(argv)
    shots = [shot for shot in SHOTS if not args.only or Path(shot.out).stem in args.only]
    if args.list:
        for shot in SHOTS:
            source = f"{shot.mode}{shot.screenshot}"
            print(f"{shot.out:40} {source:40} {'+'.join(shot.parts) or 'whole screen'}")
        return 0
    if not shots:
        print(f"no picture called {', '.join(args.only)}; --list shows them", file=sys.stderr)
        return 2
    if shutil.which("Xvfb") is None:
        print("Xvfb is not installed (apt-get install xvfb)", file=sys.stderr)
        return 2
    modes = list(dict.fromkeys(shot.mode for shot in shots))
    with tempfile.TemporaryDirectory(prefix="cnnviz-shots-") as work, xvfb_display() as display:
        for mode in modes:
            started = time.monotonic()
            screenshot = run_mode(mode, display, Path(work))
            print(f"{mode}: {time.monotonic() - started:.0f} s", flush=True)
            if args.keep:
                keep = Path(args.keep)
                keep.mkdir(parents=True, exist_ok=True)
                for made in Path(work).glob(f"{mode}*.*"):
                    shutil.copy(made, keep / made.name)
            for shot in shots:
                if shot.mode == mode:
                    picture = screenshot.with_name(f"{mode}{shot.screenshot}.png")
                    if not picture.is_file():
                        raise SystemExit(f"{shot.out}: the {mode} mode saved no {picture.name}")
                    size = write_picture(shot, picture, read_regions(picture, screenshot))
                    path = REPO / shot.out
                    print(f"  {shot.out}: {size[0]}×{size[1]}, {path.stat().st_size / 1024:.0f} KB", flush=True)
    return 0


@contextmanager
def xvfb_display():
    """A fresh Xvfb server (SCREEN, 24-bit) on a free display number; yields its DISPLAY string."""
    for number in range(140, 200):
        if Path(f"/tmp/.X{number}-lock").exists():
            continue
        server = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", f"{SCREEN[0]}x{SCREEN[1]}x24",
                                   "-nolisten", "tcp"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while server.poll() is None and time.monotonic() < deadline:
            if Path(f"/tmp/.X11-unix/X{number}").exists():
                break
            time.sleep(0.1)
        if server.poll() is not None:
            continue   # another server took the number meanwhile
        try:
            yield f":{number}"
        finally:
            server.terminate()
            server.wait(10)
        return
    raise SystemExit("no free X display number for Xvfb")


def run_mode(mode: str, display: str, work: Path) -> Path:
    """Run the app in autotest `mode`; its screenshot (other pictures it saves lie beside it)."""
    shot = work / f"{mode}.png"
    if mode in PREPARE:
        PREPARE[mode](shot)
    env = {key: value for key, value in os.environ.items() if key != "QT_QPA_PLATFORM"}
    env.update(DISPLAY=display, CNNVIZ_AUTOTEST=f"{mode}:{shot}", XDG_CONFIG_HOME=str(work / f"config-{mode}"),
               TF_CPP_MIN_LOG_LEVEL="2")
    done = subprocess.run([sys.executable, "-m", "cnnviz"], env=env, capture_output=True, text=True,
                          timeout=APP_TIMEOUT_S, cwd=REPO)
    for line in done.stdout.splitlines():
        if line.startswith("cnnviz autotest:"):
            print(f"  {line}", flush=True)
    if done.returncode != 0 or not shot.is_file():
        raise SystemExit(f"{mode}: the app failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    return shot


def read_regions(picture: Path, screenshot: Path) -> dict:
    """The rectangles of the window's parts in `picture`: its own `.json`, else the mode's screenshot's."""
    for source in (picture.with_suffix(".json"), screenshot.with_suffix(".json")):
        if source.is_file():
            return json.loads(source.read_text())
    return {}


def write_picture(shot: Shot, screenshot: Path, regions: dict) -> tuple[int, int]:
    """Crop `screenshot` to the shot's parts, scale it down to its width, write it; the size written."""
    from PIL import Image

    from cnnviz.core.atomic import write_bytes_atomic

    missing = [name for name in shot.parts if name not in regions]
    if missing:
        raise SystemExit(f"{shot.out}: the {shot.mode} mode shows no {', '.join(missing)} "
                         f"(its parts: {', '.join(sorted(regions))})")
    with Image.open(screenshot) as full:
        image = full.convert("RGB")
    if shot.parts:
        boxes = [regions[name] for name in shot.parts]
        left = max(0, min(x for x, _, _, _ in boxes) - shot.margin)
        top = max(0, min(y for _, y, _, _ in boxes) - shot.margin)
        right = min(image.width, max(x + w for x, _, w, _ in boxes) + shot.margin)
        bottom = min(image.height, max(y + h for _, y, _, h in boxes) + shot.margin)
        image = image.crop((left, top, right, bottom))
    if shot.width is not None and image.width > shot.width:
        height = round(image.height * shot.width / image.width)
        image = image.resize((shot.width, height), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    target = REPO / shot.out
    target.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(target, buffer.getvalue())
    return image.size


if __name__ == "__main__":
    sys.exit(main())
