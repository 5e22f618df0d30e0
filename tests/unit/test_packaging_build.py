"""packaging/build.py and packaging/bundle_trim.py helpers: the .deb's control file, the desktop
entry and AppStream metainfo, the icon containers, the package layout, and what the bundle trims;
packaging/launcher.py and the frozen relay command (`peerwallet --nostr-relay ...`)."""

from __future__ import annotations

import asyncio
import importlib.util
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from importlib.metadata import version
from pathlib import Path
from types import ModuleType

import pytest

from app.appinfo import APP_ID, APP_NAME, DISPLAY_NAME
from app.selftest import relay_round_trip
from core.trade.nostr import relay_process

REPO = Path(__file__).resolve().parents[2]
RESOURCES = REPO / "resources"


def _load(name: str) -> ModuleType:
    # packaging/ is not a Python package (the name would shadow PyPI's `packaging`): load by path.
    path = REPO / "packaging" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"peerwallet_packaging_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.parent))  # build.py imports bundle_trim lazily from there
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path.parent))
    return module


build = _load("build")
trim = _load("bundle_trim")

PNG = b"\x89PNG\r\n\x1a\n"


# --- versions and the control file ------------------------------------------------------------------
def test_project_version_is_the_installed_metadata_version() -> None:
    assert build.project_version() == version(APP_NAME)


@pytest.mark.parametrize(
    ("pep440", "debian"),
    [("0.1.0", "0.1.0"), ("1.0rc1", "1.0~rc1"), ("1.0.dev3", "1.0~dev3"), ("2.1a2", "2.1~a2"), ("2.0.post1", "2.0.post1")],
)
def test_debian_version(pep440: str, debian: str) -> None:
    assert build.debian_version(pep440) == debian


def test_control_file_fields() -> None:
    text = build.control_text("1.2.0rc1", "amd64", 123456)
    fields = build.parse_control(text)
    assert fields["Package"] == "peerwallet"
    assert fields["Version"] == "1.2.0~rc1"
    assert fields["Architecture"] == "amd64"
    assert fields["Installed-Size"] == "123456"
    assert "<" in fields["Maintainer"] and fields["Maintainer"].endswith(">")
    depends = [d.split()[0] for d in fields["Depends"].split(", ")]
    for lib in ("libc6", "libegl1", "libgl1", "libfontconfig1", "libxkbcommon0", "libdbus-1-3", "libxcb-cursor0"):
        assert lib in depends
    assert len(depends) == len(set(depends))
    summary, _, body = fields["Description"].partition("\n")
    assert summary and len(summary) < 80 and body
    # One paragraph: no empty line inside, every continuation line indented, a final newline.
    assert text.endswith("\n") and "\n\n" not in text
    lines = text.splitlines()
    desc = lines.index(next(line for line in lines if line.startswith("Description:")))
    assert all(line.startswith(" ") and len(line) <= 80 for line in lines[desc + 1 :])


def test_parse_control_joins_continuation_lines() -> None:
    assert build.parse_control("A: 1\nB: x\n y\n z\n") == {"A": "1", "B": "x\ny\nz"}


# --- desktop entry and metainfo ------------------------------------------------------------------------
def test_desktop_entry_fields() -> None:
    entry = build.read_desktop_entry(RESOURCES / f"{APP_ID}.desktop")
    assert entry["Type"] == "Application"
    assert entry["Name"] == "Peerwallet"
    assert entry["Exec"].split()[0] == APP_NAME  # the command /usr/bin/peerwallet
    assert entry["Icon"] == APP_ID  # the hicolor icon files' name
    assert entry["Terminal"] == "false"
    categories = entry["Categories"].split(";")
    assert entry["Categories"].endswith(";") and "Finance" in categories and "Office" in categories
    assert entry["StartupWMClass"] == DISPLAY_NAME  # Qt's X11 WM_CLASS class: the application name
    # Exec takes no field codes: the command line has no positional arguments to receive them.
    assert "%" not in entry["Exec"]


def test_read_desktop_entry_skips_comments_and_other_groups(tmp_path: Path) -> None:
    f = tmp_path / "x.desktop"
    f.write_text("# c\n[Desktop Entry]\nName = A\n# Name=B\nExec=a --x=1\n[Desktop Action new]\nName=C\n")
    assert build.read_desktop_entry(f) == {"Name": "A", "Exec": "a --x=1"}


