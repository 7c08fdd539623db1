"""The recovery key sheet: one page with the vault's recovery key and where to keep it."""
from __future__ import annotations

import datetime as dt

from reportlab.lib import colors
from reportlab.platypus import Flowable, Paragraph, Spacer, Table, TableStyle

from ..core import crypto
from ..core.display import format_date
from ..core.i18n import N_
from . import fonts
from .document import Part, Tracker, build
from .flowables import Row, Stack, WrittenLine
from .formflow import FormRenderer
from .language import Lang, esc
from .styles import FRAME_W, mm

TITLE = N_("Clave de recuperación de la bóveda")
SHELTER = N_("Centro")
PRINTED_ON = N_("Fecha de impresión")
KEY_HELP = N_("Escriba los seis grupos en este orden. No importa si usa mayúsculas o "
              "minúsculas, ni si pone guiones o espacios entre los grupos.")
WHAT = N_("Qué es esta clave")
WHAT_TEXT = N_("Esta clave abre la bóveda del centro cuando nadie recuerda su contraseña: con "
               "ella la coordinación pone una contraseña nueva. Quien tenga esta hoja y la "
               "computadora, o una copia de seguridad, puede leer todos los expedientes de las "
               "niñas, niños y adolescentes.")
WHERE = N_("Dónde guardarla")
WHERE_ITEMS = (
    N_("Guarde esta hoja en un sobre cerrado, bajo llave, lejos de la computadora y de las "
       "memorias USB de las copias de seguridad: por ejemplo, en la caja fuerte de la "
       "dirección o de la institución."),
    N_("No la fotografíe, no la escanee, no la copie en la computadora ni en el celular y no "
       "la envíe por correo ni por mensajería."),
    N_("Solo la coordinación del centro debe saber dónde está. Si se pierde o alguien más la "
       "vio, avise de inmediato a la coordinación."),
    N_("No la tire a la basura: si alguna vez deja de servir, destrúyala (quémela o córtela "
       "en pedazos pequeños)."),
)
KEPT_BY = N_("Guardada por:")
KEPT_WHERE = N_("Lugar:")
KEPT_ON = N_("Fecha:")


def render_recovery_sheet(shelter_code: str, shelter_name: str, recovery_key: str, *,
                          lang: str = "es+qu", today: dt.date | None = None) -> bytes:
    """A one-page PDF (bytes) with the recovery key in six groups and instructions on where to
    keep it, in Spanish and Quechua by default (`lang` "es", "qu" or "es+qu").

    The key is only shown when the vault is created, so the caller passes its text; it is
    checked for typing errors (BadRecoveryKey) and printed in its canonical form. Whether it
    belongs to a given vault is the caller's check (KeySlots.unlock_recovery).
    """
    language = Lang(lang)
    canonical = crypto.format_recovery_key(crypto.parse_recovery_key(recovery_key))
    renderer = FormRenderer(language)
    st = renderer.st
    tracker = Tracker(language, shelter_code, shelter_name, today=today)
    part = Part("recovery", TITLE, show_code_box=False, outline=[])
    story: list[Flowable] = [tracker.start(part), Spacer(0, 2 * mm)]
    facts = [(SHELTER, f"{shelter_name} · {shelter_code}"),
             (PRINTED_ON, format_date(tracker.today))]
    for msgid, value in facts:
        story.append(Paragraph(f"<b>{esc(language.inline(msgid))}:</b> {esc(value)}", st.body))
    story.append(Spacer(0, 5 * mm))
    groups = canonical.split("-")
    # Two rows of three numbered groups: big enough to read aloud or type without a slip.
    cells = [f'<font size="8" color="#444444">{i}</font>&nbsp;&nbsp;{g}'
             for i, g in enumerate(groups, 1)]
    key_style = st.body_bold.clone("key", fontSize=24, leading=28, alignment=1)
    rows = [[Paragraph(c, key_style) for c in cells[i:i + 3]] for i in range(0, 6, 3)]
    table = Table(rows, colWidths=[FRAME_W / 3] * 3, rowHeights=[16 * mm] * 2)
    table.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), fonts.REGULAR, 8),
                               ("BOX", (0, 0), (-1, -1), 1.6, colors.black),
                               ("INNERGRID", (0, 0), (-1, -1), 0.8, colors.black),
                               ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
    story += [table, Spacer(0, 1.5 * mm), renderer.para(KEY_HELP, "help"), Spacer(0, 6 * mm)]
    story += _instructions(renderer, language.primary)
    if language.secondary is not None:
        second = _instructions(renderer, language.secondary, only_if_different=language.primary)
        if second:
            story += [Spacer(0, 3 * mm)] + second
    story.append(Spacer(0, 6 * mm))
    story.append(Stack([
        WrittenLine(language.inline(KEPT_BY), 8.5),
        Row([WrittenLine(language.inline(KEPT_WHERE), 8.5),
             WrittenLine(language.inline(KEPT_ON), 8.5)], [0.65, 0.35]),
    ], gap=4))
    return build(story, tracker, title=language.primary(TITLE))


def _instructions(renderer: FormRenderer, tr, only_if_different=None) -> list[Flowable]:
    """The instructions in one language; empty when they read the same as in `only_if_different`
    (Quechua not translated yet: printing the Spanish twice helps nobody)."""
    texts = [WHAT, WHAT_TEXT, WHERE, *WHERE_ITEMS]
    if only_if_different is not None and all(tr(t) == only_if_different(t) for t in texts):
        return []
    st = renderer.st
    bullet = st.body.clone("bullet", leftIndent=5 * mm, bulletIndent=1 * mm, spaceBefore=1.5,
                           bulletFontName=fonts.REGULAR)
    out: list[Flowable] = [Paragraph(esc(tr(WHAT)), st.section), Spacer(0, 1 * mm),
                           Paragraph(esc(tr(WHAT_TEXT)), st.body), Spacer(0, 3 * mm),
                           Paragraph(esc(tr(WHERE)), st.section), Spacer(0, 1 * mm)]
    out += [Paragraph(esc(tr(item)), bullet, bulletText="•") for item in WHERE_ITEMS]
    return out
