"""Printed forms and supervision packets from a vault: the functions the window and the CLI call.

Every function returns the PDF as bytes, made in memory: nothing touches the disk until the
caller hands the bytes to `write_pdf` with the path the person chose.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from reportlab.platypus import Flowable, NextPageTemplate, PageBreakIfNotEmpty, Paragraph, Spacer

from ..core import attachments as attachment_store
from ..core.display import format_date
from ..core.forms import Form, parse_date
from ..core.i18n import N_, _
from ..core.vault import Record, ResidentSummary, Vault
from . import attached
from .document import FORM_VERSION, RECORD_DATE, CancelFn, Part, ProgressFn, Tracker, build
from .flowables import RefLine, Row, Rule, Stack, TextBlock, WrittenLine
from .formflow import FormRenderer, is_register, orientation
from .language import Lang, PrintCancelled, PrintError, esc
from .styles import ROW_GAP, mm

PACKET_TITLE = N_("Paquete para visita de supervisión")
COVER = N_("Portada")
PREPARED_ON = N_("Fecha de preparación")
PREPARED_BY = N_("Preparado por")
PERIOD = N_("Periodo de los registros")
PERIOD_ALL = N_("todos los registros")
PERIOD_RANGE = N_("del {start} al {end}")
PERIOD_FROM = N_("desde el {start}")
PERIOD_UNTIL = N_("hasta el {end}")
RESIDENTS = N_("Residentes")
FORMS = N_("Formularios")
CONTENTS = N_("Contenido")
PAGE = N_("pág.")
NONE_IN_PERIOD = N_("sin registros en el periodo")
NONE_AT_ALL = N_("sin registros")
RECORDS_N = N_("{n} registros")
ATTACHMENTS_N = N_("{n} adjuntos")
ATTACHMENTS_1 = N_("1 adjunto")
WITH_PHOTO = N_("con la foto")
RECEIVED = N_("Recibido por (nombre e institución):")
SIGNATURE = N_("Firma:")
DATE = N_("Fecha:")
COVER_NOTE = N_("Este paquete contiene los expedientes de niñas, niños y adolescentes bajo "
                "protección. Se entrega en mano a la persona que supervisa, que firma su "
                "recepción. No se envía por correo electrónico ni por mensajería.")


@dataclass(frozen=True)
class Period:
    """Records dated from `start` to `end`, both included; either end may be open."""
    start: dt.date | None = None
    end: dt.date | None = None

    @classmethod
    def of(cls, value) -> "Period | None":
        """None, a Period, or a pair (start, end) of dates, ISO or dd/mm/aaaa text, or None."""
        if value is None or isinstance(value, Period):
            return value
        try:
            start, end = value
        except (TypeError, ValueError):
            raise PrintError(_("El periodo debe ser un par de fechas (desde, hasta).")) from None
        dates: list[dt.date | None] = []
        for raw in (start, end):
            if raw is None or raw == "":
                dates.append(None)
                continue
            day = parse_date(raw)
            if day is None:
                raise PrintError(_("Fecha no válida en el periodo (use dd/mm/aaaa)."))
            dates.append(day)
        if dates[0] and dates[1] and dates[0] > dates[1]:
            raise PrintError(_("El periodo empieza después de terminar."))
        return cls(dates[0], dates[1])

    def holds(self, record: Record) -> bool:
        day = parse_date(record.record_date)
        if day is None:
            return self.start is None and self.end is None
        return (self.start is None or day >= self.start) and (self.end is None or day <= self.end)

    def describe(self, lang: Lang) -> str:
        start = format_date(self.start) if self.start else ""
        end = format_date(self.end) if self.end else ""
        if start and end:
            return lang.inline(PERIOD_RANGE, start=start, end=end)
        if start:
            return lang.inline(PERIOD_FROM, start=start)
        if end:
            return lang.inline(PERIOD_UNTIL, end=end)
        return lang.inline(PERIOD_ALL)


@dataclass
class _Unit:
    """What one part of the document prints."""
    part: Part
    form: Form | None          # None: not a form (a resident's attachments)
    records: list[Record]      # empty for a blank form
    blank: bool = False
    register: bool = False
    content: Callable[[], list[Flowable]] | None = None   # made when laid out


class _Assembler:
    def __init__(self, vault: Vault, lang: Lang):
        self.vault = vault
        self.lang = lang
        self.renderer = FormRenderer(lang)
        self.n = 0

    def key(self) -> str:
        self.n += 1
        return f"p{self.n}"

    def part(self, form: Form, resident: ResidentSummary | None, record: Record | None,
             outline: list[tuple[str, int]]) -> Part:
        code_line = self.lang.primary(FORM_VERSION).format(code=form.code, version=form.version)
        date = ""
        if record is not None and form.per_resident == "many" and record.record_date:
            date = self.lang.primary(RECORD_DATE).format(date=format_date(record.record_date))
        return Part(self.key(), form.title, code_line=code_line,
                    resident_code=resident.internal_code if resident else None,
                    record_date=date, outline=outline)

    def units_for(self, resident: ResidentSummary, form: Form, period: Period | None,
                  first_outline: list[tuple[str, int]]) -> list[_Unit]:
        """A resident's records of one form: one unit per record, or one table for a register
        form; none when the resident has no record (in the period)."""
        records = self.vault.records(resident.id, form.form)
        if form.per_resident == "many" and period is not None:
            records = [r for r in records if period.holds(r)]
        if not records:
            return []
        title = self.lang.primary(form.title)
        if is_register(form):
            # Entries of an older version print in that version's columns, as written: one
            # table per version, in the order they were first written.
            by_version: dict[int, tuple[Form, list[Record]]] = {}
            for record in records:
                written = self.as_written(form, record)
                by_version.setdefault(id(written), (written, []))[1].append(record)
            return [_Unit(self.part(written, resident, None,
                                    (first_outline + [(title, 1)]) if i == 0 else []),
                          written, group, register=True)
                    for i, (written, group) in enumerate(by_version.values())]
        units = []
        for i, record in enumerate(records):
            label = title
            if form.per_resident == "many" and record.record_date:
                label = f"{title} — {format_date(record.record_date)}"
            outline = (first_outline if i == 0 else []) + [(label, 1)]
            written = self.as_written(form, record)
            units.append(_Unit(self.part(written, resident, record, outline), written, [record]))
        return units

    def as_written(self, form: Form, record: Record) -> Form:
        """The definition of the version the record was written with: an old record prints
        as it was filled in, until someone edits (and so upgrades) it."""
        return self.vault.forms.at_version(form.form, record.form_version)

    def story(self, units: list[_Unit], tracker: Tracker, *, page: str | None = None
              ) -> list[Flowable]:
        """Each unit on new pages, turned when its form prints otherwise than the pages before
        (`page`: the orientation the story starts on; None: the first unit's)."""
        story: list[Flowable] = []
        for unit in units:
            turn = orientation(unit.form) if unit.form is not None else "portrait"
            if page is not None and turn != page:
                story.append(NextPageTemplate(turn))
            page = turn
            story.append(PageBreakIfNotEmpty())
            story.append(tracker.start(unit.part))
            story.extend(self.body(unit))
        return story

    def body(self, unit: _Unit) -> list[Flowable]:
        if unit.content is not None:
            return unit.content()
        assert unit.form is not None
        return self.renderer.body(unit.form, None if unit.blank else
                                  [rec.values for rec in unit.records])

    def attachments_unit(self, resident: ResidentSummary, photo: bool,
                         outline: list[tuple[str, int]]) -> tuple[_Unit | None, int]:
        """The part listing a resident's attachments (and the photo when asked for), with
        how many there are; no part when there is nothing to print."""
        items = attachment_store.list_for(self.vault, resident.id)
        if not items and not photo:
            return None, 0
        title = self.lang.primary(attached.ATTACHMENTS_TITLE)
        part = Part(self.key(), attached.ATTACHMENTS_TITLE,
                    resident_code=resident.internal_code, outline=outline + [(title, 1)])
        return _Unit(part, None, [], content=lambda: attached.body(
            self.vault, self.renderer, items, photo=photo)), len(items)


def _resident(vault: Vault, ref: str) -> ResidentSummary:
    return vault.find_resident(str(ref))


def render_form(vault: Vault, form_id: str, *, record_id: str | None = None,
                resident_id: str | None = None, blank: bool = False, lang: str = "es",
                period=None, today: dt.date | None = None) -> bytes:
    """One form as a PDF (bytes).

    * `blank=True`: the empty form for handwriting; with `resident_id`, the resident's
      internal code is printed in the header, otherwise the code box is left to fill in.
    * `record_id`: that record, filled (it must be a record of `form_id`).
    * `resident_id` alone: the resident's records of that form — the one record of a "one"
      form; every record of a "many" form (each on its own pages), or, for a short register
      form such as the services log, one table of all of them; `period` (start, end) limits
      "many" forms to records dated inside it.
    * `lang`: "es", "qu" or "es+qu" (labels in Spanish with the Quechua under them).

    Raises UnknownForm, UnknownLanguage, NotFound (resident or record), PrintError (nothing to
    print). Values that do not fit the definition print as they are.
    """
    language = Lang(lang)
    form = vault.forms.get(form_id)
    period = Period.of(period)
    asm = _Assembler(vault, language)
    resident = _resident(vault, resident_id) if resident_id else None
    title = language.primary(form.title)
    if blank:
        units = [_Unit(asm.part(form, resident, None, [(title, 0)]), form, [], blank=True)]
    elif record_id:
        record = vault.get(record_id)
        if record.form != form.form or record.deleted:
            raise PrintError(_("Ese registro no es un formulario «{form}» vigente.").format(
                form=language.primary(form.title)))
        resident = vault.resident(record.resident_id)
        written = asm.as_written(form, record)
        units = [_Unit(asm.part(written, resident, record, [(title, 0)]), written, [record],
                       register=is_register(written))]
    elif resident is not None:
        units = asm.units_for(resident, form, period, [])
        for unit in units:
            unit.part.outline = [(t, 0) for t, _level in unit.part.outline]
        if not units:
            raise PrintError(_("Esta residente no tiene registros de «{form}»{period}. Puede "
                               "imprimir el formulario en blanco.").format(
                form=language.primary(form.title),
                period=" (" + period.describe(language) + ")" if period else ""))
    else:
        raise PrintError(_("Indique la residente o el registro que quiere imprimir, o pida "
                           "el formulario en blanco."))
    tracker = Tracker(language, vault.shelter_code, vault.shelter_name, today=today)
    return build(asm.story(units, tracker), tracker, title=title,
                 landscape_first=orientation(form) == "landscape")


def render_values(form_id: str, values: dict | None, *, shelter_code: str, shelter_name: str,
                  resident_code: str | None = None, lang: str = "es",
                  today: dt.date | None = None) -> bytes:
    """One form filled with `values` (field id → value) that need not be stored or valid: a
    form being edited, a draft, an imported record. Values that do not fit the definition
    print as they are; `values=None` gives the blank form."""
    from ..core.forms import registry

    language = Lang(lang)
    form = registry().get(form_id)
    renderer = FormRenderer(language)
    part = Part("p1", form.title, code_line=language.primary(FORM_VERSION).format(
        code=form.code, version=form.version), resident_code=resident_code,
        outline=[(language.primary(form.title), 0)])
    tracker = Tracker(language, shelter_code, shelter_name, today=today)
    story = [tracker.start(part)] + renderer.body(form, None if values is None else [values])
    return build(story, tracker, title=language.primary(form.title),
                 landscape_first=orientation(form) == "landscape")


def render_packet(vault: Vault, resident_ids: Sequence[str], form_ids: Sequence[str], *,
                  lang: str = "es", period=None, prepared_by: str = "",
                  attachments: bool = True, photos: bool = False,
                  progress: ProgressFn | None = None, cancel: CancelFn | None = None,
                  today: dt.date | None = None) -> bytes:
    """The supervision visit packet as one PDF (bytes).

    A cover page (shelter, date, who prepared it, period, contents with page numbers and a
    receipt to sign), then for each resident, in the order given, each form in the order
    given: "one" forms filled; "many" forms every record dated in `period` (start, end);
    short register forms (the services log) as one table per resident. PDF bookmarks: one
    per resident, one per form under it. Residents may be given by id or internal code.
    `attachments`: after a resident's forms, the list of the resident's attachments (type,
    date, note, file name; never their content); `photos`: the resident's photo printed
    there too (only when the person asked for it).

    `progress(done, total)` is called as parts are laid out (total = cover + every form
    printed; done == total at the end); `cancel()` is asked between parts and, when it
    returns True, PrintCancelled is raised and nothing is returned.
    """
    language = Lang(lang)
    form_list = [vault.forms.get(f) for f in dict.fromkeys(form_ids)]
    if not form_list:
        raise PrintError(_("Elija al menos un formulario para el paquete."))
    refs = list(dict.fromkeys(str(r) for r in resident_ids))
    if not refs:
        raise PrintError(_("Elija al menos una residente para el paquete."))
    period = Period.of(period)
    asm = _Assembler(vault, language)
    residents = [_resident(vault, ref) for ref in refs]
    cover = Part(asm.key(), PACKET_TITLE, show_code_box=False,
                 outline=[(language.primary(COVER), 0)])
    units: list[_Unit] = []
    contents: list[tuple[ResidentSummary, list[tuple[Form, list[_Unit]]],
                         tuple[_Unit, int] | None]] = []
    for resident in residents:
        if cancel and cancel():
            raise PrintCancelled(_("Impresión cancelada; no se ha guardado nada."))
        outline = [(resident.internal_code, 0)]
        per_form = []
        for form in form_list:
            found = asm.units_for(resident, form, period, outline)
            if found:
                outline = []
            per_form.append((form, found))
            units.extend(found)
        extra = None
        if attachments or photos:
            unit, count = asm.attachments_unit(resident, photos, outline)
            if unit is not None:
                units.append(unit)
                extra = (unit, count)
        contents.append((resident, per_form, extra))
    tracker = Tracker(language, vault.shelter_code, vault.shelter_name, packet=True,
                      total_parts=1 + len(units), progress=progress, cancel=cancel, today=today)
    story = [tracker.start(cover)]
    story.extend(_cover(asm, tracker, form_list, contents, period, prepared_by, photos))
    story.extend(asm.story(units, tracker, page="portrait"))
    return build(story, tracker, title=language.primary(PACKET_TITLE))


def _cover(asm: _Assembler, tracker: Tracker, form_list: list[Form], contents, period,
           prepared_by: str, photo: bool) -> list[Flowable]:
    lang, r = asm.lang, asm.renderer
    st = r.st
    out: list[Flowable] = [Spacer(0, 6 * mm), TextBlock(r.runs(PACKET_TITLE, "title"), center=True),
                           Spacer(0, 2 * mm),
                           Paragraph(esc(f"{tracker.shelter_name} · {tracker.shelter_code}"),
                                     st.subtitle), Spacer(0, 8 * mm)]
    facts = [
        (PREPARED_ON, format_date(tracker.today)),
        (PREPARED_BY, prepared_by.strip() or "—"),
        (PERIOD, period.describe(lang) if period else lang.inline(PERIOD_ALL)),
        (RESIDENTS, str(len(contents))),
        (FORMS, ", ".join(lang.primary(f.title) for f in form_list)),
    ]
    for msgid, value in facts:
        out.append(Paragraph(f"<b>{esc(lang.inline(msgid))}:</b> {esc(value)}", st.body))
    out += [Spacer(0, 4 * mm), Paragraph(esc(lang.inline(COVER_NOTE)), st.small),
            Spacer(0, 3 * mm)]
    receipt = [WrittenLine(lang.inline(RECEIVED), 8), Row(
        [WrittenLine(lang.inline(SIGNATURE), 8), WrittenLine(lang.inline(DATE), 8)], [0.6, 0.4])]
    out += [Stack(receipt, gap=3), Spacer(0, 6 * mm), r.para(CONTENTS, "section"),
            Rule(0.8, 0.5, 2.5)]
    page_word = lang.primary(PAGE)
    for resident, per_form, extra in contents:
        out.append(Spacer(0, 1.2 * mm))
        out.append(Paragraph(f"<b>{esc(resident.internal_code)}</b>", st.body))
        for form, units in per_form:
            title = lang.primary(form.title)
            if not units:
                gone = NONE_IN_PERIOD if period and form.per_resident == "many" else NONE_AT_ALL
                out.append(Paragraph(f"{esc(title)} <i>({esc(lang.primary(gone))})</i>",
                                     _indented(st.small)))
                continue
            for unit in units:
                text = title
                if unit.register:
                    text += " (" + lang.primary(RECORDS_N).format(n=len(unit.records)) + ")"
                elif unit.part.record_date:
                    text += " — " + format_date(unit.records[0].record_date)
                key = unit.part.key

                out.append(_ref_line(tracker, text, key, page_word, st.small))
        if extra is not None:
            unit, count = extra
            many = lang.primary(ATTACHMENTS_N).format(n=count) if count != 1 \
                else lang.primary(ATTACHMENTS_1)
            text = lang.primary(attached.ATTACHMENTS_TITLE) + " (" + many + (
                ", " + lang.primary(WITH_PHOTO) if photo else "") + ")"
            out.append(_ref_line(tracker, text, unit.part.key, page_word, st.small))
    out.append(Spacer(0, ROW_GAP))
    return out


def _ref_line(tracker: Tracker, text: str, key: str, page_word: str, style) -> RefLine:
    """A line of the contents with the page number of part `key` at its right."""
    def on_draw(canv, x, y):
        tracker.note_ref(canv, x, y, key, page_word)
    return RefLine(Paragraph(esc(text), _indented(style)), on_draw)


def _indented(style):
    from reportlab.lib.styles import ParagraphStyle

    return ParagraphStyle(style.name + "_ind", parent=style, leftIndent=6 * mm)
