"""Builds Peerwallet's distributables: `python packaging/build.py [rcc|icons|bundle|deb|all]`.

- `rcc`: regenerates app/resources_rc.py (the window's Qt resources) from resources/peerwallet.qrc.
- `icons`: renders resources/peerwallet.svg with QtSvg into build/icons: PNGs of ICON_SIZES, a
  Windows .ico and a macOS .icns (both just PNGs in a container, written here).
- `bundle`: the icons, then PyInstaller's one-folder bundle from packaging/peerwallet.spec into
  dist/peerwallet/ (dist/Peerwallet.app too on macOS); on Linux also
  dist/peerwallet-<version>-linux-<machine>.tar.gz.
- `deb` (Debian/Ubuntu, needs dpkg-deb): dist/peerwallet_<version>_<arch>.deb with the bundle in
  /opt/peerwallet, the command /usr/bin/peerwallet, the desktop entry, icons and AppStream metainfo;
  before packing, every system library the bundle links to must come from a package in DEPENDS, and
  the desktop entry and metainfo must pass desktop-file-validate / appstreamcli (where installed).
- `all`: `bundle`, then `deb` where dpkg-deb exists (the default).

Run it with the Python that has the project and PyInstaller installed (`pip install -e . pyinstaller`).
Windows' installer and macOS' disk image have their own scripts in packaging/windows and
packaging/macos, which call `build.py bundle` first.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import re
import shutil
import struct
import subprocess
import sys
import tarfile
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESOURCES = REPO / "resources"
DIST = REPO / "dist"
BUILD = REPO / "build"
ICONS = BUILD / "icons"
SPEC = REPO / "packaging" / "peerwallet.spec"

APP_NAME = "peerwallet"
APP_ID = "org.peerwallet.Peerwallet"  # = app.appinfo.APP_ID (not imported: that would need the project installed)
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)  # .ico entries stop at 256
#: .icns entry types that hold PNG data, by pixel size (ic10 is 512@2x).
ICNS_TYPES = {16: b"icp4", 32: b"icp5", 64: b"icp6", 128: b"ic07", 256: b"ic08", 512: b"ic09", 1024: b"ic10"}

#: Where the .deb puts things.
DEB_PREFIX = "/opt/peerwallet"
MAINTAINER = "Peerwallet developers <dev@peerwallet.invalid>"
#: System libraries the Linux bundle uses but does not carry (see packaging/bundle_trim.py), and
#: those Qt's X11 and Wayland platform plugins load. Names as in Debian 12; the t64-renamed
#: packages of later releases provide these names.
DEPENDS = (
    "libc6 (>= 2.36)",
    "libstdc++6",
    "libgcc-s1",
    "libegl1",
    "libgl1",
    "libopengl0",
    "libdrm2",
    "libfontconfig1",
    "libfreetype6",
    "libglib2.0-0",
    "libdbus-1-3",
    "libx11-6",
    "libx11-xcb1",
    "libxcb1",
    "libxcb-cursor0",
    "libxcb-glx0",
    "libxcb-icccm4",
    "libxcb-image0",
    "libxcb-keysyms1",
    "libxcb-randr0",
    "libxcb-render0",
    "libxcb-render-util0",
    "libxcb-shape0",
    "libxcb-shm0",
    "libxcb-sync1",
    "libxcb-util1",
    "libxcb-xfixes0",
    "libxcb-xkb1",
    "libxkbcommon0",
    "libxkbcommon-x11-0",
    "libwayland-client0",
    "libwayland-cursor0",
    "libwayland-egl1",
)
DESCRIPTION = """Bitcoin wallet with its own light node
 Peerwallet is a desktop Bitcoin wallet that talks to Bitcoin nodes directly:
 it syncs block headers and compact block filters (BIP157/158) from several
 peers, so no third-party server learns which addresses are yours. It comes
 with a local sandbox network (miner, faucet, mempool traffic) to try
 everything offline."""


# --- small pure helpers (unit-tested) ---------------------------------------------------------------
def project_version(pyproject: Path = REPO / "pyproject.toml") -> str:
    """The version in pyproject.toml (the same one the installed package's metadata carries)."""
    with pyproject.open("rb") as f:
        return str(tomllib.load(f)["project"]["version"])


def debian_version(version: str) -> str:
    """A PEP 440 version as a Debian one: pre-releases sort before the release (`1.0rc1` -> `1.0~rc1`)."""
    return re.sub(r"[.-]?(alpha|beta|a|b|rc|dev)\.?(\d*)", lambda m: f"~{m.group(1)}{m.group(2)}", version.lower())


def deb_architecture() -> str:
    """This machine's Debian architecture name (what dpkg says, else mapped from the CPU name)."""
    try:
        out = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, check=True).stdout
        return out.strip()
    except (OSError, subprocess.CalledProcessError):
        machine = platform.machine().lower()
        return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "armhf", "i686": "i386"}.get(machine, machine)


