"""A resident's attachments in the supervision packet: the list (type, date, note, file name;
never their content) and, only when asked for, the resident's photo.

The photo is decoded from the vault's bytes in memory (reportlab reads a BytesIO and embeds
the JPEG or PNG in the PDF): nothing is written to disk.
"""
from __future__ import annotations

import io

from reportlab.platypus import Flowable, Image, Spacer

from ..core import attachments, forms
from ..core.display import format_date
from ..core.i18n import N_
from .formflow import FormRenderer, boxed_table
from .styles import FRAME_W, mm

ATTACHMENTS_TITLE = N_("Adjuntos del expediente")
KIND = N_("Tipo")
DATE = N_("Fecha")
NOTE = N_("Nota")
FILE = N_("Archivo")
NONE = N_("Este expediente no tiene adjuntos.")
NOT_HERE = N_("(todavía no llegó a esta computadora)")
LIST_NOTE = N_("Solo la lista: el contenido de los adjuntos no se imprime.")
PHOTO_CAPTION = N_("Foto del {date}")
PHOTO_MISSING = N_("La foto todavía no llegó a esta computadora; llegará en la próxima "
                   "sincronización.")
PHOTO_NONE = N_("No hay ninguna foto adjunta.")
PHOTO_W, PHOTO_H = 45 * mm, 60 * mm


def kind_label(kind: str) -> str:
    """The msgid of an attachment type (the id itself for a type this version does not know)."""
    for choice in forms.registry().choice_lists.get(attachments.KIND_LIST, ()):
        if choice.value == kind:
            return choice.label
    return kind


def body(vault, renderer: FormRenderer, items: list[attachments.Attachment], *,
         photo: bool) -> list[Flowable]:
    """The flowables of a resident's attachments part."""
    lang = renderer.lang
    out: list[Flowable] = []
    if photo:
        out.extend(_photo(vault, renderer, next(
            (a for a in items if a.kind == attachments.PHOTO_KIND), None)))
        out.append(Spacer(0, 4 * mm))
    if not items:
        out.append(renderer.para(NONE, "body"))
        return out
    head = [renderer.para(m, "cell_head") for m in (KIND, DATE, NOTE, FILE)]
    data: list[list] = [head]
    for att in items:
        name = att.filename + ("" if att.present else " " + lang.primary(NOT_HERE))
        data.append([renderer.text(lang.primary(kind_label(att.kind)), "cell"),
                     renderer.text(format_date(att.date), "cell"),
                     renderer.text(att.note, "cell") if att.note else "",
                     renderer.text(name, "cell")])
    widths = [48 * mm, 22 * mm, FRAME_W - 118 * mm, 48 * mm]
    out.append(boxed_table(data, widths))
    out.append(Spacer(0, 2 * mm))
    out.append(renderer.para(LIST_NOTE, "legend"))
    return out


def _photo(vault, renderer: FormRenderer, att: attachments.Attachment | None
           ) -> list[Flowable]:
    if att is None:
        return [renderer.para(PHOTO_NONE, "body")]
    try:
        data = attachments.content(vault, att.id)
    except attachments.AttachmentMissing:
        return [renderer.para(PHOTO_MISSING, "body")]
    width, height = att.width or PHOTO_W, att.height or PHOTO_H
    scale = min(PHOTO_W / width, PHOTO_H / height)
    image = Image(io.BytesIO(data), width=width * scale, height=height * scale)
    image.hAlign = "LEFT"
    caption = renderer.lang.primary(PHOTO_CAPTION).format(date=format_date(att.date))
    return [image, Spacer(0, 1 * mm), renderer.text(caption, "legend")]
