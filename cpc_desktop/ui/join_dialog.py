"""The "Unir residentes" dialog of the sync panel's duplicates tab: the residents of a possible
duplicate side by side, which one to keep, and a confirmation. The join itself is
sync.join_residents (the core refuses anyone but a coordinator), run off the UI thread."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QButtonGroup, QCheckBox, QDialog, QDialogButtonBox, QFrame,
                               QGridLayout, QLabel, QRadioButton, QVBoxLayout, QWidget)

from ..core import display, forms, profile
from ..core.i18n import _, ngettext
from ..sync import JoinSide, join_residents
from .lang import language_bus
from .session import Session
from .tasks import error_text, run_task
from .widgets.fields import tint

# Rows named by an intake field take its label from the form; the others are this dialog's.
ROWS = ("internal_code", "names", profile.DATE_OF_BIRTH, "admission_date", "records")


class JoinResidentsDialog(QDialog):
    """Shows 2 (or more) residents; the ones not kept are joined into the kept one."""

    joined = Signal(str, list)          # kept resident id, joined resident ids

    def __init__(self, session: Session, sides: list[JoinSide], parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("joinResidentsDialog")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.session, self.sides = session, list(sides)
        session.locked.connect(self.reject)
        self.intro = QLabel(wordWrap=True, objectName="joinIntro")
        grid = QGridLayout()
        grid.setHorizontalSpacing(18)
        self.row_labels = {}
        self.choices = QButtonGroup(self)
        self.radios: list[QRadioButton] = []
        for r, key in enumerate(ROWS, start=1):
            label = QLabel(objectName=f"joinRow_{key}")
            tint(label, "#555555")
            self.row_labels[key] = label
            grid.addWidget(label, r, 0, Qt.AlignmentFlag.AlignTop)
        for c, side in enumerate(self.sides, start=1):
            radio = QRadioButton(objectName=f"keepResident{c - 1}")
            self.choices.addButton(radio, c - 1)
            self.radios.append(radio)
            grid.addWidget(radio, 0, c)
            names = " ".join(p for p in (side.name_first, side.name_last) if p)
            for r, text in enumerate((side.internal_code, names,
                                      display.format_date(side.date_of_birth) or "—",
                                      display.format_date(side.admission_date) or "—"), start=1):
                value = QLabel(text, wordWrap=True)
                value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
                grid.addWidget(value, r, c, Qt.AlignmentFlag.AlignTop)
            count = QLabel(objectName=f"joinRecords{c - 1}")
            grid.addWidget(count, len(ROWS), c, Qt.AlignmentFlag.AlignTop)
        grid.setColumnStretch(len(self.sides) + 1, 1)
        frame = QFrame(frameShape=QFrame.Shape.StyledPanel)
        frame.setLayout(grid)
        self.effect = QLabel(wordWrap=True, objectName="joinEffect")
        self.confirm = QCheckBox(objectName="joinConfirm")
        self.message = QLabel(wordWrap=True, objectName="joinMessage")
        tint(self.message, "#a4000f")
        self.message.hide()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.ok = self.buttons.addButton("", QDialogButtonBox.ButtonRole.AcceptRole)
        self.ok.setObjectName("joinButton")
        self.buttons.accepted.connect(self.join)
        self.buttons.rejected.connect(self.reject)
        self.choices.idToggled.connect(lambda *_a: self._update())
        self.confirm.toggled.connect(lambda *_a: self._update())
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addWidget(frame)
        layout.addWidget(self.effect)
        layout.addWidget(self.confirm)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(640)
        language_bus().changed.connect(self.retranslate_ui)
        self.retranslate_ui()

    def retranslate_ui(self, _lang: str = "") -> None:
        self.setWindowTitle(_("Unir residentes duplicados"))
        self.intro.setText(_(
            "Si son la misma niña, niño o adolescente registrado dos veces, elija la ficha que "
            "se conserva. Revise los datos con cuidado: una unión no se puede deshacer desde el "
            "programa."))
        intake = forms.registry().intake
        titles = {"internal_code": _("Código interno"), "names": _("Nombres y apellidos"),
                  profile.DATE_OF_BIRTH: _(profile.label(profile.DATE_OF_BIRTH)),
                  "admission_date": _(intake.field(intake.date_field).label),
                  "records": _("Registros")}
        for key, label in self.row_labels.items():
            label.setText(titles[key])
        for c, (radio, side) in enumerate(zip(self.radios, self.sides)):
            radio.setText(_("Conservar esta ficha"))
            count = self.findChild(QLabel, f"joinRecords{c}")
            count.setText(ngettext("{n} registro", "{n} registros", side.records).format(
                n=side.records))
        self.confirm.setText(_("Confirmo que son la misma persona"))
        self.ok.setText(_("&Unir"))
        self._update()

    def kept(self) -> JoinSide | None:
        i = self.choices.checkedId()
        return self.sides[i] if i >= 0 else None

    def _update(self) -> None:
        keep = self.kept()
        if keep is None:
            self.effect.setText(_("Elija la ficha que se conserva."))
        else:
            others = ", ".join(s.internal_code for s in self.sides if s is not keep)
            self.effect.setText(_(
                "Después de unir: {keep} mostrará todos los registros de {others}, que dejará "
                "de aparecer en la lista, las búsquedas y los reportes. Los datos vacíos de "
                "{keep} se completan con los de la otra ficha; los valores distintos quedan en "
                "«Conflictos» para que usted decida. La unión se envía a los demás equipos en "
                "la próxima sincronización.").format(keep=keep.internal_code, others=others))
        self.ok.setEnabled(keep is not None and self.confirm.isChecked())

    def join(self) -> None:
        keep = self.kept()
        if keep is None or not self.confirm.isChecked() or not self.session.is_unlocked:
            return
        vault = self.session.vault
        others = [s.id for s in self.sides if s is not keep]
        self.buttons.setEnabled(False)
        self.message.hide()

        def work(_p):
            for other in others:
                join_residents(vault, keep.id, other)

        def done(_result) -> None:
            self.accept()
            self.joined.emit(keep.id, others)

        def failed(exc: BaseException) -> None:
            self.buttons.setEnabled(True)
            self.message.setText(error_text(exc))
            self.message.show()

        run_task(self, work, on_success=done, on_failure=failed, label=_("Uniendo…"))
