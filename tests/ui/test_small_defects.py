"""Small defects a new coordinator met (issue 16), each checked as they would meet it."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QFileDialog

from cpc_desktop.ui.main_window import MainWindow
from cpc_desktop.ui.settings import Settings


# ====================================================================== creating the vault

def test_enter_in_repitala_creates_the_vault_not_the_folder_picker(fresh_window, qtbot,
                                                                   monkeypatch, tmp_path):
    asked = []
    monkeypatch.setattr(QFileDialog, "getExistingDirectory",
                        staticmethod(lambda *a, **k: asked.append(a) or ""))
    dialog = fresh_window.create_vault()
    dialog.folder = tmp_path / "boveda"
    dialog.code.setText("LOR-09")
    dialog.shelter.setText("Casa Ficticia")
    dialog.display_name.setText("Rosa Ficticia")
    dialog.login.setText("rosa")
    dialog.pair.first.setText("una frase ficticia larga")
    qtbot.keyClicks(dialog.pair.second, "una frase ficticia larga")
    with qtbot.waitSignal(dialog.created, timeout=20_000):
        qtbot.keyClick(dialog.pair.second, Qt.Key.Key_Return)
    assert asked == [], "Enter opened the folder picker"
    assert (tmp_path / "boveda" / "keyslots.json").is_file()


def test_the_password_rule_is_told_first_and_its_error_goes_once_fixed(fresh_window, qtbot):
    dialog = fresh_window.create_vault()
    assert "10 caracteres" in dialog.pair.hint.text(), "the rule is only told after a refusal"
    dialog.code.setText("LOR-09")
    dialog.shelter.setText("Casa Ficticia")
    dialog.display_name.setText("Rosa Ficticia")
    dialog.login.setText("rosa")
    dialog.pair.first.setText("corta")
    dialog.pair.second.setText("corta")
    dialog.ok.click()
    assert "al menos 10" in dialog.message.text()
    assert "Faltan 5 caracteres" in dialog.pair.hint.text()
    dialog.pair.first.setText("una frase ficticia larga")
    assert "no coinciden" in dialog.message.text(), "the error did not follow the typing"
    dialog.pair.second.setText("una frase ficticia larga")
    assert dialog.message.text() == "" and not dialog.message.isVisibleTo(dialog), \
        "the error stayed after a strong passphrase was typed twice"


# ====================================================================== the lock screen

def _main(qtbot, path=None):
    window = MainWindow(Settings.load(), kdf_seconds=0)
    qtbot.addWidget(window)
    window.start(path)
    window.show()
    return window


def test_a_restart_after_the_demo_opens_the_real_vault_without_demo_or_path(
        qtbot, ui_vault, unlock, tmp_path):
    from cpc_desktop.ui.settings import demo_vault_dir

    real = _main(qtbot, ui_vault.path)
    unlock(real, ui_vault.user, ui_vault.passphrase)
    shelter = f"{real.session.vault.shelter_name} ({real.session.vault.shelter_code})"
    real.session.lock()
    real.close()
    # The demo was tried last on this laptop.
    demo_dir = demo_vault_dir()
    demo_dir.mkdir(parents=True)
    (demo_dir / "keyslots.json").write_text("{}")
    Settings.load().update(last_vault=str(demo_dir), last_user="demo")

    again = _main(qtbot)
    assert again.session.path == ui_vault.path, "a restart reopened the demo vault"
    view = again.unlock_view
    assert view.user.text() == ui_vault.user, "the login is not this vault's last user"
    assert str(ui_vault.path) not in view.where.text(), "the lock screen shows a folder path"
    assert view.where.text() == f"Centro: {shelter}"
    again.session.lock()


def test_demo_is_never_prefilled_on_a_real_vault(qtbot, ui_vault):
    window = _main(qtbot, ui_vault.path)
    window.unlock_view.user.setText("demo")     # left from the demo a moment ago
    window.switch_vault(ui_vault.path)
    window._show("unlock")
    assert window.unlock_view.user.text() != "demo"
    assert not window.unlock_view.where.isVisibleTo(window.unlock_view), \
        "an unknown vault's folder path is on the lock screen"


# ====================================================================== Qt's own dialogs

@pytest.mark.parametrize("language", ["es", "qu"])
def test_the_file_dialog_speaks_spanish_and_says_archivo(qtbot, language):
    from PySide6.QtWidgets import QAbstractButton, QLabel

    from cpc_desktop.ui import lang

    lang.set_language(language)
    dialog = QFileDialog(None, "x", "/tmp", "PDF (*.pdf)")
    dialog.setOption(QFileDialog.Option.DontUseNativeDialog)
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    qtbot.addWidget(dialog)
    dialog.show()
    texts = [w.text() for w in dialog.findChildren(QLabel)]
    texts += [w.toolTip() for w in dialog.findChildren(QAbstractButton)]
    joined = " | ".join(texts)
    assert "&Buscar en:" in texts and "&Tipo de archivo:" in texts, joined
    assert "Look in" not in joined and "Files of" not in joined, joined
    assert "fichero" not in joined.lower(), joined
    assert "Carpeta superior" in texts, joined


# ====================================================================== save folders

def test_pdfs_start_in_documents_and_the_folder_is_remembered(qtbot, monkeypatch, tmp_path,
                                                             ui_dirs):
    from cpc_desktop.ui import pdf_output
    from cpc_desktop.ui.settings import data_dir, documents_folder

    starts, answers = [], [tmp_path / "usb" / "ficha.pdf", None]
    (tmp_path / "usb").mkdir()

    def answer(_parent, _title, start, _filter):
        starts.append(start)
        chosen = answers.pop(0)
        return (str(chosen) if chosen else ""), ""
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(answer))
    assert pdf_output.ask_pdf_path(None, "ficha.pdf") == tmp_path / "usb" / "ficha.pdf"
    assert starts[0].startswith(documents_folder())
    assert not starts[0].startswith(str(data_dir())), "the save dialog starts by the vaults"
    assert pdf_output.ask_pdf_path(None, "otra.pdf") is None
    assert starts[1] == str(tmp_path / "usb" / "otra.pdf"), "the folder was not remembered"


# ====================================================================== the list in Quechua

def test_quechua_headers_and_the_name_column_survives_a_language_round_trip(
        main_window, ui_vault, unlock, qtbot):
    from cpc_desktop.ui import lang
    from cpc_desktop.ui.residents import COLUMN_INDEX

    main_window.resize(1280, 680)
    unlock(main_window, ui_vault.user, ui_vault.passphrase)
    view = main_window.residents_view
    hh = view.table.horizontalHeader()
    qtbot.waitUntil(lambda: hh.sectionSize(COLUMN_INDEX["name"]) > 50, timeout=2000)
    before = hh.sectionSize(COLUMN_INDEX["name"])
    lang.set_language("qu")
    model = view.model
    heads = {k: model.headerData(i, Qt.Orientation.Horizontal) for k, i in COLUMN_INDEX.items()}
    assert heads["code"] != "Código" and heads["risk"] != "Riesgo", heads
    assert hh.sectionSize(COLUMN_INDEX["risk"]) >= view.table.fontMetrics().horizontalAdvance(
        heads["risk"]), "the Quechua header is cut"
    lang.set_language("es")
    qtbot.wait(50)
    assert hh.sectionSize(COLUMN_INDEX["name"]) == before, \
        "the name column stayed narrower after switching back to Spanish"


def test_a_new_resident_window_has_the_keyboard(main_window, ui_vault, unlock, qtbot):
    from cpc_desktop.ui.resident_window import open_resident

    unlock(main_window, ui_vault.user, ui_vault.passphrase)
    window = open_resident(main_window.session, None, main_window)
    qtbot.addWidget(window)
    main_window.residents_view.search.setFocus()     # where the keyboard was
    qtbot.waitUntil(lambda: window.intake_tab.editor is not None, timeout=5000)
    # Not just somewhere in the window (the offscreen platform activates every new window
    # and Qt then focuses its first button, "Imprimir"): in the form's first field.
    first = next(iter(window.intake_tab.editor.view.fields.boxes.values()))
    qtbot.waitUntil(lambda: QApplication.focusWidget() is first.editor.focus_widget(),
                    timeout=3000)
    assert QApplication.activeWindow() is window


def test_the_sync_panel_fits_a_small_screen(main_window, ui_vault, unlock, monkeypatch):
    from PySide6.QtCore import QRect

    from cpc_desktop.ui import screen_fit

    free = QRect(0, 0, 960, 500)      # a netbook with its taskbar
    monkeypatch.setattr(screen_fit, "available_geometry", lambda widget=None: free)
    unlock(main_window, ui_vault.user, ui_vault.passphrase)
    main_window.sync_menu.open(0)
    panel = main_window.sync_controller.panel
    assert panel.width() + screen_fit.FRAME_MARGIN[0] <= free.width()
    assert panel.height() + screen_fit.FRAME_MARGIN[1] <= free.height()
    panel.close()


# ====================================================================== the vault chooser

def test_the_vault_chooser_names_shelters_and_last_users(main_window, ui_vault, unlock,
                                                         tmp_path):
    import shutil

    unlock(main_window, ui_vault.user, ui_vault.passphrase)
    main_window.session.lock()
    other = tmp_path / "otra-boveda"
    shutil.copytree(ui_vault.path, other)
    main_window.settings.remember_vault(other, code="CUS-02", name="Casa Ficticia del Cusco",
                                        user="psico.prueba", at="2026-11-30T10:00:00")
    chooser = main_window.choose_other_vault()
    assert chooser is not None and chooser.isVisible()
    rows = [[chooser.table.item(r, c).text() for c in range(4)]
            for r in range(chooser.table.rowCount())]
    assert rows == [["Casa Ficticia del Cusco", "CUS-02", "psico.prueba", rows[0][3]]], \
        "the current vault is listed, or another's shelter or user is missing"
    chooser.open_selected()
    assert main_window.session.path == other
    assert main_window.unlock_view.user.text() == "psico.prueba"
    assert main_window.unlock_view.where.text() == "Centro: Casa Ficticia del Cusco (CUS-02)"


# ====================================================================== memory

def test_memory_is_given_back_after_the_list_loads_and_after_a_lock(
        main_window, ui_vault, unlock, qtbot, monkeypatch):
    from cpc_desktop.ui import memory

    calls = []
    real_shrink = memory.shrink_vault
    monkeypatch.setattr(memory, "shrink_vault",
                        lambda vault: calls.append("shrink") or real_shrink(vault))
    monkeypatch.setattr(memory, "release", lambda: calls.append("release"))
    unlock(main_window, ui_vault.user, ui_vault.passphrase)
    assert calls == ["shrink"], "the page cache was not dropped after loading the list"
    vault = main_window.session.vault
    assert len(vault.residents()) == main_window.residents_view.model.rowCount(), \
        "the vault does not work after its cache was dropped"
    main_window.lock()
    qtbot.waitUntil(lambda: calls[-1:] == ["release"], timeout=2000)
    assert isinstance(memory.trim(), bool)


def test_the_guide_says_it_is_in_spanish_to_a_quechua_reader_and_takes_the_keyboard(
        main_window, qtbot):
    from cpc_desktop.ui import lang

    guide = main_window.show_guide()
    qtbot.addWidget(guide)
    assert guide.language_note.isHidden(), "a Spanish reader needs no note"
    qtbot.waitUntil(lambda: QApplication.activeWindow() is guide, timeout=3000)
    lang.set_language("qu")
    try:
        guide_qu = main_window.show_guide()
        qtbot.addWidget(guide_qu)
        note = guide_qu.language_note
        assert not note.isHidden() and "kastilla simi" in note.text().lower()
    finally:
        lang.set_language("es")


def test_the_login_suggested_leaves_out_a_title():
    from cpc_desktop.ui.start import suggest_login

    assert suggest_login("Lic. Nayra Ficticia Mamani") == "nayra.ficticia"
    assert suggest_login("Psic.Rosa Quispe") == "rosa.quispe"
    assert suggest_login("Rosa Quispe Ccori") == "rosa.quispe"