def control_text(version: str, arch: str, installed_kib: int, depends: Sequence[str] = DEPENDS) -> str:
    """The DEBIAN/control file of the .deb."""
    fields = {
        "Package": APP_NAME,
        "Version": debian_version(version),
        "Architecture": arch,
        "Maintainer": MAINTAINER,
        "Installed-Size": str(installed_kib),
        "Depends": ", ".join(depends),
        "Section": "utils",
        "Priority": "optional",
        "Description": DESCRIPTION,
    }
    return "".join(f"{k}: {v}\n" for k, v in fields.items())


def parse_control(text: str) -> dict[str, str]:
    """A control paragraph as {field: value}; continuation lines are joined with newlines."""
    fields: dict[str, str] = {}
    key = None
    for line in text.splitlines():
        if line.startswith((" ", "\t")) and key is not None:
            fields[key] += "\n" + line[1:]
        elif ":" in line:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def read_desktop_entry(path: Path) -> dict[str, str]:
    """The keys of a .desktop file's [Desktop Entry] group (comments and other groups skipped)."""
    entry: dict[str, str] = {}
    group = None
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            group = line[1:-1]
        elif group == "Desktop Entry" and "=" in line:
            key, _, value = line.partition("=")
            entry[key.strip()] = value.strip()
    return entry


def installed_size_kib(root: Path) -> int:
    """Installed-Size as dpkg computes it: KiB per file rounded up, 1 per symlink or directory."""
    total = 0
    for p in root.rglob("*"):
        if p.is_symlink() or p.is_dir():
            total += 1
        else:
            total += math.ceil(p.stat().st_size / 1024)
    return total


def ico_bytes(pngs: Mapping[int, bytes]) -> bytes:
    """A Windows .ico holding each PNG as is (Vista and later read PNG entries)."""
    sizes = sorted(pngs)
    header = struct.pack("<HHH", 0, 1, len(sizes))
    offset = len(header) + 16 * len(sizes)
    entries, blobs = b"", b""
    for s in sizes:
        data = pngs[s]
        dim = 0 if s >= 256 else s  # 0 stands for 256
        entries += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(data), offset + len(blobs))
        blobs += data
    return header + entries + blobs


def icns_bytes(pngs: Mapping[int, bytes]) -> bytes:
    """A macOS .icns holding the PNGs whose sizes have an icns entry type."""
    body = b"".join(
        ICNS_TYPES[s] + struct.pack(">I", 8 + len(pngs[s])) + pngs[s] for s in sorted(pngs) if s in ICNS_TYPES
    )
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


# --- steps -------------------------------------------------------------------------------------------
def _run(cmd: Sequence[str | Path], **kw: Any) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, **kw)


def build_rcc() -> Path:
    """Regenerate app/resources_rc.py with PySide6's rcc (uncompressed, format 1: no timestamps, so
    the output only changes when a resource does)."""
    out = REPO / "app" / "resources_rc.py"
    # This Python's PySide6 (the tool generates Python code), not whichever pyside6-rcc PATH finds first.
    rcc = [sys.executable, "-c", "import sys; from PySide6.scripts.pyside_tool import rcc; sys.exit(rcc())"]
    _run([*rcc, "--no-compress", "--format-version", "1", "peerwallet.qrc", "-o", out], cwd=RESOURCES)
    return out


def render_pngs(sizes: Iterable[int]) -> dict[int, bytes]:
    """resources/peerwallet.svg as PNG bytes per size (Qt offscreen, no display needed)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.path.insert(0, str(REPO))
    from PySide6.QtCore import QBuffer, QIODevice
    from PySide6.QtGui import QGuiApplication

    from app.icon import render_svg

    _app = QGuiApplication.instance() or QGuiApplication([sys.argv[0]])
    svg = (RESOURCES / "peerwallet.svg").read_bytes()
    out: dict[int, bytes] = {}
    for size in sizes:
        buf = QBuffer()
        buf.open(QIODevice.OpenModeFlag.WriteOnly)
        if not render_svg(svg, size).save(buf, "PNG"):
            raise RuntimeError(f"could not encode the {size}px icon")
        out[size] = bytes(buf.data().data())
    return out


def build_icons(out: Path = ICONS) -> Path:
    """PNGs, .ico and .icns of the icon in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    pngs = render_pngs(sorted({*ICON_SIZES, *ICO_SIZES, *ICNS_TYPES}))
    for size in ICON_SIZES:
        (out / f"{size}x{size}.png").write_bytes(pngs[size])
    (out / "peerwallet.ico").write_bytes(ico_bytes({s: pngs[s] for s in ICO_SIZES}))
    (out / "peerwallet.icns").write_bytes(icns_bytes(pngs))
    shutil.copy2(RESOURCES / "peerwallet.svg", out / "peerwallet.svg")
    print(f"icons: {out}")
    return out


