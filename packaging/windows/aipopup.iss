; Inno Setup script for AI Popup (Inno Setup 6). The version is never written here: the release
; workflow passes the package's own, aipopup.__version__, on the command line:
;
;   iscc /DAppVersion=X.Y.Z /DSourceDir=..\..\dist\aipopup /DIconFile=..\..\build\icons\aipopup.ico packaging\windows\aipopup.iss
;
; SourceDir is the PyInstaller one-folder build (aipopup.exe for the command line, aipopupw.exe
; without a console for shortcuts and "Open with"). Installs per user by default (no admin
; prompt); an administrator can choose all users in the dialog.

#ifndef AppVersion
  #error Pass /DAppVersion=<aipopup.__version__>; the version has one source, the Python package.
#endif
#ifndef SourceDir
  #define SourceDir "..\..\dist\aipopup"
#endif
#ifndef IconFile
  #define IconFile "..\..\build\icons\aipopup.ico"
#endif
#ifndef OutputDir
  #define OutputDir "..\..\dist"
#endif

#define AppName "AI Popup"
#define AppExe "aipopupw.exe"
#define AppProgId "AIPopup.Media"

[Setup]
; A fixed AppId keeps upgrades in place and the uninstall entry single: never change it.
AppId={{968AC301-F5B3-4ACA-A989-0F7BF199A3AD}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=AI Popup developers
VersionInfoVersion={#AppVersion}
DefaultDirName={autopf}\AI Popup
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir={#OutputDir}
OutputBaseFilename=aipopup-{#AppVersion}-windows-x64-setup
SetupIconFile={#IconFile}
UninstallDisplayIcon={app}\{#AppExe}
UninstallDisplayName={#AppName} {#AppVersion}
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
ChangesAssociations=yes
CloseApplications=yes

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"

[Files]
Source: "{#SourceDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\{#AppExe}"
Name: "{group}\Uninstall {#AppName}"; Filename: "{uninstallexe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Registry]
; "Open with AI Popup" for photos and videos: a ProgID plus OpenWithProgids entries, so Windows
; offers it without taking over the user's default program. Removed again on uninstall.
Root: HKA; Subkey: "Software\Classes\{#AppProgId}"; ValueType: string; ValueName: ""; ValueData: "Photo or video for AI Popup"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\{#AppProgId}\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\{#AppExe},0"
Root: HKA; Subkey: "Software\Classes\{#AppProgId}\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExe}"" ""%1"""
Root: HKA; Subkey: "Software\Classes\Applications\{#AppExe}"; ValueType: string; ValueName: "FriendlyAppName"; ValueData: "{#AppName}"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\Applications\{#AppExe}\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExe}"" ""%1"""
; (ISPP does not expand {#...} inside its own string expressions, hence the concatenation.)
#define Assoc(Ext) 'Root: HKA; Subkey: "Software\Classes\' + Ext + '\OpenWithProgids"; ValueType: string; ValueName: "' + AppProgId + '"; ValueData: ""; Flags: uninsdeletevalue' + NewLine + 'Root: HKA; Subkey: "Software\Classes\Applications\' + AppExe + '\SupportedTypes"; ValueType: string; ValueName: "' + Ext + '"; ValueData: ""'
#emit Assoc(".jpg")
#emit Assoc(".jpeg")
#emit Assoc(".jfif")
#emit Assoc(".png")
#emit Assoc(".webp")
#emit Assoc(".bmp")
#emit Assoc(".tif")
#emit Assoc(".tiff")
#emit Assoc(".mp4")
#emit Assoc(".mov")
#emit Assoc(".mkv")
#emit Assoc(".avi")
#emit Assoc(".webm")
#emit Assoc(".m4v")

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent
