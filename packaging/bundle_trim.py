"""What the PyInstaller bundle leaves out, as plain functions over its TOC entries (used by
peerwallet.spec, unit-tested on their own).

Three cuts, applied in order:
- Qt parts the window never uses: translations (the UI is English only), plugins for embedded
  displays, input methods and GTK theming, rare image formats;
- on Linux, system libraries that must match the rest of the desktop (the C++ runtime that Mesa's
  drivers also load, fontconfig and its config files, GLib, D-Bus, X11/xcb, xkbcommon, Wayland):
  the `.deb` declares them as Depends instead, so the system's copies are used;
- shared libraries that no longer have a user once the first two cuts are done (found by walking
  the ELF imports from every Python extension, Qt library and kept plugin).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterable, Sequence

#: A PyInstaller TOC entry: (name inside the bundle, source path, type code).
Entry = tuple[str, str, str]

#: Qt plugin folders kept whole; anything in another plugin folder is dropped.
KEEP_PLUGIN_DIRS = frozenset(
    {
        "platforms",  # filtered further by KEEP_PLATFORMS
        "xcbglintegrations",
        "wayland-shell-integration",
        "wayland-graphics-integration-client",
        "wayland-decoration-client",
        "imageformats",  # filtered further by KEEP_IMAGE_FORMATS
        "iconengines",
        "platforminputcontexts",  # filtered further by DROP_PLUGINS
        "platformthemes",  # filtered further by DROP_PLUGINS
        "tls",
        "styles",  # the native Windows style
    }
)
#: Platform plugins: X11, Wayland, offscreen (the self-test), minimal; Windows and macOS.
KEEP_PLATFORMS = ("libqxcb", "libqwayland", "libqoffscreen", "libqminimal.", "qwindows", "qoffscreen", "qminimal",
                  "libqcocoa")
KEEP_IMAGE_FORMATS = ("qsvg", "qico", "qjpeg", "qgif", "qicns")
#: The virtual keyboard needs QtQuick; the GTK3 theme drags in GTK's whole library stack.
DROP_PLUGINS = ("qtvirtualkeyboardplugin", "libqgtk3")
#: Qt libraries only the dropped plugins and modules need.
DROP_QT_LIBS = ("libQt6Qml", "libQt6Quick", "libQt6WebEngine", "libQt6Pdf", "libQt6Multimedia", "libQt63D",
                "libQt6VirtualKeyboard", "libQt6Designer", "libQt6EglFS", "libQt6EglFs")
#: Linux libraries taken from the system (each one's package is in build.DEPENDS).
SYSTEM_LIB_PREFIXES = (
    "libstdc++.so", "libgcc_s.so", "libfontconfig.so", "libfreetype.so", "libglib-2.0.so", "libgobject-2.0.so",
    "libgio-2.0.so", "libgmodule-2.0.so", "libgthread-2.0.so", "libdbus-1.so", "libX11.so", "libX11-xcb.so",
    "libXau.so", "libXdmcp.so", "libxcb", "libxkbcommon", "libwayland-",
)


def _norm(name: str) -> str:
    return name.replace("\\", "/")


def basename(name: str) -> str:
    """The file name of a bundle path (either slash)."""
    return _norm(name).rsplit("/", 1)[-1]


def keep_entry(name: str, *, linux: bool = True) -> bool:
    """False for a bundle path the first two cuts drop (see the module docstring)."""
    path = "/" + _norm(name)
    file = basename(name)
    if "/translations/" in path:
        return False
    if file.startswith(DROP_QT_LIBS):
        return False
    if "/plugins/" in path:
        folder = path.split("/plugins/", 1)[1].split("/", 1)[0]
        if folder not in KEEP_PLUGIN_DIRS or any(d in file for d in DROP_PLUGINS):
            return False
        if folder == "platforms" and not file.startswith(KEEP_PLATFORMS):
            return False
        if folder == "imageformats" and not any(f in file for f in KEEP_IMAGE_FORMATS):
            return False
    return not (linux and "/" not in _norm(name) and file.startswith(SYSTEM_LIB_PREFIXES))


def is_plain_dependency(name: str) -> bool:
    """True for a shared library PyInstaller copied to the bundle's top level only because some other
    binary links to it (not a Python extension, not the Python runtime, not under a package folder)."""
    file = basename(name)
    if "/" in _norm(name) or ".cpython-" in file or ".abi3." in file or file.startswith("libpython"):
        return False
    return ".so" in file or file.endswith((".dll", ".dylib"))


def elf_needed(path: str) -> list[str]:
    """The DT_NEEDED entries of one ELF file (its direct links, as `objdump -p` lists them); [] for
    anything that is not ELF. binutils' objdump is a PyInstaller build requirement on Linux anyway."""
    try:
        out = subprocess.run(["objdump", "-p", path], capture_output=True, text=True, check=False).stdout
    except OSError:
        return []
    return [line.split()[1] for line in out.splitlines() if line.strip().startswith("NEEDED") and len(line.split()) > 1]


def _reach(starts: Iterable[Entry], deps: dict[str, Entry], imports_of: Callable[[str], Iterable[str]]) -> set[str]:
    """File names of the plain dependencies reachable from `starts` through `deps`' import links."""
    queue = list(starts)
    seen: set[str] = set()
    while queue:
        entry = queue.pop()
        for lib in imports_of(entry[1]):
            name = basename(lib)
            if name in deps and name not in seen:
                seen.add(name)
                queue.append(deps[name])
    return seen


def prune_orphans(
    kept: Sequence[Entry], dropped: Sequence[Entry], imports_of: Callable[[str], Iterable[str]]
) -> list[Entry]:
    """`kept` without the plain dependencies that only dropped entries linked to.

    `imports_of(source_path)` names the libraries one binary links to (file names, e.g. "libz.so.1").
    Only libraries a dropped entry reaches are candidates, so a library nothing links to (one a
    package loads with ctypes) stays; a candidate goes unless a kept entry still reaches it.
    """
    deps = {basename(e[0]): e for e in kept if is_plain_dependency(e[0])}
    candidates = _reach(dropped, deps, imports_of)
    roots = [e for e in kept if not is_plain_dependency(e[0]) or basename(e[0]) not in candidates]
    needed = _reach(roots, deps, imports_of)
    orphans = candidates - needed
    return [e for e in kept if basename(e[0]) not in orphans]


def trim(entries: Sequence[Entry], imports_of: Callable[[str], Iterable[str]], *, linux: bool = True) -> list[Entry]:
    """All three cuts over the binaries TOC (the orphan cut on Linux only: elsewhere the bootloader
    loads some libraries by name, which no import link shows)."""
    kept = [e for e in entries if keep_entry(e[0], linux=linux)]
    if not linux:
        return kept
    dropped = [e for e in entries if not keep_entry(e[0], linux=linux)]
    return prune_orphans(kept, dropped, imports_of)
