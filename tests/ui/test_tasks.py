"""Work that ends after the window it would update was closed."""
import threading

from PySide6.QtWidgets import QDialog, QSpinBox

from cpc_desktop.ui.tasks import run_task


def test_a_task_ending_after_its_window_closed_does_not_touch_it(qtbot):
    # The backups dialog closed while it still loaded its list: the load's result then
    # reached a deleted spin box and raised in the event loop.
    dialog = QDialog()
    spin = QSpinBox(dialog)
    release = threading.Event()
    seen = []

    def work(_progress):
        release.wait(10)
        return 3

    def loaded(value):
        seen.append(value)
        spin.setValue(value)

    task = run_task(dialog, work, on_success=loaded, show_progress=False)
    dialog.deleteLater()
    qtbot.waitUntil(lambda: not _alive(spin), timeout=5_000)
    release.set()
    qtbot.waitUntil(lambda: task.finished, timeout=10_000)
    qtbot.wait(50)
    assert seen == [], "the result was handed to a window that no longer exists"


def _alive(widget) -> bool:
    import shiboken6
    return shiboken6.isValid(widget)


def test_a_failure_after_its_window_closed_is_still_told(qtbot):
    from cpc_desktop.core.errors import CpcError

    dialog = QDialog()
    release = threading.Event()
    handled = []

    def work(_progress):
        release.wait(10)
        raise CpcError("El disco está lleno.")

    task = run_task(dialog, work, on_failure=handled.append, show_progress=False)
    dialog.deleteLater()
    qtbot.waitUntil(lambda: not _alive(dialog), timeout=5_000)
    release.set()
    qtbot.waitUntil(lambda: task.finished, timeout=10_000)
    qtbot.waitUntil(lambda: bool(_boxes()), timeout=5_000)
    assert handled == [], "the failure was handed to a window that no longer exists"
    assert any("disco está lleno" in b.text() for b in _boxes()), "the failure was not told"
    for box in _boxes():
        box.close()


def _boxes():
    from PySide6.QtWidgets import QApplication, QMessageBox
    return [w for w in QApplication.topLevelWidgets()
            if isinstance(w, QMessageBox) and w.objectName() == "errorBox" and w.isVisible()]
