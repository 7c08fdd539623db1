"""Form definitions: the shipped files load, malformed files are refused naming the file, and
the one validator normalizes what people type and refuses the rest without echoing it."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cpc_desktop.core import forms
from cpc_desktop.core.errors import FormDefinitionError, UnknownForm, ValidationError
from cpc_desktop.paths import resource_path

TODAY = dt.date(2024, 6, 15)
CANARY = "Rosa Ficticia Quispe"  # a fictional name that must never be echoed in a message
SHIPPED = ["caso_legal", "consentimiento", "ficha_egreso", "ficha_ingreso", "ficha_salud",
           "informe_psicologico", "informe_seguimiento", "informe_social",
           "inventario_pertenencias", "medida_proteccion", "pti", "registro_atenciones",
           "registro_educacion", "registro_incidentes", "registro_visitas"]


@pytest.fixture(scope="module")
def registry() -> forms.FormRegistry:
    return forms.registry()


def errors_of(exc: pytest.ExceptionInfo) -> dict[str, forms.FieldError]:
    return {e.field: e for e in exc.value.errors}


# ---------------------------------------------------------------- shipped forms

def test_every_shipped_form_loads(registry):
    assert sorted(registry.forms) == SHIPPED, (
        "a shelter would be missing a form it fills every day")
    for form in registry:
        assert form.fields, f"{form.form} would show an empty screen"
        assert form.field(form.date_field).type == "date", (
            f"{form.form} records could not be dated in lists and packets")
    assert registry.intake.form == "ficha_ingreso", "no form would open a new resident's file"


def test_shipped_forms_load_from_disk_the_same_way(registry):
    again = forms.load_registry(resource_path("forms"), resource_path("catalogs", "choices.json"))
    assert sorted(again.forms) == sorted(registry.forms), (
        "the start-up check and the running app would disagree about which forms exist")


def test_unknown_form_is_refused_naming_the_known_ones(registry):
    with pytest.raises(UnknownForm) as exc:
        registry.get("ficha_inexistente")
    assert "ficha_ingreso" in str(exc.value), "the person would not learn which forms exist"


# ---------------------------------------------------------------- schema check

CHOICE_LISTS = {"tipos": [{"value": "uno", "label": "Uno"}, {"value": "otro", "label": "Otro"}]}


def good_form(form_id: str, *, opens: bool = False) -> dict:
    return {
        "form": form_id, "code": "T-01", "version": 1, "title": "Formulario de prueba",
        "per_resident": "one" if opens else "many", "opens_resident": opens,
        "date_field": "fecha",
        "sections": [{"id": "general", "title": "General", "fields": [
            {"id": "fecha", "type": "date", "label": "Fecha", "required": True},
            {"id": "tipo", "type": "choice", "label": "Tipo", "choices": "@tipos"},
            {"id": "detalle", "type": "text", "label": "Detalle",
             "show_when": {"field": "tipo", "equals": "otro"}},
            {"id": "filas", "type": "table", "label": "Filas", "columns": [
                {"id": "nombre", "type": "text", "label": "Nombre"}]},
        ]}],
    }


def write_definitions(folder: Path, bad: dict | str) -> tuple[Path, Path]:
    forms_dir = folder / "forms"
    forms_dir.mkdir()
    (forms_dir / "ingreso.json").write_text(json.dumps(good_form("ingreso", opens=True)),
                                            encoding="utf-8")
    text = bad if isinstance(bad, str) else json.dumps(bad)
    (forms_dir / "servicio.json").write_text(text, encoding="utf-8")
    choices = folder / "choices.json"
    choices.write_text(json.dumps(CHOICE_LISTS), encoding="utf-8")
    return forms_dir, choices


def test_a_well_formed_definition_loads(tmp_path):
    # The baseline the malformed cases below are mutations of.
    reg = forms.load_registry(*write_definitions(tmp_path, good_form("servicio")))
    assert sorted(reg.forms) == ["ingreso", "servicio"], "a correct form file would be refused"


def _fields(d):
    return d["sections"][0]["fields"]


def _unknown_type(d):
    _fields(d)[1]["type"] = "colour"


def _duplicate_id(d):
    _fields(d).append({"id": "tipo", "type": "text", "label": "Otro tipo"})


def _show_when_later(d):
    fields = _fields(d)
    fields[1], fields[2] = fields[2], fields[1]  # "detalle" now comes before "tipo"


def _show_when_unknown(d):
    _fields(d)[2]["show_when"] = {"field": "no_existe", "equals": "otro"}


def _show_when_not_a_choice(d):
    _fields(d)[2]["show_when"] = {"field": "tipo", "equals": "tres"}


def _bad_choice_list(d):
    _fields(d)[1]["choices"] = "@no_existe"


def _date_field_not_a_date(d):
    d["date_field"] = "tipo"


def _date_field_unknown(d):
    d["date_field"] = "no_existe"


def _form_id_not_file_name(d):
    d["form"] = "otro_nombre"


def _table_column_of_table_type(d):
    _fields(d)[3]["columns"].append({"id": "sub", "type": "table", "label": "Sub",
                                     "columns": [{"id": "x", "type": "text", "label": "X"}]})


def _key_of_another_type(d):
    _fields(d)[1]["max_length"] = 10


def _required_signature(d):
    _fields(d).append({"id": "firma", "type": "signature", "label": "Firma", "required": True})


def _pattern_without_help(d):
    _fields(d)[2]["pattern"] = "[0-9]{8}"


def _unknown_role(d):
    d["role"] = "diary"


def _second_intake_role(d):
    d["role"] = "intake"


def _due_on_a_choice(d):
    _fields(d)[1]["due"] = {"kind": "plan_review"}


def _due_of_unknown_kind(d):
    _fields(d)[0]["due"] = {"kind": "birthday_party"}


def _due_done_by_a_form_id(d):
    _fields(d)[0]["due"] = {"kind": "plan_review", "done_by": "servicio"}


def _show_when_filled(d):   # 'filled' only clears a due item: print has no words for it
    _fields(d)[2]["show_when"] = {"field": "tipo", "filled": True}


def _identity_unknown_field(d):
    d["identity"] = ["fecha", "no_existe"]


@pytest.mark.parametrize("mutate, where, says", [
    (_unknown_role, "top", "'role' is one of"),
    (_second_intake_role, "top", "role 'intake'"),
    (_due_on_a_choice, "(tipo)", "only a date can be 'due'"),
    (_due_of_unknown_kind, "(fecha)", "due 'kind'"),
    (_due_done_by_a_form_id, "(fecha)", "'done_by' is a role"),
    (_identity_unknown_field, "top", "'identity'"),
    (_show_when_filled, "(detalle)", "'filled' is for a due's done_when only"),
    (_unknown_type, "(tipo)", "colour"),
    (_duplicate_id, "section 0", "duplicate field id 'tipo'"),
    (_show_when_later, "(detalle)", "not an earlier field"),
    (_show_when_unknown, "(detalle)", "not an earlier field"),
    (_show_when_not_a_choice, "(detalle)", "not a choice"),
    (_bad_choice_list, "(tipo)", "unknown choice list '@no_existe'"),
    (_date_field_not_a_date, "top", "date_field 'tipo'"),
    (_date_field_unknown, "top", "date_field 'no_existe'"),
    (_form_id_not_file_name, "top", "file name"),
    (_table_column_of_table_type, "(sub)", "not allowed here"),
    (_key_of_another_type, "(tipo)", "do not apply"),
    (_required_signature, "(firma)", "cannot be required"),
    (_pattern_without_help, "(detalle)", "pattern_help"),
])
def test_malformed_definition_is_refused_naming_file_and_place(tmp_path, mutate, where, says):
    definition = good_form("servicio")
    mutate(definition)
    with pytest.raises(FormDefinitionError) as exc:
        forms.load_registry(*write_definitions(tmp_path, definition))
    message = str(exc.value)
    assert message.startswith("servicio.json: "), (
        f"a deployer would not know which file to fix: {message!r}")
    assert where in message and says in message, (
        f"a deployer would not know where in the file the mistake is: {message!r}")


def test_bad_json_is_refused_naming_the_file(tmp_path):
    with pytest.raises(FormDefinitionError) as exc:
        forms.load_registry(*write_definitions(tmp_path, '{"form": "servicio", '))
    assert "servicio.json" in str(exc.value) and "JSON" in str(exc.value), (
        "a deployer with a typo in a form file would not know which file is broken")


def test_bad_choice_catalog_is_refused_naming_it(tmp_path):
    forms_dir, choices = write_definitions(tmp_path, good_form("servicio"))
    choices.write_text(json.dumps({"tipos": [{"value": "Con Mayúsculas", "label": "X"}]}))
    with pytest.raises(FormDefinitionError) as exc:
        forms.load_registry(forms_dir, choices)
    assert "choices.json" in str(exc.value), "a broken shared choice list would go unnoticed"


def test_exactly_one_form_opens_a_resident(tmp_path):
    forms_dir, choices = write_definitions(tmp_path, good_form("servicio", opens=True))
    with pytest.raises(FormDefinitionError) as exc:
        forms.load_registry(forms_dir, choices)
    assert "opens_resident" in str(exc.value), (
        "two intake forms would make it ambiguous which one creates a resident")


# ---------------------------------------------------------------- a form with every type

EVERY_TYPE = {
    "form": "todos", "code": "T-99", "version": 1, "title": "Todos los tipos",
    "per_resident": "many", "date_field": "fecha",
    "sections": [{"id": "todo", "title": "Todo", "fields": [
        {"id": "fecha", "type": "date", "label": "Fecha"},
        {"id": "fecha_futura", "type": "date", "label": "Fecha prevista", "not_future": False},
        {"id": "fecha_fin", "type": "date", "label": "Fecha de fin", "not_future": False,
         "not_before_field": "fecha"},
        {"id": "texto", "type": "text", "label": "Texto", "max_length": 30},
        {"id": "dni", "type": "text", "label": "DNI", "pattern": "[0-9]{8}",
         "pattern_help": "8 dígitos"},
        {"id": "nota", "type": "longtext", "label": "Nota", "max_length": 50},
        {"id": "hora", "type": "time", "label": "Hora"},
        {"id": "minutos", "type": "number", "label": "Minutos", "min": 0, "max": 600},
        {"id": "peso", "type": "number", "label": "Peso", "integer": False, "min": 0.5},
        {"id": "tipo", "type": "choice", "label": "Tipo", "choices": "@tipos"},
        {"id": "detalle", "type": "text", "label": "Detalle", "required": True,
         "show_when": {"field": "tipo", "equals": "otro"}},
        {"id": "varios", "type": "multichoice", "label": "Varios", "choices": [
            {"value": "a", "label": "A"}, {"value": "b", "label": "B"},
            {"value": "c", "label": "C"}]},
        {"id": "extra", "type": "text", "label": "Extra",
         "show_when": {"field": "varios", "includes": "c"}},
        {"id": "si_no", "type": "yesno", "label": "¿Sí o no?"},
        {"id": "lugar", "type": "place", "label": "Lugar"},
        {"id": "region", "type": "place", "label": "Región", "level": "department"},
        {"id": "personas", "type": "table", "label": "Personas", "max_rows": 3, "columns": [
            {"id": "nombre", "type": "text", "label": "Nombre", "required": True},
            {"id": "edad", "type": "number", "label": "Edad", "min": 0, "max": 120},
            {"id": "contactar", "type": "yesno", "label": "¿Contactar?"},
            {"id": "motivo", "type": "text", "label": "Motivo",
             "show_when": {"field": "contactar", "equals": False}},
        ]},
        {"id": "firma", "type": "signature", "label": "Firma"},
    ]}],
}


@pytest.fixture(scope="module")
def every_type(tmp_path_factory) -> forms.Form:
    folder = tmp_path_factory.mktemp("every_type")
    forms_dir, choices = folder / "forms", folder / "choices.json"
    forms_dir.mkdir()
    (forms_dir / "ingreso.json").write_text(json.dumps(good_form("ingreso", opens=True)))
    (forms_dir / "todos.json").write_text(json.dumps(EVERY_TYPE))
    choices.write_text(json.dumps(CHOICE_LISTS))
    return forms.load_registry(forms_dir, choices).get("todos")


def test_required_field_missing_or_blank_is_refused(registry):
    service = registry.get("registro_atenciones")
    with pytest.raises(ValidationError) as exc:
        service.validate({"service_date": "2024-03-05", "service_area": "legal",
                          "professional": "   "}, today=TODAY)
    assert set(errors_of(exc)) == {"professional"}, (
        "a service entry without who gave it would be saved")
    assert errors_of(exc)["professional"].label == "Profesional que atiende", (
        "the person would not see which field is missing")


def test_every_problem_is_listed_at_once(registry):
    with pytest.raises(ValidationError) as exc:
        registry.get("registro_atenciones").validate({}, today=TODAY)
    assert set(errors_of(exc)) == {"service_date", "service_area", "professional"}, (
        "the person would have to submit again and again to discover each missing field")


@pytest.mark.parametrize("field_id, wrong", [
    ("fecha", CANARY),
    ("fecha", "31/02/2024"),
    ("texto", 987654321),
    ("texto", CANARY * 2),              # too long
    ("dni", CANARY),                    # pattern
    ("nota", [CANARY]),
    ("hora", CANARY),
    ("hora", "24:30"),
    ("minutos", CANARY),
    ("minutos", 987654),                # above max
    ("minutos", 12.5),                  # not an integer
    ("minutos", True),                  # a yes/no is not a number
    ("peso", "Infinity"),
    ("tipo", "rosa_ficticia_quispe"),
    ("varios", ["rosa_ficticia_quispe"]),
    ("varios", CANARY),
    ("si_no", CANARY),
    ("si_no", "true"),
    ("lugar", "987654"),
    ("lugar", "16"),                    # a department where a district is needed
    ("personas", CANARY),
    ("firma", CANARY),
])
def test_wrong_value_names_the_field_and_never_echoes_the_value(every_type, field_id, wrong):
    with pytest.raises(ValidationError) as exc:
        every_type.validate({field_id: wrong}, today=TODAY)
    found = errors_of(exc)
    assert list(found) == [field_id], (
        f"the person would be told about the wrong field: {list(found)}")
    assert found[field_id].label == every_type.field(field_id).label, (
        "the message would not say which field to correct")
    text = str(exc.value) + found[field_id].message
    for shown in {str(wrong), CANARY} if not isinstance(wrong, bool) else {CANARY}:
        assert shown not in text, (
            "a child's data would be copied into an error message, which ends up in logs")


def test_dates_in_peruvian_format_are_stored_as_iso(every_type):
    clean = every_type.validate({"fecha": "05/03/2024", "fecha_futura": " 2024-12-31 ",
                                 "fecha_fin": "06-03-2024"}, today=TODAY)
    assert clean == {"fecha": "2024-03-05", "fecha_futura": "2024-12-31",
                     "fecha_fin": "2024-03-06"}, (
        "dates typed as dd/mm/aaaa would be stored inconsistently and sort wrongly")


def test_python_dates_and_datetimes_are_stored_as_iso_dates(every_type):
    clean = every_type.validate({"fecha": dt.date(2024, 3, 5),
                                 "fecha_futura": dt.datetime(2024, 3, 6, 14, 30)}, today=TODAY)
    assert clean == {"fecha": "2024-03-05", "fecha_futura": "2024-03-06"}, (
        "a date picked in the window would crash the save or be stored with a time")


def test_future_date_is_refused_only_where_not_future(every_type):
    tomorrow = (TODAY + dt.timedelta(days=1)).strftime("%d/%m/%Y")
    with pytest.raises(ValidationError) as exc:
        every_type.validate({"fecha": tomorrow}, today=TODAY)
    assert "futuro" in errors_of(exc)["fecha"].message, (
        "an admission dated tomorrow (a typo) would be saved")
    assert every_type.validate({"fecha_futura": tomorrow}, today=TODAY) == {
        "fecha_futura": (TODAY + dt.timedelta(days=1)).isoformat()}, (
        "a planned follow-up date could not be entered")


def test_date_before_its_reference_field_is_refused(registry):
    pti = registry.get("pti")
    with pytest.raises(ValidationError) as exc:
        pti.validate({"period_start": "2024-03-10", "review_date": "2024-03-09"}, today=TODAY)
    message = errors_of(exc)["review_date"].message
    assert f"«{pti.field('period_start').label}»" in message, (
        "the person would not learn which date the review must not precede")


def test_numbers_typed_as_text_are_stored_as_numbers(every_type):
    clean = every_type.validate({"minutos": " 45 ", "peso": "2,5"}, today=TODAY)
    assert clean == {"minutos": 45, "peso": 2.5}, (
        "numbers typed in a box would be stored as text and break the reports")
    assert type(clean["minutos"]) is int, "whole minutes would be stored as 45.0"
    assert every_type.validate({"minutos": 30.0}, today=TODAY) == {"minutos": 30}


@pytest.mark.parametrize("field_id", ["minutos", "peso"])
def test_huge_integer_is_refused_not_a_crash(every_type, field_id):
    with pytest.raises(ValidationError) as exc:
        every_type.validate({field_id: 10 ** 400}, today=TODAY)
    assert list(errors_of(exc)) == [field_id], (
        "a pasted huge number would crash the save, or later the reports")


def test_multichoice_is_stored_in_definition_order_without_duplicates(every_type):
    clean = every_type.validate({"varios": ["c", "a", "c"]}, today=TODAY)
    assert clean["varios"] == ["a", "c"], (
        "the same answers ticked in another order would look like a change and a sync conflict")


def test_time_is_stored_as_hh_mm(every_type):
    assert every_type.validate({"hora": "9:05"}, today=TODAY) == {"hora": "09:05"}


def test_hidden_field_is_not_required_and_its_value_is_kept_but_not_counted(every_type):
    # Issue 19: nothing silently disappears. A value hidden by its condition stays stored
    # (a choice changed back shows it again); it is not required, not counted, not printed.
    clean = every_type.validate({"tipo": "uno", "detalle": CANARY, "varios": ["a"],
                                 "extra": CANARY}, today=TODAY)
    assert clean == {"tipo": "uno", "varios": ["a"], "detalle": CANARY, "extra": CANARY}, (
        "a value hidden by a changed answer was dropped")
    assert every_type.validate({"tipo": "uno"}, today=TODAY) == {"tipo": "uno"}
    assert not {"detalle", "extra"} & set(every_type.facts(clean))
    with pytest.raises(ValidationError) as exc:
        every_type.validate({"tipo": "otro"}, today=TODAY)
    assert list(errors_of(exc)) == ["detalle"], (
        "choosing «other» without saying which would be accepted")
    shown = every_type.validate({"tipo": "otro", "detalle": "Algo", "varios": ["c"],
                                 "extra": "Más"}, today=TODAY)
    assert shown["detalle"] == "Algo" and shown["extra"] == "Más", (
        "a visible conditional answer would be lost")


def test_shipped_conditional_field_follows_a_yes_no(registry):
    service = registry.get("registro_atenciones")
    base = {"service_date": "2024-03-05", "service_area": "legal", "professional": "Ana Prueba"}
    hidden = service.validate({**base, "referred": False, "referred_to": "CEM"}, today=TODAY)
    assert hidden["referred_to"] == "CEM", "a hidden answer was dropped (issue 19)"
    assert "referred_to" not in service.facts(hidden), "a hidden answer was counted"
    assert service.validate({**base, "referred": True, "referred_to": "CEM"},
                            today=TODAY)["referred_to"] == "CEM", (
        "where a child was referred would be lost")


def test_table_rows_are_validated_with_row_context(every_type):
    rows = [{"nombre": "Niño Prueba Huamán", "edad": "12"},
            {"nombre": "Rosa Ficticia", "edad": CANARY, "apodo": "x"},
            {"edad": 40}]
    with pytest.raises(ValidationError) as exc:
        every_type.validate({"personas": rows}, today=TODAY)
    found = errors_of(exc)
    assert set(found) == {"personas[1].edad", "personas[1].apodo", "personas[2].nombre"}, (
        f"the person would not know which row and column to fix: {sorted(found)}")
    assert "fila 2" in found["personas[1].edad"].label, "the message would not name the row"
    assert "fila 3" in found["personas[2].nombre"].label
    assert CANARY not in str(exc.value), "a relative's data would appear in an error message"


def test_table_rows_are_normalized_and_conditions_apply_per_row(every_type):
    clean = every_type.validate({"personas": [
        {"nombre": " Niño Prueba ", "edad": "7", "contactar": True, "motivo": "oculto"},
        {"nombre": "Rosa Ficticia", "contactar": False, "motivo": "Riesgo"},
    ]}, today=TODAY)
    assert clean["personas"] == [
        {"nombre": "Niño Prueba", "edad": 7, "contactar": True, "motivo": "oculto"},
        {"nombre": "Rosa Ficticia", "contactar": False, "motivo": "Riesgo"},
    ], "a row's answer hidden by its condition was dropped (issue 19: kept, not counted)"


def test_blank_table_rows_are_dropped(registry):
    intake = registry.get("ficha_ingreso")
    clean = intake.validate({"admission_date": "2024-03-01", "name_first": "Niño Prueba",
                             "name_last": "Huamán", "sex": "male", "referral_source": "upe",
                             "risk_level": "low", "family_details": [
                                 {}, {"name": "  "}, {"name": "Rosa Ficticia Quispe",
                                                      "may_contact": False}]}, today=TODAY)
    assert clean["family_details"] == [{"name": "Rosa Ficticia Quispe", "may_contact": False}], (
        "blank rows left by the form editor would be stored as relatives")


def test_table_row_limit_is_enforced(every_type):
    with pytest.raises(ValidationError) as exc:
        every_type.validate({"personas": [{"nombre": f"Prueba {i}"} for i in range(4)]},
                            today=TODAY)
    assert list(errors_of(exc)) == ["personas"]


def test_unknown_fields_are_reported(every_type):
    with pytest.raises(ValidationError) as exc:
        every_type.validate({"fecha": "2024-01-01", "color_favorito": CANARY}, today=TODAY)
    assert list(errors_of(exc)) == ["color_favorito"], (
        "data typed into a field the form does not have would be silently lost")
    assert CANARY not in str(exc.value)


def test_values_that_are_not_an_object_are_refused(every_type):
    with pytest.raises(ValidationError):
        every_type.validate([CANARY], today=TODAY)


# ---------------------------------------------------------------- properties

PLACES = {"department": ["16", "1601", "160101", "08", "0801", "080101"],
          "province": ["1601", "160101", "0801", "080101"],
          "district": ["160101", "080101", "150101"]}
_PAD = st.sampled_from(["", " ", "  ", "\t", " \n"])
# Valid text: anything but lone surrogates and the control characters the validator refuses
# (NUL and C0 controls other than tab and line ends; see test_errors_point_right.py).
_CHARS = st.characters(blacklist_categories=("Cs",), blacklist_characters="".join(
    chr(c) for c in (*range(0x09), 0x0b, 0x0c, *range(0x0e, 0x20), 0x7f)))


def _text(fld: forms.Field, required: bool):
    if fld.pattern:
        return st.tuples(_PAD, st.from_regex(fld.pattern, fullmatch=True), _PAD).map(
            lambda t: "".join(t))
    size = min(fld.max_length or 200, 40)
    core = st.text(_CHARS, min_size=1 if required else 0, max_size=size)
    if required:
        core = core.filter(lambda s: s.strip())
    return st.tuples(_PAD, core, _PAD).map(lambda t: "".join(t))


def _date(low: dt.date):
    return st.tuples(st.dates(low, TODAY), st.sampled_from(["%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y"])
                     ).map(lambda t: t[0].strftime(t[1]))


def _number(fld: forms.Field):
    low = fld.min if fld.min is not None else -10 ** 6
    high = fld.max if fld.max is not None else 10 ** 6
    if fld.integer:
        n = st.integers(int(low) if low == int(low) else int(low) + 1, int(high))
        return st.one_of(n, n.map(str), n.map(float), n.map(lambda i: f" {i} "))
    x = st.floats(low, high, allow_nan=False, allow_infinity=False)
    return st.one_of(x, x.map(repr), x.map(lambda f: repr(f).replace(".", ",")))


@st.composite
def valid_values(draw, fields: tuple[forms.Field, ...]):
    values: dict = {}
    for fld in fields:
        if fld.type == "signature" or not (fld.required or draw(st.booleans())):
            continue
        t = fld.type
        if t in ("text", "longtext"):
            v = draw(_text(fld, fld.required))
        elif t == "date":
            low = dt.date(1990, 1, 1)
            if fld.not_before_field and fld.not_before_field in values:
                low = max(low, forms.parse_date(values[fld.not_before_field]))
            v = draw(_date(low)) if low <= TODAY else None
        elif t == "time":
            v = f"{draw(st.integers(0, 23))}:{draw(st.integers(0, 59)):02d}"
        elif t == "number":
            v = draw(_number(fld))
        elif t == "choice":
            v = draw(st.sampled_from([c.value for c in fld.choices]))
        elif t == "multichoice":
            v = draw(st.lists(st.sampled_from([c.value for c in fld.choices]),
                              min_size=1 if fld.required else 0, max_size=5))
        elif t == "yesno":
            v = draw(st.booleans())
        elif t == "place":
            v = draw(st.sampled_from(PLACES[fld.level]))
        elif t == "table":
            v = draw(st.lists(valid_values(fld.columns), min_size=max(fld.min_rows, 0),
                              max_size=min(fld.max_rows or 4, 4)))
        else:
            raise AssertionError(t)
        if v is not None:
            values[fld.id] = v
    return values


def _shipped(form_id: str) -> forms.Form:
    return forms.registry().get(form_id)


@pytest.mark.parametrize("form_id", SHIPPED)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_validate_is_idempotent(form_id, data):
    form = _shipped(form_id)
    values = data.draw(valid_values(form.fields))
    once = form.validate(values, today=TODAY)
    assert form.validate(once, today=TODAY) == once, (
        "opening and saving a record without touching it would change it (and make a sync "
        "conflict)")
    assert set(once) <= {f.id for f in form.fields}


def test_validate_is_idempotent_on_every_type(every_type):
    @settings(max_examples=150, deadline=None)
    @given(values=valid_values(every_type.fields))
    def check(values):
        once = every_type.validate(values, today=TODAY)
        assert every_type.validate(once, today=TODAY) == once, (
            "saving a record a second time would change it")
    check()


# Values near the edges of what the validator parses: almost valid, or valid for another type.
_EDGE = st.sampled_from(["", " ", "16", "160101", "05/03/2024", "2024-03-05", "31/02/2024",
                         "otro", "a", "12:30", "1,5", "nan", "1e999", 10 ** 400, -(10 ** 400),
                         1e308, float("inf"), True, ["a", "a"], [{}], {"x": 1}])
_JUNK = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20) | _EDGE,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=12)


@st.composite
def junk_values(draw, form: forms.Form):
    keys = st.sampled_from([f.id for f in form.fields]) | st.text(max_size=10)
    columns = [c.id for f in form.fields for c in f.columns]
    junk = draw(st.dictionaries(keys, _JUNK, max_size=3))
    for f in form.fields:  # every field gets junk now and then, tables rows shaped like rows
        if draw(st.integers(0, 3)) == 0:
            junk[f.id] = draw(_EDGE | _JUNK)
        if f.type == "table" and draw(st.booleans()):
            junk[f.id] = draw(st.lists(st.dictionaries(
                st.sampled_from(columns + ["x"]) if columns else st.just("x"), _JUNK,
                max_size=4), max_size=3))
    return junk


def test_junk_never_raises_anything_but_validation_error(every_type):
    targets = [every_type] + [_shipped(f) for f in SHIPPED]

    @settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.data())
    def check(data):
        form = data.draw(st.sampled_from(targets))
        values = data.draw(junk_values(form) | _JUNK)
        try:
            out = form.validate(values, today=TODAY)
        except ValidationError as exc:
            assert exc.errors and all(isinstance(e.field, str) for e in exc.errors)
        else:
            assert isinstance(out, dict), "a save would store something that is not a record"
    check()


# ---------------------------------------------------------------- roles

def test_shipped_forms_declare_their_roles(registry):
    roles = {role: registry.by_role(role) for role in sorted(forms.ROLES)}
    assert all(roles.values()), f"a shipped form lost its role: {roles}"
    assert roles["intake"] is registry.intake
    assert len({f.form for f in roles.values()}) == len(roles), "two roles on one form"
    log = roles["services_log"]
    assert [f.id for f in log.columns][0] == log.date_field, "the log's table starts undated"
    assert "date_of_birth" in registry.intake.identity


def test_due_dates_are_declared_in_the_forms(registry):
    kinds = {(table.id if table else None, fld.id): fld.due.kind
             for form in registry for table, fld in form.due_fields}
    assert set(kinds.values()) == forms.DUE_KINDS, f"a kind of due date is declared nowhere: {kinds}"
    plan = registry.by_role("care_plan")
    (table, deadline), = [(t, f) for t, f in plan.due_fields if t is not None]
    assert deadline.due.done_when.field == "status" and table.type == "table"


def test_a_due_column_may_be_cleared_by_a_later_column(tmp_path):
    definition = good_form("servicio")
    _fields(definition)[3]["columns"] = [
        {"id": "plazo", "type": "date", "label": "Plazo", "not_future": False,
         "due": {"kind": "objective_deadline", "done_when": {"field": "estado", "equals": "uno"}}},
        {"id": "estado", "type": "choice", "label": "Estado", "choices": "@tipos"}]
    definition["role"] = "care_plan"
    reg = forms.load_registry(*write_definitions(tmp_path, definition))
    (table, col), = reg.get("servicio").due_fields
    assert (table.id, col.id, col.due.done_when.value) == ("filas", "plazo", "uno")
    assert reg.by_role("care_plan").form == "servicio" and reg.by_role("discharge") is None


def test_a_role_declared_twice_is_refused(tmp_path):
    definition = good_form("servicio")
    definition["role"] = "consent"
    forms_dir, choices = write_definitions(tmp_path, definition)
    other = dict(definition, form="otro")
    (forms_dir / "otro.json").write_text(json.dumps(other), encoding="utf-8")
    with pytest.raises(FormDefinitionError, match="role 'consent'"):
        forms.load_registry(forms_dir, choices)
