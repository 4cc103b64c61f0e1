"""What every autotest mode's steps start from: the autotest, its window, the inspector and the capability
the mode drives (`window.capabilities[CAPABILITY]`)."""

from __future__ import annotations


class ModeSteps:
    """Subclass with `capability = "NAME"` and a `start()` that runs the mode's first step."""

    capability: str = ""

    def __init__(self, autotest):
        self.autotest = autotest
        self.window = autotest.window
        self.inspector = self.window.inspector
        self.feature = self.window.capabilities[self.capability]

    @classmethod
    def run(cls, autotest) -> None:
        """Make the steps and start them on `autotest` (an `autotest.Autotest` whose model is ready); kept on
        it because Qt timers hold bound methods only weakly."""
        autotest.steps = cls(autotest)
        autotest.steps.start()

    def start(self) -> None:
        raise NotImplementedError
