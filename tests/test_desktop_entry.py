"""`cnnviz --install-desktop` / `--uninstall-desktop` (issue 23): a valid freedesktop entry and the icon in
the user's XDG data folder, nothing outside it, and uninstall removes exactly what install wrote."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from cnnviz.cli import main
from cnnviz.core.paths import resources_dir


@pytest.fixture
def home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    return home


def tree(folder) -> dict[str, bytes | None]:
    """Every path under `folder` (relative) with its bytes (None for folders)."""
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None) for p in sorted(folder.rglob("*"))}


def validate(path) -> None:
    validator = shutil.which("desktop-file-validate")
    if validator is None:
        pytest.skip("desktop-file-validate is not installed (Debian: desktop-file-utils)")
    result = subprocess.run([validator, str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "error" not in (result.stdout + result.stderr).lower(), result.stdout + result.stderr


def desktop_fields(path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def test_install_writes_a_valid_entry_and_the_icon_in_the_data_folder_only(home, capsys):
    assert main(["--install-desktop"]) == 0
    out = capsys.readouterr().out
    share = home / ".local" / "share"
    desktop = share / "applications" / "cnnviz.desktop"
    icon = share / "icons" / "hicolor" / "scalable" / "apps" / "cnnviz.svg"
    assert f"wrote {desktop}" in out and f"wrote {icon}" in out
    assert set(tree(home)) == {".local", ".local/share", ".local/share/applications",
                               ".local/share/applications/cnnviz.desktop", ".local/share/icons",
                               ".local/share/icons/hicolor", ".local/share/icons/hicolor/scalable",
                               ".local/share/icons/hicolor/scalable/apps",
                               ".local/share/icons/hicolor/scalable/apps/cnnviz.svg", ".local/share/cnnviz",
                               ".local/share/cnnviz/desktop-install.json"}
    validate(desktop)
    fields = desktop_fields(desktop)
    assert fields["Icon"] == str(icon) and icon.read_bytes() == (resources_dir() / "cnnviz.svg").read_bytes()
    launcher = fields["Exec"].strip('"').split(" ")[0]
    assert shutil.which(launcher) is not None, fields["Exec"]   # the cnnviz (or python) that is running
    assert fields["Type"] == "Application" and fields["Name"] == "cnnviz"


def test_uninstall_removes_exactly_what_install_wrote(home, capsys):
    other = home / ".local" / "share" / "applications" / "editor.desktop"   # another app's entry, already there
    other.parent.mkdir(parents=True)
    other.write_text("[Desktop Entry]\nType=Application\nName=Editor\nExec=editor\n")
    (home / "notes.txt").write_text("mine")
    before = tree(home)
    assert main(["--install-desktop"]) == 0
    assert main(["--install-desktop"]) == 0   # again (an upgrade): replaces its own files
    assert main(["--uninstall-desktop"]) == 0
    assert tree(home) == before
    capsys.readouterr()
    assert main(["--uninstall-desktop"]) == 0
    assert "nothing to remove" in capsys.readouterr().out


def test_xdg_data_home_is_used_and_home_untouched(home, tmp_path, monkeypatch):
    data = tmp_path / "xdg-data"
    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    assert main(["--install-desktop"]) == 0
    assert (data / "applications" / "cnnviz.desktop").is_file() and tree(home) == {}
    validate(data / "applications" / "cnnviz.desktop")
    assert main(["--uninstall-desktop"]) == 0
    assert not data.exists()


def test_an_entry_it_did_not_write_is_never_replaced(home, capsys):
    foreign = home / ".local" / "share" / "applications" / "cnnviz.desktop"
    foreign.parent.mkdir(parents=True)
    foreign.write_text("[Desktop Entry]\nType=Application\nName=cnnviz (by hand)\nExec=/opt/cnnviz\n")
    before = tree(home)
    assert main(["--install-desktop"]) == 2
    err = capsys.readouterr().err
    assert "was not written by cnnviz --install-desktop" in err and len(err.strip().splitlines()) == 1
    assert tree(home) == before
    assert main(["--uninstall-desktop"]) == 0 and tree(home) == before


def test_a_file_changed_since_install_is_kept(home, capsys):
    assert main(["--install-desktop"]) == 0
    icon = home / ".local/share/icons/hicolor/scalable/apps/cnnviz.svg"
    icon.write_text("<svg/>")   # the user put their own icon there
    capsys.readouterr()
    assert main(["--uninstall-desktop"]) == 0
    assert f"kept {icon}" in capsys.readouterr().out
    assert icon.read_text() == "<svg/>" and not (home / ".local/share/applications").exists()


def test_exec_lines_with_spaces_are_quoted_and_valid(tmp_path):
    from cnnviz.core.desktop_entry import _exec_quote, desktop_text

    command = " ".join(_exec_quote(word) for word in ["/opt/my apps/bin/python3", "-m", "cnnviz"])
    assert command == '"/opt/my apps/bin/python3" -m cnnviz'
    path = tmp_path / "cnnviz.desktop"
    path.write_text(desktop_text(tmp_path / "icon dir" / "cnnviz.svg", command))
    validate(path)
    assert _exec_quote("50%") == "50%%"
