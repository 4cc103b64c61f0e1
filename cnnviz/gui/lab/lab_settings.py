"""What the Lab remembers between sessions (QSettings group "lab"): the run's settings (augment and dropout
too), the checked variants, the pair side by side and its layer, the tab, what "Show" shows and the splitters."""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings

DEFAULT_EPOCHS = 1
DEFAULT_LIMIT = 10_000          # a first comparison of all six in minutes on a laptop
DEFAULT_SEED = 1                # `cnnviz compare`'s
DEFAULT_CHECKED = ("seed", "conv-conv-pool-pool", "no-pooling")
SETTINGS_GROUP = "lab"


def save_lab_settings(dock, settings: QSettings) -> None:
    """Remember the state of `dock` (a LabDock)."""
    settings.beginGroup(SETTINGS_GROUP)
    settings.setValue("epochs", dock.epochs.value())
    settings.setValue("limit", dock.limit.value())
    settings.setValue("seed", dock.seed.value())
    dock.regularisation.save_settings(settings)
    settings.setValue("checked", ",".join(dock.variants.checked()))
    first, second = dock.side_by_side.pair()
    settings.setValue("pair", f"{first},{second}")
    settings.setValue("position", dock.side_by_side.current_position())
    settings.setValue("tab", dock.tabs.currentIndex())
    settings.setValue("yours_first", dock.yours_first())
    settings.setValue("splitter", dock.splitter.saveState())
    settings.setValue("right_splitter", dock.right_splitter.saveState())
    settings.endGroup()


def restore_lab_settings(dock, settings: QSettings) -> None:
    """Put back what `save_lab_settings` remembered (a damaged settings file keeps the defaults)."""
    settings.beginGroup(SETTINGS_GROUP)
    try:
        dock.epochs.setValue(int(settings.value("epochs", DEFAULT_EPOCHS)))
        dock.limit.setValue(int(settings.value("limit", DEFAULT_LIMIT)))
        dock.seed.setValue(int(settings.value("seed", DEFAULT_SEED)))
        dock.regularisation.restore_settings(settings)
        checked = settings.value("checked", None)
        dock.variants.set_checked(DEFAULT_CHECKED if checked is None else str(checked).split(","))
        pair = str(settings.value("pair", "")).split(",")
        if len(pair) == 2:
            dock.side_by_side.set_pair(*pair)
        dock.side_by_side.set_position(str(settings.value("position", "")))
        dock.tabs.setCurrentIndex(int(settings.value("tab", 0)))
        dock.set_yours_first(settings.value("yours_first", True, type=bool))
        for splitter, key in ((dock.splitter, "splitter"), (dock.right_splitter, "right_splitter")):
            state = settings.value(key)
            if isinstance(state, QByteArray) and not state.isEmpty():
                splitter.restoreState(state)
    except (TypeError, ValueError):
        pass
    finally:
        settings.endGroup()
