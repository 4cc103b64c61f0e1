"""How capabilities plug into the main window: `install(context)` of each folder listed in CAPABILITIES,
panels in docks with View-menu toggles, menus on demand."""

from __future__ import annotations

import sys
import types

from PySide6.QtWidgets import QLabel


def test_a_capability_installs_a_panel_and_a_menu(qtbot, compute_client, monkeypatch):
    from cnnviz.gui.shell import capabilities, main_window

    installer = types.ModuleType("cnnviz.gui._test_feature.installer")

    def install(context):
        panel = QLabel("a feature's panel")
        dock = context.add_panel("Test panel", panel, "test_panel_dock")
        context.menu("Explain").addAction("Explain something")
        return dock

    installer.install = install
    monkeypatch.setitem(sys.modules, "cnnviz.gui._test_feature", types.ModuleType("cnnviz.gui._test_feature"))
    monkeypatch.setitem(sys.modules, "cnnviz.gui._test_feature.installer", installer)
    monkeypatch.setattr(capabilities, "CAPABILITIES", ("_test_feature",))
    window = main_window.MainWindow(client=compute_client)
    qtbot.addWidget(window)
    dock = window.capabilities["_test_feature"]
    assert dock.objectName() == "test_panel_dock" and dock.widget().text() == "a feature's panel"
    titles = [action.text().replace("&", "") for action in window.menuBar().actions()]
    assert titles.index("Explain") == titles.index("Help") - 1          # new menus go before Help
    assert window.menu("Explain") is window.menu("&Explain")            # made once
    view_texts = [action.text() for action in window.menu("View").actions()]
    assert "Test panel" in view_texts                                    # a show/hide toggle
    assert view_texts.index("Test panel") < view_texts.index("Main toolbar")
