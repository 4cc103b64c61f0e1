"""Lessons in the app (issue 20): play a lesson step by step, predict before you see, then the reveal on your
own digit. The view is `lesson_panel.py` (`lesson_list.py`, `step_view.py`); `lesson_player.py` drives the
core's `LessonSession` (`cnnviz.core.lessons`), `app_links.py` maps the lessons' actions and targets onto the
other capabilities' named operations and targets, `concealment.py` hides what would give an answer away,
`pixel_picker.py` takes a picked pixel, `digit_shift.py` moves the digit; the installer `installer.py`; the
compute call "lesson_values" (`lesson_player.py`, `compute/handlers/lessons.py`).
"""
