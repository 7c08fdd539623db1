; CPC Desktop: Windows installer script (Inno Setup 6.3 or newer).
;
; Input:  the PyInstaller one-folder build in dist\cpc-desktop\ (packaging\cpc-desktop.spec).
; Build:  iscc /DAppVersion=<version> packaging\windows\cpc-desktop.iss
;         (the version is cpc_desktop.__version__, the single source; see packaging\README.md)
; Output: dist\cpc-desktop-<version>-windows-x64-setup.exe
;
; Per-user install, no administrator rights: the program goes to
; %LOCALAPPDATA%\Programs\CPC Desktop and the Start-menu entry to the user's own menu.
;
; VAULTS ARE NEVER DELETED. The program keeps vaults in %LOCALAPPDATA%\cpc-desktop\
; (platformdirs.user_data_dir("cpc-desktop", appauthor=False), see cpc_desktop/core/vault.py),
; a folder outside the install folder, and backups wherever the shelter chose (a USB stick).
; The uninstaller removes only the files this script installed: there is deliberately no
; [UninstallDelete] section, the install folder cannot be changed to point at the data folder
; (DisableDirPage), and [InstallDelete] touches only {app}\_internal (the program's libraries).

#ifndef AppVersion
  #error Pass the version: iscc /DAppVersion=x.y.z (python -c "import cpc_desktop; print(cpc_desktop.__version__)")
#endif

#define AppName "CPC Desktop"
#define AppExe "cpc-desktop.exe"
#define Root "..\.."

[Setup]
; The AppId identifies the program across versions (updates replace it); never change it.
AppId={{6E1B1C7A-0C43-4E55-9C2B-7B8E3F1D2A90}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=Alianza CPC
AppComments=Registros cifrados, formularios e impresión para centros de acogida residencial
PrivilegesRequired=lowest
DefaultDirName={localappdata}\Programs\{#AppName}
DisableDirPage=yes
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
LicenseFile={#Root}\LICENSE
OutputDir={#Root}\dist
OutputBaseFilename=cpc-desktop-{#AppVersion}-windows-x64-setup
SetupIconFile=cpc-desktop.ico
UninstallDisplayIcon={app}\{#AppExe}
UninstallDisplayName={#AppName} {#AppVersion}
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
; A running copy holds its files open: ask to close it rather than fail half-way.
CloseApplications=yes
RestartApplications=no

[Languages]
Name: "es"; MessagesFile: "compiler:Languages\Spanish.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[InstallDelete]
; An update replaces the program's libraries as a whole: files of an older build left beside
; the new ones could be loaded by mistake. Only the program folder's _internal, never data.
Type: filesandordirs; Name: "{app}\_internal"

[Files]
Source: "{#Root}\dist\cpc-desktop\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs
Source: "{#Root}\LICENSE"; DestDir: "{app}"; DestName: "LICENSE.txt"; Flags: ignoreversion

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\{#AppExe}"
Name: "{group}\{cm:UninstallProgram,{#AppName}}"; Filename: "{uninstallexe}"
Name: "{userdesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent

[Code]
// Says plainly, after uninstalling, that the records are still there and where.
procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
begin
  if (CurUninstallStep = usPostUninstall) and not UninstallSilent then
    MsgBox('CPC Desktop se desinstaló. Las bóvedas NO se borraron: siguen en ' +
           ExpandConstant('{localappdata}\cpc-desktop') +
           ', y las copias de seguridad siguen donde se guardaron.', mbInformation, MB_OK);
end;