def test_metainfo_matches_the_desktop_entry_and_pyproject() -> None:
    root = ET.parse(RESOURCES / f"{APP_ID}.metainfo.xml").getroot()
    assert root.tag == "component" and root.get("type") == "desktop-application"
    assert root.findtext("id") == APP_ID
    assert root.findtext("launchable") == f"{APP_ID}.desktop"
    assert root.findtext("provides/binary") == APP_NAME
    assert root.findtext("project_license") == "MIT"
    releases = [r.get("version") for r in root.iter("release")]
    assert releases and releases[0] == build.project_version()  # newest release first, as AppStream wants


def test_build_and_app_agree_on_the_ids() -> None:
    assert build.APP_ID == APP_ID and build.APP_NAME == APP_NAME


# --- icons -------------------------------------------------------------------------------------------
def _fake_pngs(sizes: tuple[int, ...]) -> dict[int, bytes]:
    return {s: PNG + bytes([s % 256]) * (s // 8 + 1) for s in sizes}


def test_ico_container() -> None:
    pngs = _fake_pngs(build.ICO_SIZES)
    data = build.ico_bytes(pngs)
    reserved, kind, count = struct.unpack_from("<HHH", data)
    assert (reserved, kind, count) == (0, 1, len(pngs))
    for i, size in enumerate(sorted(pngs)):
        w, h, _colours, _r, planes, bits, length, offset = struct.unpack_from("<BBBBHHII", data, 6 + 16 * i)
        assert w == h == (0 if size == 256 else size)
        assert (planes, bits) == (1, 32)
        assert data[offset : offset + length] == pngs[size]


def test_icns_container() -> None:
    pngs = _fake_pngs((16, 24, 32, 512, 1024))
    data = build.icns_bytes(pngs)
    assert data[:4] == b"icns" and struct.unpack_from(">I", data, 4)[0] == len(data)
    pos, seen = 8, {}
    while pos < len(data):
        kind, length = data[pos : pos + 4], struct.unpack_from(">I", data, pos + 4)[0]
        seen[kind] = data[pos + 8 : pos + length]
        pos += length
    assert pos == len(data)
    # 24 px has no icns type and is left out.
    assert seen == {b"icp4": pngs[16], b"icp5": pngs[32], b"ic09": pngs[512], b"ic10": pngs[1024]}


def test_render_pngs_draws_the_svg_at_each_size(qapp: object) -> None:
    from PySide6.QtGui import QImage
    # qapp first: render_pngs would otherwise make a QGuiApplication, and later widget tests need a QApplication.

    pngs = build.render_pngs((16, 48))
    for size, data in pngs.items():
        assert data.startswith(PNG)
        image = QImage.fromData(data, "PNG")
        assert (image.width(), image.height()) == (size, size)
        assert image.pixelColor(size // 2, size // 2).alpha() == 255  # the tile is opaque in the middle
        assert image.pixelColor(0, 0).alpha() < 255  # and its rounded corners are not


def test_qt_resource_module_is_up_to_date() -> None:
    """app/resources_rc.py carries the current resources/peerwallet.svg (else run `build.py rcc`)."""
    from app.icon import icon_svg

    assert icon_svg() == (RESOURCES / "peerwallet.svg").read_bytes()


# --- package layout ----------------------------------------------------------------------------------
def _fake_bundle(tmp_path: Path) -> tuple[Path, Path]:
    bundle = tmp_path / "dist" / "peerwallet"
    (bundle / "_internal").mkdir(parents=True)
    exe = bundle / "peerwallet"
    exe.write_bytes(b"\x7fELF-not-really")
    exe.chmod(0o700)
    (bundle / "_internal" / "data.txt").write_text("x")
    icons = tmp_path / "icons"
    icons.mkdir()
    for s in build.ICON_SIZES:
        (icons / f"{s}x{s}.png").write_bytes(PNG)
    return bundle, icons


def test_stage_deb_layout(tmp_path: Path) -> None:
    bundle, icons = _fake_bundle(tmp_path)
    root = build.stage_deb(bundle, tmp_path / "root", icons)
    launcher = root / "usr/bin/peerwallet"
    assert launcher.is_symlink() and str(launcher.readlink()) == "/opt/peerwallet/peerwallet"
    assert (root / "opt/peerwallet/peerwallet").stat().st_mode & 0o777 == 0o755
    assert (root / "opt/peerwallet/_internal/data.txt").stat().st_mode & 0o777 == 0o644
    assert (root / f"usr/share/applications/{APP_ID}.desktop").is_file()
    assert (root / f"usr/share/metainfo/{APP_ID}.metainfo.xml").is_file()
    assert (root / f"usr/share/icons/hicolor/scalable/apps/{APP_ID}.svg").is_file()
    for s in build.ICON_SIZES:
        assert (root / f"usr/share/icons/hicolor/{s}x{s}/apps/{APP_ID}.png").is_file()
    assert (root / "usr/share/doc/peerwallet/copyright").is_file()
    assert all(d.stat().st_mode & 0o777 == 0o755 for d in root.rglob("*") if d.is_dir())


def test_installed_size_counts_kib_per_file(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a").write_bytes(b"x" * 1025)  # 2 KiB
    (tmp_path / "b").write_bytes(b"")  # 0 KiB
    (tmp_path / "l").symlink_to("b")  # 1
    assert build.installed_size_kib(tmp_path) == 1 + 2 + 0 + 1


def test_elf_needed_reads_direct_links(tmp_path: Path) -> None:
    assert "libc.so.6" in trim.elf_needed("/bin/ls")
    text = tmp_path / "t.txt"
    text.write_text("not an ELF file")
    assert trim.elf_needed(str(text)) == []


# --- bundle trimming ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "kept"),
    [
        ("PySide6/Qt/translations/qtbase_de.qm", False),
        ("PySide6/Qt/lib/libQt6Qml.so.6", False),
        ("PySide6/Qt/lib/libQt6QuickWidgets.so.6", False),
        ("PySide6/Qt/lib/libQt6EglFsKmsSupport.so.6", False),
        ("PySide6/Qt/lib/libQt6Charts.so.6", True),
        ("PySide6/Qt/lib/libQt6Svg.so.6", True),
        ("PySide6/Qt/plugins/platforms/libqxcb.so", True),
        ("PySide6/Qt/plugins/platforms/libqwayland.so", True),
        ("PySide6/Qt/plugins/platforms/libqoffscreen.so", True),
        ("PySide6/Qt/plugins/platforms/libqeglfs.so", False),
        ("PySide6/Qt/plugins/platforms/libqvnc.so", False),
        ("PySide6/Qt/plugins/platforms/qwindows.dll", True),
        ("PySide6/Qt/plugins/platformthemes/libqgtk3.so", False),
        ("PySide6/Qt/plugins/platformthemes/libqxdgdesktopportal.so", True),
        ("PySide6/Qt/plugins/platforminputcontexts/libqtvirtualkeyboardplugin.so", False),
        ("PySide6/Qt/plugins/imageformats/libqsvg.so", True),
        ("PySide6/Qt/plugins/imageformats/libqtiff.so", False),
        ("PySide6/Qt/plugins/egldeviceintegrations/libqeglfs-kms-integration.so", False),
        ("PySide6/Qt/plugins/qmltooling/libqmldbg_debugger.so", False),
        ("libfontconfig.so.1", False),
        ("libstdc++.so.6", False),
        ("libxcb-cursor.so.0", False),
        ("libssl.so.3", True),
        ("core/wallet/data/bip39_english.txt", True),
    ],
)
def test_keep_entry(name: str, kept: bool) -> None:
    assert trim.keep_entry(name) is kept


def test_system_libraries_are_only_dropped_on_linux() -> None:
    assert trim.keep_entry("libstdc++.so.6", linux=False)
    assert not trim.keep_entry("PySide6/Qt/translations/qt_fr.qm", linux=False)


def test_prune_orphans_drops_what_only_dropped_entries_used() -> None:
    links = {
        "/s/libqgtk3.so": ["libgtk-3.so.0", "libpango.so.1"],
        "/s/libgtk-3.so.0": ["libpango.so.1", "libz.so.1"],
        "/s/libpango.so.1": ["libz.so.1"],
        "/s/QtGui.abi3.so": ["libpng16.so.16", "libz.so.1"],
        "/s/libpng16.so.16": ["libz.so.1"],
        "/s/libffi.so.8": [],  # loaded with ctypes: nothing links to it
    }
    kept = [
        ("PySide6/QtGui.abi3.so", "/s/QtGui.abi3.so", "EXTENSION"),
        ("libgtk-3.so.0", "/s/libgtk-3.so.0", "BINARY"),
        ("libpango.so.1", "/s/libpango.so.1", "BINARY"),
        ("libpng16.so.16", "/s/libpng16.so.16", "BINARY"),
        ("libz.so.1", "/s/libz.so.1", "BINARY"),
        ("libffi.so.8", "/s/libffi.so.8", "BINARY"),
    ]
    dropped = [("PySide6/Qt/plugins/platformthemes/libqgtk3.so", "/s/libqgtk3.so", "BINARY")]
    out = trim.prune_orphans(kept, dropped, lambda src: links.get(src, []))
    assert [e[0] for e in out] == ["PySide6/QtGui.abi3.so", "libpng16.so.16", "libz.so.1", "libffi.so.8"]


def test_trim_keeps_everything_off_linux_but_the_qt_cuts() -> None:
    entries = [("python311.dll", "/s/python311.dll", "BINARY"), ("PySide6/Qt/plugins/platforms/qvnc.dll", "/s/v", "BINARY")]
    assert trim.trim(entries, lambda _src: [], linux=False) == entries[:1]


# --- the bundle's relay: `peerwallet --nostr-relay ...` ------------------------------------------------
launcher = _load("launcher")


def test_relay_command_from_source_and_frozen(tmp_path: Path) -> None:
    cfg = tmp_path / "relay.yaml"
    tail = ["-c", str(cfg), "serve", "--use-uvicorn"]
    from_source = relay_process.relay_command(cfg, frozen=False, executable="/usr/bin/python3")
    assert from_source == ["/usr/bin/python3", "-c", relay_process._ENTRY, *tail]
    frozen = relay_process.relay_command(cfg, frozen=True, executable="/opt/peerwallet/peerwallet")
    assert frozen == ["/opt/peerwallet/peerwallet", "--nostr-relay", *tail]
    # the flag LocalRelay passes is the one the bundle's launcher dispatches on
    assert relay_process.RELAY_FLAG == launcher.RELAY_FLAG == frozen[1]
    assert relay_process.relay_command(cfg)[0] == sys.executable  # this test runs from source


def test_relay_command_follows_sys_frozen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert relay_process.relay_command(tmp_path / "r.yaml")[:2] == [sys.executable, "--nostr-relay"]


def test_launcher_hands_the_relay_flag_to_nostr_relays_cli() -> None:
    # In a child: importing nostr-relay's CLI installs uvloop's event loop policy process-wide.
    out = subprocess.run(
        [sys.executable, str(REPO / "packaging" / "launcher.py"), "--nostr-relay", "serve", "--help"],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("Usage: nostr-relay serve") and "--use-uvicorn" in out.stdout


def test_launcher_version_stays_quick_and_loads_neither_qt_nor_the_relay() -> None:
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('launcher', {str(REPO / 'packaging' / 'launcher.py')!r})\n"
        "mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)\n"
        "assert mod.dispatch(['peerwallet', '--version']) == 0\n"
        "heavy = ('PySide6', 'shiboken6', 'qasync', 'nostr_relay', 'uvicorn', 'sqlalchemy', 'websockets')\n"
        "loaded = sorted({m.split('.')[0] for m in sys.modules} & set(heavy))\n"
        "assert not loaded, loaded\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout == f"peerwallet {version(APP_NAME)}\n"


def test_frozen_local_relay_runs_through_the_launcher(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The bundle without PyInstaller: a `peerwallet` program that is the launcher script, seen from a
    # process that believes it is frozen, so LocalRelay starts `peerwallet --nostr-relay ...`.
    program = tmp_path / "peerwallet"
    program.write_text(f'#!/bin/sh\nexec {sys.executable} {REPO / "packaging" / "launcher.py"} "$@"\n')
    program.chmod(0o755)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(program))

    async def scenario() -> tuple[list[str], str]:
        async with relay_process.LocalRelay(tmp_path / "relay") as relay:
            event = await relay_round_trip(relay.url)
            assert relay._proc is not None
            cmdline = (Path("/proc") / str(relay._proc.pid) / "cmdline").read_bytes().split(b"\0")
            return [c.decode() for c in cmdline if c], event.content

    cmdline, content = asyncio.run(asyncio.wait_for(scenario(), 90))
    assert content == "peerwallet self-test"
    assert cmdline[-5:] == ["--nostr-relay", "-c", str(tmp_path / "relay" / "relay.yaml"), "serve", "--use-uvicorn"]
    assert (tmp_path / "relay" / "relay.sqlite3").is_file()


def test_spec_carries_the_relay() -> None:
    spec = (REPO / "packaging" / "peerwallet.spec").read_text(encoding="utf-8")
    excludes = spec.split("OTHER_EXCLUDES = [", 1)[1].split("]", 1)[0]
    for needed in ("nostr_relay", "uvicorn", "falcon", "sqlalchemy", "aiosqlite", "alembic", "rapidjson", "pydantic"):
        assert f'"{needed}"' not in excludes, needed
    assert '"nostr_relay.storage.db"' in spec and '"sqlalchemy.dialects.sqlite.aiosqlite"' in spec
