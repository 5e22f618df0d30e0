; Inno Setup 6 script for Peerwallet's Windows installer. Built by packaging\windows\build.ps1, which passes
; /DAppVersion=<version> and has already put the PyInstaller bundle in dist\peerwallet and the icon in build\icons.
; Per-user install by default (no administrator rights needed); the user may choose all users instead.

#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif
#define AppName "Peerwallet"
#define AppExe "peerwallet.exe"

[Setup]
AppId={{6C1E5A52-8D4B-4C7B-9A0E-5B2F1D3C7E41}
AppName={#AppName}
AppVersion={#AppVersion}
AppPublisher=Peerwallet developers
AppComments=Bitcoin wallet with its own light node
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
OutputDir=..\..\dist
OutputBaseFilename=peerwallet-{#AppVersion}-windows-x64-setup
SetupIconFile=..\..\build\icons\peerwallet.ico
UninstallDisplayIcon={app}\{#AppExe}
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
CloseApplications=yes

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "..\..\dist\peerwallet\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#AppExe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent

; The wallet's data (%LOCALAPPDATA%\peerwallet) is left in place on uninstall: it holds the user's wallet.
