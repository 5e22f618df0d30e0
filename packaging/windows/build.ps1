# Builds Peerwallet's Windows installer: the PyInstaller bundle (packaging/build.py bundle), then an Inno
# Setup installer around it (packaging/windows/peerwallet.iss) -> dist\peerwallet-<version>-windows-x64-setup.exe
#
# Run from the repository root in PowerShell on 64-bit Windows 10/11 with Python 3.11+ and Inno Setup 6:
#   powershell -ExecutionPolicy Bypass -File packaging\windows\build.ps1
# Set $env:ISCC to ISCC.exe's path if Inno Setup is not in its default folder.
# Written for Windows; not run by this project's CI (PyInstaller does not cross-build).
$ErrorActionPreference = "Stop"
Set-Location (Join-Path $PSScriptRoot "..\..")

if (-not (Test-Path ".venv-win\Scripts\python.exe")) { python -m venv .venv-win }
$py = ".venv-win\Scripts\python.exe"
& $py -m pip install --upgrade pip
& $py -m pip install -e . "pyinstaller>=6.10"
if ($LASTEXITCODE -ne 0) { throw "pip install failed" }

& $py packaging\build.py bundle
if ($LASTEXITCODE -ne 0) { throw "bundle build failed" }

$version = & $py -c "import tomllib; print(tomllib.load(open('pyproject.toml', 'rb'))['project']['version'])"
$iscc = if ($env:ISCC) { $env:ISCC } else { Join-Path ${env:ProgramFiles(x86)} "Inno Setup 6\ISCC.exe" }
if (-not (Test-Path $iscc)) { throw "Inno Setup's ISCC.exe not found at $iscc (set `$env:ISCC)" }
& $iscc "/DAppVersion=$version" packaging\windows\peerwallet.iss
if ($LASTEXITCODE -ne 0) { throw "Inno Setup failed" }

# The bundle must pass its self-test. It is a GUI-subsystem program (no console, so its report is not
# shown): wait for it explicitly and judge it by its exit code.
$st = Start-Process -FilePath "dist\peerwallet\peerwallet.exe" -ArgumentList "--selftest" -Wait -PassThru
if ($st.ExitCode -ne 0) { throw "the bundle's self-test failed (exit code $($st.ExitCode))" }
Get-ChildItem dist\*.exe | ForEach-Object { Write-Host "installer: $($_.FullName) ($([math]::Round($_.Length / 1MB, 1)) MiB)" }
