"""What the lessons remember in the app's settings: each lesson's progress (its session's `to_json()`: the
step it is at, the steps done, the answers and whether the first was right), per pack; the lesson the
learner was at; whether the first-launch offer of lesson 1 was taken or dismissed."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from cnnviz.core.lessons.validate import shipped_lessons_dir
from cnnviz.gui.widgets.qt_helpers import app_settings

GROUP = "lessons"
MAX_SAVED_CHARS = 64 * 1024     # a damaged or hostile settings value is not parsed


def pack_key(folder: str | Path) -> str:
    """A short stable name for a pack folder: "shipped" for cnnviz's own lessons."""
    resolved = Path(folder).resolve()
    if resolved == shipped_lessons_dir().resolve():
        return "shipped"
    return "pack-" + hashlib.sha256(str(resolved).encode("utf-8", "surrogatepass")).hexdigest()[:12]


class ProgressStore:
    """Reads and writes the lessons' settings; `writable()` False (a throwaway window) keeps them unchanged."""

    def __init__(self, writable=lambda: True):
        self._writable = writable

    def progress(self, pack: str, lesson_id: str) -> dict | None:
        """The saved `LessonSession.to_json()` of lesson `lesson_id` of pack `pack`, or None."""
        text = app_settings().value(f"{GROUP}/progress/{pack}/{lesson_id}", "")
        if not isinstance(text, str) or not text or len(text) > MAX_SAVED_CHARS:
            return None
        try:
            data = json.loads(text)
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    def save_progress(self, pack: str, lesson_id: str, data: dict) -> None:
        self._set(f"progress/{pack}/{lesson_id}", json.dumps(data))

    def forget_progress(self, pack: str, lesson_id: str) -> None:
        if self._writable():
            settings = app_settings()
            settings.remove(f"{GROUP}/progress/{pack}/{lesson_id}")
            settings.sync()

    def offer_done(self) -> bool:
        """True once the first-launch offer of lesson 1 was dismissed, or a lesson was started."""
        return app_settings().value(f"{GROUP}/offer_done", False, type=bool)

    def set_offer_done(self) -> None:
        self._set("offer_done", True)

    def last_place(self) -> tuple[str, str]:
        """(pack folder, lesson id) the learner was at last ("" when none)."""
        settings = app_settings()
        folder, lesson = settings.value(f"{GROUP}/last_pack", ""), settings.value(f"{GROUP}/last_lesson", "")
        return (folder if isinstance(folder, str) else "", lesson if isinstance(lesson, str) else "")

    def set_last_place(self, folder: str | Path, lesson_id: str) -> None:
        self._set("last_pack", str(folder))
        self._set("last_lesson", lesson_id)

    def _set(self, key: str, value) -> None:
        if self._writable():
            settings = app_settings()
            settings.setValue(f"{GROUP}/{key}", value)
            settings.sync()


def summary_of(saved: dict | None, lesson) -> tuple[int, int, int]:
    """(steps done, questions answered right at the first try, the step to continue at) from a saved
    progress of `lesson` (zeros when there is none or it is of another lesson)."""
    if not isinstance(saved, dict) or saved.get("lesson") != lesson.id:
        return 0, 0, 0
    count = len(lesson.steps)
    done = {i for i in saved.get("done", []) if isinstance(i, int) and 0 <= i < count}
    answers = saved.get("answers") if isinstance(saved.get("answers"), dict) else {}
    right = sum(1 for key, record in answers.items() if str(key).isdigit() and int(key) < count
                and isinstance(record, dict) and record.get("first") == "right")
    step = saved.get("step")
    return len(done), right, step if isinstance(step, int) and 0 <= step < count else 0