def build_bundle() -> Path:
    """The PyInstaller one-folder bundle (dist/peerwallet), plus its tar.gz on Linux."""
    build_icons()
    env = {**os.environ, "PEERWALLET_ICONS": str(ICONS), "QT_API": "pyside6"}
    _run(
        [sys.executable, "-m", "PyInstaller", SPEC, "--noconfirm", "--log-level", "WARN",
         "--distpath", DIST, "--workpath", BUILD / "pyinstaller"],
        cwd=REPO, env=env,
    )
    bundle = DIST / APP_NAME
    print(f"bundle: {bundle} ({_tree_size(bundle) / 2**20:.1f} MiB)")
    if sys.platform.startswith("linux"):
        tarball = build_tarball(bundle, project_version())
        print(f"tarball: {tarball} ({tarball.stat().st_size / 2**20:.1f} MiB)")
    return bundle


def build_tarball(bundle: Path, version: str) -> Path:
    """dist/peerwallet-<version>-linux-<machine>.tar.gz: the bundle plus the desktop entry, metainfo and icon."""
    top = f"{APP_NAME}-{version}"
    out = DIST / f"{top}-linux-{platform.machine()}.tar.gz"
    with tarfile.open(out, "w:gz") as tar:
        tar.add(bundle, arcname=top)
        for name in (f"{APP_ID}.desktop", f"{APP_ID}.metainfo.xml", "peerwallet.svg"):
            tar.add(RESOURCES / name, arcname=f"{top}/share/{name}")
    return out


def _tree_size(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def stage_deb(bundle: Path, root: Path, icons: Path = ICONS) -> Path:
    """Lay out the package's file tree under `root` (without DEBIAN/)."""
    if root.exists():
        shutil.rmtree(root)
    opt = root / DEB_PREFIX.lstrip("/")
    shutil.copytree(bundle, opt, symlinks=True)
    (root / "usr/bin").mkdir(parents=True)
    (root / "usr/bin" / APP_NAME).symlink_to(f"{DEB_PREFIX}/{APP_NAME}")
    share = root / "usr/share"
    (share / "applications").mkdir(parents=True)
    shutil.copy2(RESOURCES / f"{APP_ID}.desktop", share / "applications")
    (share / "metainfo").mkdir()
    shutil.copy2(RESOURCES / f"{APP_ID}.metainfo.xml", share / "metainfo")
    for size in ICON_SIZES:
        d = share / f"icons/hicolor/{size}x{size}/apps"
        d.mkdir(parents=True)
        shutil.copy2(icons / f"{size}x{size}.png", d / f"{APP_ID}.png")
    d = share / "icons/hicolor/scalable/apps"
    d.mkdir(parents=True)
    shutil.copy2(RESOURCES / "peerwallet.svg", d / f"{APP_ID}.svg")
    doc = share / "doc" / APP_NAME
    doc.mkdir(parents=True)
    (doc / "copyright").write_text(
        "Peerwallet\nLicense: MIT\n\nThe bundled Python, Qt (LGPLv3) and Python packages keep their own licenses;\n"
        f"their license files are inside {DEB_PREFIX}/_internal.\n",
        encoding="utf-8",
    )
    _normalise_modes(root)
    return root


def _normalise_modes(root: Path) -> None:
    """0755 for directories and executables, 0644 for everything else (dpkg-deb checks DEBIAN/'s)."""
    for p in [root, *root.rglob("*")]:
        if p.is_symlink():
            continue
        if p.is_dir() or p.stat().st_mode & 0o111:
            p.chmod(0o755)
        else:
            p.chmod(0o644)


def _is_elf(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return False


def external_libraries(bundle: Path) -> tuple[dict[str, str], set[str]]:
    """The system libraries the bundle's ELF files link to directly: ({file name: resolved path}, {not
    found here}). A library that the bundle itself carries does not count."""
    sys.path.insert(0, str(REPO / "packaging"))
    from bundle_trim import elf_needed

    elves = [p for p in bundle.rglob("*") if p.is_file() and not p.is_symlink() and _is_elf(p)]
    inside = {p.name for p in bundle.rglob("*")}
    resolved: dict[str, str] = {}
    missing: set[str] = set()
    for elf in elves:
        needed = [n for n in elf_needed(str(elf)) if n not in inside and not n.startswith("ld-linux")]
        if not needed:
            continue
        ldd = subprocess.run(["ldd", str(elf)], capture_output=True, text=True, check=False).stdout
        where = {}
        for line in ldd.splitlines():
            if line.strip().startswith(("/", "linux-vdso")):  # the dynamic loader itself (libc6), the vDSO
                continue
            name, arrow, rest = line.strip().partition(" => ")
            if arrow:
                where[name] = rest.split(" (", 1)[0].strip()
        for n in needed:
            path = where.get(n, "not found")
            if path == "not found" or not path:
                missing.add(n)
            else:
                resolved[n] = path
    return resolved, missing


def packages_of(paths: Iterable[str]) -> dict[str, str]:
    """{library path: Debian package} through `dpkg -S` (paths no package owns are left out)."""
    found: dict[str, str] = {}
    for path in paths:
        candidates = [path, os.path.realpath(path)]
        candidates += [c.replace("/usr/lib/", "/lib/", 1) for c in candidates if c.startswith("/usr/lib/")]
        candidates += [c.replace("/lib/", "/usr/lib/", 1) for c in candidates if c.startswith("/lib/")]
        for c in candidates:
            r = subprocess.run(["dpkg", "-S", c], capture_output=True, text=True, check=False)
            if r.returncode == 0 and r.stdout:
                found[path] = r.stdout.split(":", 1)[0].strip()
                break
    return found


def check_depends(bundle: Path, depends: Sequence[str] = DEPENDS) -> list[str]:
    """Problems with DEPENDS for this bundle: a linked system library whose package is not declared."""
    declared = {d.split()[0] for d in depends}
    resolved, missing = external_libraries(bundle)
    owners = packages_of(resolved.values())
    problems = []
    for name, path in sorted(resolved.items()):
        pkg = owners.get(path)
        if pkg is None:
            problems.append(f"{name} ({path}) belongs to no Debian package")
        elif pkg.split(":")[0] not in declared:
            problems.append(f"{name} comes from {pkg}, which is not in DEPENDS")
    if missing:
        print(f"deb: not installed on this machine, so not checked: {', '.join(sorted(missing))}")
    return problems


def validate_resources() -> None:
    """Check the desktop entry and the AppStream metainfo with freedesktop's validators, where installed
    (desktop-file-utils, appstream); CalledProcessError on a finding that is an error."""
    if shutil.which("desktop-file-validate"):
        _run(["desktop-file-validate", RESOURCES / f"{APP_ID}.desktop"])
    if shutil.which("appstreamcli"):
        _run(["appstreamcli", "validate", "--no-net", RESOURCES / f"{APP_ID}.metainfo.xml"])


def build_deb(bundle: Path | None = None) -> Path:
    """dist/peerwallet_<version>_<arch>.deb from the bundle (built first when missing)."""
    bundle = bundle or DIST / APP_NAME
    if not (bundle / APP_NAME).exists():
        bundle = build_bundle()
    if not (ICONS / "16x16.png").exists():
        build_icons()
    validate_resources()
    problems = check_depends(bundle)
    if problems:
        raise SystemExit("deb: Depends is incomplete:\n  " + "\n  ".join(problems))
    version, arch = project_version(), deb_architecture()
    root = stage_deb(bundle, BUILD / "deb" / APP_NAME)
    control = root / "DEBIAN"
    control.mkdir(mode=0o755)
    (control / "control").write_text(control_text(version, arch, installed_size_kib(root)), encoding="utf-8")
    (control / "control").chmod(0o644)
    out = DIST / f"{APP_NAME}_{debian_version(version)}_{arch}.deb"
    _run(["dpkg-deb", "--root-owner-group", "-Zzstd", "--build", root, out])
    print(f"deb: {out} ({out.stat().st_size / 2**20:.1f} MiB)")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="build.py", description="Build Peerwallet's bundle and installers.")
    parser.add_argument("target", nargs="?", default="all", choices=("rcc", "icons", "bundle", "deb", "all"))
    args = parser.parse_args(argv)
    if args.target == "rcc":
        build_rcc()
    elif args.target == "icons":
        build_icons()
    elif args.target == "bundle":
        build_bundle()
    elif args.target == "deb":
        build_deb()
    else:
        bundle = build_bundle()
        if shutil.which("dpkg-deb"):
            build_deb(bundle)
        else:
            print("deb: skipped (no dpkg-deb on this system)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
