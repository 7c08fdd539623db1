"""Demo data: a fictional shelter with synthetic residents and records, reproducible by seed.

Everything here is invented. Names are random combinations of common Spanish, Quechua and
Amazonian given names and surnames; staff are "… Demo …"; document numbers start with DEMO;
phone numbers are 000 000 nnn; communities and offices say "(ficticio)". Free texts are short,
neutral and templated, never a story.

Two layers, so benchmarks can feed the same values to another store:

* `generate(seed, residents, services_per_resident)` is pure: it yields one `DemoResident`
  (the intake values plus the other records, as `(form_id, values)`) per resident, oldest
  admission first. Same seed, same counts and same `today` → identical values. Every
  values dict passes `form.validate()` unchanged; every choice value is read from the form
  definitions (`forms.registry()`), never assumed.
* `populate(vault, …)` writes them through `Vault.add_many` in chunks, reporting progress
  and stopping between chunks when asked; `create_demo_vault` makes the demo vault with its
  three users and fills it.

Qt-free.
"""
from __future__ import annotations

import datetime as dt
import random
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..core import forms, profile, ubigeo
from ..core.users import Role
from ..core.vault import Vault

DEMO_USER = "demo"
DEMO_PASSPHRASE = "demo-cpc-2026"
DEMO_SHELTER = ("DEMO-LOR", "Centro de Acogida Residencial Demostración (ficticio)")
DEMO_USERS = (  # login, role, display name; all use DEMO_PASSPHRASE
    (DEMO_USER, Role.COORDINATOR, "Coordinación (demo)"),
    ("psicologa.demo", Role.PROFESSIONAL, "Psicóloga (demo)"),
    ("supervision.demo", Role.SUPERVISOR, "Supervisión (demo)"),
)

DEFAULT_RESIDENTS = 40
DEFAULT_SERVICES_PER_RESIDENT = 20
CHUNK_RECORDS = 500          # records per add_many transaction
HISTORY_DAYS = 3 * 365       # admissions spread over the last three years

INTAKE = "ficha_ingreso"
PTI = "pti"
SERVICES = "registro_atenciones"
FOLLOWUP = "informe_seguimiento"
DISCHARGE = "ficha_egreso"
CONSENT = "consentimiento"
SOCIAL = "informe_social"
MEASURE = "medida_proteccion"
SCHOOL = "registro_educacion"
VISITS = "registro_visitas"
INCIDENTS = "registro_incidentes"
INVENTORY = "inventario_pertenencias"
# Every n-th resident also has these records (a few, so the demo shows them without slowing
# the big benchmark vaults much); drawn from their own random stream.
MORE_FORMS_EVERY = 3

ProgressFn = Callable[[int, int], None]
CancelFn = Callable[[], bool]


@dataclass(frozen=True)
class DemoResident:
    """One synthetic resident: the intake and the resident's other records, oldest first."""
    number: int                                  # 1-based, in admission order
    intake: dict
    records: tuple[tuple[str, dict], ...]        # (form id, values) for every other form

    def items(self) -> Iterator[tuple[str, dict]]:
        """Every record of the resident as (form id, values), intake first."""
        yield INTAKE, self.intake
        yield from self.records


# ====================================================================== name and text pools

GIVEN_FEMALE = (
    "María", "Rosa", "Yaneth", "Luz", "Killa", "Sumaq", "Nayra", "Milagros", "Yesenia", "Flor",
    "Ruth", "Sonia", "Nélida", "Jhoselyn", "Ketty", "Lucero", "Mayra", "Deysi", "Ángela",
    "Sofía", "Thalía", "Inés", "Wendy", "Kiara", "Roxana", "Juana", "Yésica", "Estrella",
    "Illari", "Ch'aska", "Qori", "Belén", "Saraí", "Lizbeth", "Mariluz", "Zulema", "Nohelia",
    "Daniela", "Valeria", "Fiorela",
)
GIVEN_MALE = (
    "Jhon", "Wilber", "Inti", "Amaru", "José", "Luis", "Juan", "Kevin", "Jhonatan", "Brayan",
    "Edwin", "Rubén", "Élmer", "Ángel", "Yoel", "Rusbel", "Wilmer", "Percy", "Jesús", "Efraín",
    "Wayra", "Kusi", "Héctor", "Raúl", "Nilton", "Cristhian",
)
ADULT_FEMALE = ("Marcelina", "Teodora", "Gladys", "Hilda", "Rosa", "Maruja", "Eulalia",
                "Norma", "Carmen", "Felícita", "Justina", "Lidia", "Elsa", "Celestina")
ADULT_MALE = ("Teófilo", "Wilfredo", "Julián", "Segundo", "Pedro", "Hermógenes", "Víctor",
              "Alejandro", "Faustino", "Mauro", "Santos", "Isidro")
SURNAMES_ANDEAN = (
    "Quispe", "Huamán", "Mamani", "Condori", "Ccori", "Ñaupari", "Huaranca", "Ccahuana",
    "Apaza", "Choque", "Ticona", "Layme", "Yupanqui", "Sullca", "Ccallo", "Puma", "Cusi",
    "Huillca", "Chura", "Quispitupa",
)
SURNAMES_AMAZONIAN = (
    "Tuesta", "Panduro", "Shapiama", "Ahuanari", "Tangoa", "Pizango", "Yumbato", "Cumapa",
    "Manihuari", "Murayari", "Tapullima", "Sangama", "Ushiñahua", "Yaicate", "Canayo",
    "Inuma", "Tamani", "Huayunga",
)
SURNAMES_COMMON = (
    "Vásquez", "Ríos", "Núñez", "Nuñez", "Pérez", "García", "Flores", "Sánchez", "Ramírez",
    "Chávez", "Gonzáles", "Arévalo", "Del Águila", "Pinedo", "Saldaña", "Macedo", "Rengifo",
    "Torres", "López", "Mendoza", "Peña",
)
NICKNAMES = {
    "María": "Mari", "Rosa": "Rosita", "Milagros": "Mili", "Yesenia": "Yesi", "Luz": "Lucecita",
    "Ángela": "Angie", "Jhoselyn": "Jhosy", "Estrella": "Estre", "Daniela": "Dani",
    "Jhonatan": "Jhona", "Wilber": "Wil", "Luis": "Lucho", "José": "Pepe", "Jesús": "Chucho",
    "Cristhian": "Cris", "Valeria": "Vale",
}

# Fictional staff: every name carries "Demo". Roles are staff_roles values (checked at use).
STAFF = {
    "coordinator": ("Lic. Ana Demo Condori",),
    "psychologist": ("Ps. Carmen Demo Ríos", "Ps. Julia Demo Tangoa"),
    "social_worker": ("Lic. Rocío Demo Huamán", "Lic. Pedro Demo Saldaña"),
    "educator": ("Prof. Elena Demo Pinedo", "Prof. Marco Demo Quispe"),
    "teacher": ("Prof. Lucía Demo Ahuanari",),
    "lawyer": ("Abog. Diana Demo Vásquez",),
    "physician": ("Dra. Silvia Demo Arévalo",),
    "nurse": ("Enf. Teresa Demo Macedo",),
    "caregiver": ("Sra. Norma Demo Panduro", "Sra. Hilda Demo Mamani"),
    "interpreter": ("Sr. Rolando Demo Shapiama",),
}

# Departments of origin (INEI codes) and their weights; hub districts get half the draws.
ORIGIN_DEPARTMENTS = {"16": 46, "08": 32, "25": 6, "22": 5, "17": 4, "21": 7}
HUB_DISTRICTS = {
    "16": ("160101", "160108", "160112", "160113", "160301", "160201", "160401", "160601"),
    "08": ("080101", "080105", "080106", "080108", "080601", "080901", "081210", "080910"),
    "25": ("250101", "250105"),
    "22": ("220901", "220101", "221001"),
    "17": ("170101", "170104"),
    "21": ("211101", "210101", "211002"),
}
# Where children are exploited, by sector: mining and logging districts, cities with bars…
SECTOR_PLACES = {
    "mining": ("170204", "170203", "170102", "170104", "211002", "081203"),
    "logging": ("160403", "160801", "160107", "160305", "250103", "250203", "170302", "170303"),
    "agriculture": ("221001", "221005", "080901", "080906", "160201"),
    "bars": ("160101", "160108", "160112", "080101", "211101", "170101", "170204", "250101"),
    "domestic_work": ("150101", "150132", "160101", "080108", "080105"),
    "street_trade": ("080101", "160113", "150115", "211101"),
}
ABROAD_PLACES = ("Leticia, Colombia", "Tabatinga, Brasil", "Nueva Loja, Ecuador",
                 "Guayaramerín, Bolivia")
FOREIGN_BIRTHPLACES = {
    "venezuela": ("Maracaibo, Venezuela", "Valencia, Venezuela", "Caracas, Venezuela"),
    "colombia": ("Leticia, Colombia", "Puerto Nariño, Colombia"),
    "brazil": ("Tabatinga, Brasil", "Benjamin Constant, Brasil"),
    "ecuador": ("Nueva Loja, Ecuador",),
    "bolivia": ("Riberalta, Bolivia",),
}

LANGUAGES_BY_DEPARTMENT = {
    "16": {"spanish": 70, "kichwa": 6, "awajun": 5, "shawi": 5, "kukama_kukamiria": 4,
           "achuar": 2, "urarina": 2, "yagua": 2, "tikuna": 2, "quechua_other": 1},
    "08": {"spanish": 50, "quechua_cusco_collao": 45, "matsigenka": 4, "ashaninka": 1},
    "25": {"spanish": 65, "shipibo_konibo": 25, "ashaninka": 10},
    "22": {"spanish": 85, "kichwa": 10, "awajun": 5},
    "17": {"spanish": 80, "quechua_cusco_collao": 12, "other": 8},
    "21": {"quechua_other": 45, "aymara": 30, "spanish": 25},
}
PEOPLE_OF_LANGUAGE = {
    "quechua_cusco_collao": "quechua", "quechua_other": "quechua", "kichwa": "kichwa",
    "aymara": "aymara", "ashaninka": "ashaninka", "awajun": "awajun", "achuar": "achuar",
    "shawi": "shawi", "kukama_kukamiria": "kukama_kukamiria", "yagua": "yagua",
    "tikuna": "tikuna", "urarina": "urarina", "shipibo_konibo": "shipibo_konibo",
    "matsigenka": "matsigenka", "other": "other_amazonian",
}

MONTHS = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
          "setiembre", "octubre", "noviembre", "diciembre")

SERVICE_NOTES = {
    "mental_health": (
        "Sesión de seguimiento; participa en actividades grupales.",
        "Sesión individual; expresa cómo se siente y acepta las pautas acordadas.",
        "Taller grupal de manejo de emociones; participación activa.",
        "Aplicación de instrumento de evaluación; resultados en el informe psicológico.",
        "Técnicas de relajación y respiración; las practica con apoyo.",
        "Sesión de acompañamiento; refiere descansar mejor esta semana.",
    ),
    "education": (
        "Refuerzo escolar en matemática y comunicación.",
        "Coordinación con la institución educativa sobre asistencia y notas.",
        "Apoyo en tareas escolares; avanza según lo previsto.",
        "Taller de lectura; lee en voz alta con apoyo.",
        "Trámite de matrícula en Educación Básica Alternativa.",
    ),
    "medical": (
        "Control de salud general; sin novedad.",
        "Control de peso y talla; evolución adecuada.",
        "Atención por resfrío común; recibe tratamiento indicado.",
        "Aplicación de vacunas según el calendario.",
        "Control odontológico programado.",
    ),
    "legal": (
        "Revisión del expediente y coordinación con la UPE.",
        "Acompañamiento a diligencia fiscal con la abogada del centro.",
        "Coordinación con la defensa pública sobre el estado del proceso.",
        "Trámite de documento de identidad iniciado.",
        "Se le informa sobre el estado de su caso en lenguaje sencillo.",
    ),
    "family": (
        "Llamada telefónica supervisada con familiar autorizado.",
        "Entrevista con familiar autorizado para evaluar el retorno.",
        "Visita familiar en el centro, con autorización de la UPE.",
        "Coordinación con la DEMUNA para evaluar a la familia extensa.",
    ),
    "vocational": (
        "Taller de panadería; cumple las tareas asignadas.",
        "Taller de costura; avanza en el módulo básico.",
        "Orientación vocacional; identifica sus intereses.",
        "Taller de computación básica.",
    ),
    "recreation": (
        "Actividad deportiva grupal.",
        "Salida recreativa supervisada.",
        "Taller de danza y música.",
        "Celebración de cumpleaños del mes en el centro.",
    ),
    "repatriation": (
        "Coordinación con el consulado para el retorno asistido.",
        "Entrevista consular; se actualizan los datos del expediente.",
    ),
    "humanitarian_visa": (
        "Trámite de calidad migratoria humanitaria iniciado.",
        "Se presentan documentos para la calidad migratoria humanitaria.",
    ),
    "community_reintegration": (
        "Coordinación con el municipio de su comunidad para el retorno.",
        "Taller sobre redes de apoyo en su comunidad.",
    ),
    "other": ("Gestión administrativa sin más detalle.",),
}
SERVICE_AREA_WEIGHTS = {"mental_health": 28, "education": 20, "medical": 17, "legal": 14,
                        "family": 8, "vocational": 6, "recreation": 6,
                        "community_reintegration": 2, "other": 1}
FOREIGN_SERVICE_AREA_WEIGHTS = {**SERVICE_AREA_WEIGHTS, "repatriation": 3,
                                "humanitarian_visa": 3}
SERVICE_ROLES = {
    "mental_health": ("psychologist",), "education": ("educator", "teacher"),
    "medical": ("physician", "nurse"), "legal": ("lawyer",), "family": ("social_worker",),
    "vocational": ("educator",), "recreation": ("educator", "caregiver"),
    "repatriation": ("social_worker", "lawyer"), "humanitarian_visa": ("lawyer",),
    "community_reintegration": ("social_worker",),
    "other": ("social_worker",),
}
SERVICE_PLACES = {
    "medical": ("Centro de salud (demo)", "Hospital regional (demo)", "Centro de acogida"),
    "legal": ("Fiscalía provincial (demo)", "Centro de acogida", "Oficina de la UPE (demo)"),
    "education": ("Centro de acogida", "Institución educativa (demo)"),
    "repatriation": ("Consulado (demo)", "Centro de acogida"),
    "humanitarian_visa": ("Oficina de Migraciones (demo)",),
}
SERVICE_PROVIDERS = {
    "medical": "Establecimiento de salud del MINSA (demo)",
    "legal": "Equipo legal del centro (demo)",
    "repatriation": "Consulado (demo)",
}
REFERRED_TO = {
    "medical": "Hospital regional, consultorio de pediatría (demo)",
    "mental_health": "Centro de salud mental comunitario (demo)",
    "legal": "Defensa pública (demo)",
    "education": "Centro de Educación Básica Alternativa (demo)",
    "family": "DEMUNA (demo)",
}
DURATIONS = {"medical": (20, 60), "legal": (30, 180), "recreation": (60, 180),
             "vocational": (60, 180), "education": (45, 120)}

PTI_OBJECTIVES = {
    "personal": ("Fortalecer su autoestima y construir su proyecto de vida.",
                 "Sesiones individuales y talleres grupales quincenales."),
    "family": ("Evaluar a la familia extensa como posible red de apoyo.",
               "Entrevistas y visitas domiciliarias coordinadas con la UPE."),
    "health": ("Completar los controles de salud y las vacunas pendientes.",
               "Citas en el centro de salud según el calendario."),
    "mental_health": ("Disminuir la ansiedad y mejorar el descanso.",
                      "Psicoterapia individual semanal y técnicas de relajación."),
    "education": ("Reinsertarse en el sistema educativo.",
                  "Matrícula y refuerzo escolar diario."),
    "vocational": ("Completar un taller de formación técnica.",
                   "Inscripción en un taller de panadería, costura o computación."),
    "legal": ("Obtener su documento de identidad y acompañar el proceso.",
              "Trámite de identidad y acompañamiento a las diligencias."),
    "economic": ("Aprender a manejar un presupuesto sencillo.",
                 "Taller de educación financiera básica."),
    "community": ("Participar en actividades comunitarias seguras.",
                  "Actividades culturales y deportivas supervisadas."),
}
PTI_AREA_ROLES = {"personal": "psychologist", "family": "social_worker", "health": "nurse",
                  "mental_health": "psychologist", "education": "educator",
                  "vocational": "educator", "legal": "lawyer", "economic": "social_worker",
                  "community": "educator"}
PTI_AREA_WEIGHTS = {"mental_health": 10, "education": 9, "health": 8, "legal": 8, "family": 7,
                    "personal": 6, "vocational": 4, "community": 2, "economic": 2}
ASSESSMENTS = {
    "assessment_personal": ("Se comunica con claridad y muestra interés por aprender.",
                            "Al inicio habla poco; establece vínculos con el equipo de a poco."),
    "assessment_family": ("Familia extensa con disposición a participar; en evaluación.",
                          "Vínculos familiares por evaluar con la UPE."),
    "assessment_health": ("Estado de salud general estable; controles al día.",
                          "Requiere controles odontológicos y de vista."),
    "assessment_mental_health": ("Presenta ansiedad moderada; responde bien al acompañamiento.",
                                 "Dificultad para dormir que mejora con las pautas."),
    "assessment_education": ("Rezago escolar de dos años; motivación para estudiar.",
                             "Lee y escribe con apoyo; requiere nivelación."),
    "assessment_legal": ("Proceso en etapa de investigación fiscal.",
                         "Documento de identidad en trámite."),
    "assessment_economic": ("Familia con ingresos bajos e irregulares.",),
    "assessment_community": ("Participa en actividades grupales del centro.",),
}
CHILD_WISHES = ("Quiere terminar el colegio y aprender un oficio.",
                "Desea volver con su abuela cuando sea posible.",
                "Quiere estudiar enfermería.", "Le gustaría aprender computación.",
                "Quiere mantener contacto con sus hermanos.")
PROGRESS_TEXTS = ("Avanza según lo previsto.", "Avance parcial; se reprograman acciones.",
                  "Cumple las actividades acordadas.", "Sin cambios desde la última revisión.")
HEALTH_ON_ARRIVAL = ("Estado general aparentemente bueno; se programa control médico.",
                     "Refiere cansancio y dolor de cabeza; se coordina evaluación médica.",
                     "Sin lesiones visibles; pendiente control odontológico.",
                     "Bajo peso para su edad; se indica control nutricional.")
URGENT_NEEDS = ("Ropa, útiles de aseo y control médico.",
                "Comunicación con un familiar de confianza, previa verificación.",
                "Documento de identidad.", "Atención médica y descanso.")
FIRST_OBSERVATIONS = ("Habla poco y mantiene distancia; acepta la acogida.",
                      "Colabora con las rutinas y se integra de a poco.",
                      "Llanto al ingresar; se calma con el acompañamiento.",
                      "Pregunta por su familia; se le explica el procedimiento.")
RISK_REASONS = {
    "high": ("La red de captación no está identificada; salidas solo acompañadas.",
             "Un familiar podría estar implicado; contactos solo con autorización."),
    "medium": ("Proceso en curso; requiere acompañamiento en las diligencias.",
               "Riesgo de retiro del centro; seguimiento cercano."),
    "low": ("Familia extensa protectora identificada.", "Situación estable."),
}
COMMUNITIES = ("Caserío Nuevo Progreso (ficticio)", "Comunidad nativa Santa Rita (ficticia)",
               "Centro poblado Villa Esperanza (ficticio)",
               "Comunidad campesina Q'ollpa (ficticia)", "Caserío Bellavista Alta (ficticio)",
               "Asentamiento humano Los Jardines (ficticio)")
EXPLOITATION_OTHER = ("Transporte fluvial", "Venta ambulante nocturna")
SECTOR_OTHER = ("Embarcaciones fluviales", "Pesca")
FAMILY_NOTES = ("Verificar con la UPE antes de cualquier contacto.",
                "Visita el centro con autorización.", "Vive lejos; contacto por teléfono.")


# ====================================================================== choice tables

class _Weighted:
    """A weighted choice over the values a field really offers."""
    __slots__ = ("values", "cum")

    def __init__(self, known: Sequence[str], weights: dict[str, float] | None = None):
        known = list(known)
        if weights:
            pairs = [(v, w) for v, w in weights.items() if v in known and w > 0]
        else:
            pairs = []
        if not pairs:  # nothing we know about is offered: any offered value will do
            pairs = [(v, 1.0) for v in known]
        self.values = [v for v, _w in pairs]
        total, self.cum = 0.0, []
        for _v, w in pairs:
            total += w
            self.cum.append(total)

    def pick(self, rng: random.Random) -> str:
        return rng.choices(self.values, cum_weights=self.cum)[0]


class _Catalog:
    """Everything generation reads from the form definitions and the ubigeo catalog."""

    def __init__(self) -> None:
        reg = forms.registry()
        self.reg = reg

        def field(form_id: str, field_id: str, column: str | None = None) -> forms.Field:
            f = reg.get(form_id).field(field_id)
            if column is not None:
                f = next(c for c in f.columns if c.id == column)
            return f

        self.field = field

        def values(form_id: str, field_id: str, column: str | None = None) -> tuple[str, ...]:
            return tuple(c.value for c in field(form_id, field_id, column).choices)

        self.values = values

        def w(form_id: str, field_id: str, weights: dict | None = None,
              column: str | None = None) -> _Weighted:
            return _Weighted(values(form_id, field_id, column), weights)

        self.w = w
        roles = values(INTAKE, "completed_by_role")
        self.staff: dict[str, tuple[str, ...]] = {}
        for role, names in STAFF.items():
            key = role if role in roles else "other"
            self.staff[key] = self.staff.get(key, ()) + names
        self.roles = roles

        # --- intake
        self.sex = w(INTAKE, "sex", {"female": 75, "male": 25})
        self.arrival = w(INTAKE, "arrival_way", {"authority_escort": 70, "rescue_operation": 15,
                                                 "transfer_from_shelter": 8,
                                                 "brought_by_person": 4, "self_presented": 2,
                                                 "other": 1})
        self.country = w(INTAKE, "country_of_origin", {"peru": 90, "venezuela": 5,
                                                       "colombia": 2, "brazil": 1,
                                                       "ecuador": 1, "bolivia": 1})
        self.doc_peru = w(INTAKE, "document_type", {"dni": 55, "cui": 10,
                                                    "birth_certificate": 10, "none": 25})
        self.doc_foreign = w(INTAKE, "document_type", {"foreign_id": 30, "pasaporte": 15,
                                                       "cpp": 15, "none": 40})
        self.doc_adult = w(DISCHARGE, "receiving_adult_document_type", {"dni": 1})
        self.languages = {d: w(INTAKE, "mother_tongue", ws)
                          for d, ws in LANGUAGES_BY_DEPARTMENT.items()}
        self.language_values = values(INTAKE, "mother_tongue")
        self.other_language_values = values(INTAKE, "other_languages")
        self.people = values(INTAKE, "ethnicity")
        self.people_spanish = {
            "16": w(INTAKE, "ethnicity", {"mestizo": 60, "kichwa": 5, "kukama_kukamiria": 5,
                                          "other_amazonian": 5, "not_stated": 25}),
            "08": w(INTAKE, "ethnicity", {"mestizo": 50, "quechua": 25, "not_stated": 25}),
            "21": w(INTAKE, "ethnicity", {"quechua": 40, "aymara": 30, "mestizo": 20,
                                          "not_stated": 10}),
            "": w(INTAKE, "ethnicity", {"mestizo": 60, "afroperuvian": 3, "not_stated": 37}),
        }
        self.people_foreign = w(INTAKE, "ethnicity", {"mestizo": 50, "not_stated": 50})
        self.referral = w(INTAKE, "referral_source", {
            "fiscalia_familia": 25, "fistrap": 20, "upe": 25, "juzgado": 8, "pnp_dirintrap": 8,
            "pnp_comisaria": 5, "demuna": 4, "cem": 2, "other_shelter": 2, "other": 1})
        self.exploitation_types = values(INTAKE, "exploitation_types")
        self.exploit_female = w(INTAKE, "exploitation_types", {
            "sexual": 55, "labour": 28, "servitude": 12, "begging": 3, "sale": 1, "other": 1})
        self.exploit_male = w(INTAKE, "exploitation_types", {
            "sexual": 15, "labour": 65, "servitude": 8, "begging": 8, "sale": 2, "other": 2})
        self.sector_values = values(INTAKE, "exploitation_sector")
        self.sectors = {
            "sexual": w(INTAKE, "exploitation_sector", {"bars": 60, "mining": 35, "other": 5}),
            "labour": w(INTAKE, "exploitation_sector", {"mining": 35, "logging": 25,
                                                        "agriculture": 25, "street_trade": 10,
                                                        "other": 5}),
            "servitude": w(INTAKE, "exploitation_sector", {"domestic_work": 90,
                                                           "agriculture": 10}),
            "begging": w(INTAKE, "exploitation_sector", {"street_trade": 1}),
            "sale": w(INTAKE, "exploitation_sector", {"other": 1}),
            "other": w(INTAKE, "exploitation_sector", {"other": 1}),
        }
        self.scope = values(INTAKE, "exploitation_scope")
        self.perpetrator = w(INTAKE, "cp_incident_perpetrator_relationship", {
            "family_member": 15, "godparent": 5, "partner": 10, "friend_acquaintance": 25,
            "neighbour": 8, "employer": 12, "online_contact": 12, "stranger": 8, "other": 0,
            "unknown": 8})
        self.relationships = values(INTAKE, "family_details", "relationship")
        self.insurance = w(INTAKE, "health_insurance", {"sis": 75, "none": 12, "unknown": 10,
                                                        "essalud": 3})
        self.disability = w(INTAKE, "disability_type", {"none": 90, "psychosocial": 4,
                                                        "intellectual": 3, "visual": 1,
                                                        "hearing": 1, "physical": 1})
        self.pregnancy = w(INTAKE, "pregnancy_or_motherhood", {"none": 88, "pregnant": 7,
                                                               "mother": 4,
                                                               "pregnant_and_mother": 1})
        self.grades = values(INTAKE, "last_school_grade")
        self.risk = w(INTAKE, "risk_level", {"high": 35, "medium": 45, "low": 20})
        self.risk_values = values(INTAKE, "risk_level")
        # --- services
        self.areas_peru = w(SERVICES, "service_area", SERVICE_AREA_WEIGHTS)
        self.areas_foreign = w(SERVICES, "service_area", FOREIGN_SERVICE_AREA_WEIGHTS)
        # --- PTI
        self.pti_areas = w(PTI, "cp_case_plan", PTI_AREA_WEIGHTS, column="area")
        self.statuses = values(PTI, "cp_case_plan", "status")
        self.status_past = w(PTI, "cp_case_plan", {"achieved": 55, "in_progress": 30,
                                                   "not_achieved": 15}, column="status")
        self.status_open = w(PTI, "cp_case_plan", {"pending": 40, "in_progress": 60},
                             column="status")
        self.approval = w(PTI, "approval_status_case_plan", {"approved": 85, "pending": 10,
                                                             "returned": 5})
        self.compliance = w(PTI, "review_compliance", {"high": 40, "medium": 45, "low": 15})
        self.plan_types = values(PTI, "plan_type")
        # --- follow-ups
        self.fu_in_care = w(FOLLOWUP, "followup_type", {"in_care": 70, "assessment": 20,
                                                        "service": 10})
        self.fu_after = w(FOLLOWUP, "followup_type", {"after_reintegration": 1})
        self.fu_method_after = w(FOLLOWUP, "followup_method", {"home_visit": 60, "phone": 30,
                                                               "video_call": 10})
        self.fu_method_in = w(FOLLOWUP, "followup_method", {"in_shelter": 85,
                                                            "institution_visit": 15})
        # --- discharge
        self.discharge_reason = w(DISCHARGE, "discharge_reason", {
            "family_reintegration": 35, "extended_family": 22, "foster_family": 6,
            "adoption": 1, "transfer": 12, "left_without_authorisation": 10, "other": 3})
        self.discharge_foreign = w(DISCHARGE, "discharge_reason", {
            "repatriation": 50, "family_reintegration": 20, "transfer": 15,
            "left_without_authorisation": 10, "other": 5})
        self.discharge_at_18 = w(DISCHARGE, "discharge_reason", {
            "independent_life": 45, "family_reintegration": 25, "extended_family": 15,
            "transfer": 10, "other": 5})
        self.home_risk = w(DISCHARGE, "home_risk_level", {"low": 60, "medium": 35, "high": 5})
        self.discharge_approval = w(DISCHARGE, "approval_status", {"approved": 95,
                                                                   "pending": 5})
        # --- consent
        self.consent_kinds = values(CONSENT, "consent_kind")
        self.consent_versions = values(CONSENT, "version_used")
        self.who_may_see = values(CONSENT, "who_may_see")
        self.guardian = w(CONSENT, "guardian_relationship", {
            "upe": 55, "prosecutor": 15, "judge": 10, "shelter_director": 12, "mother": 5,
            "other_relative": 3})

        # --- places: every code is checked against the catalog
        def valid(codes: Iterable[str]) -> tuple[str, ...]:
            return tuple(c for c in codes if ubigeo.is_valid(c))

        self.departments = _Weighted([d for d in ORIGIN_DEPARTMENTS if ubigeo.is_valid(d)],
                                     ORIGIN_DEPARTMENTS)
        self.districts = {d: tuple(x.code for p in ubigeo.provinces(d)
                                   for x in ubigeo.districts(p.code))
                          for d in ORIGIN_DEPARTMENTS}
        self.hubs = {d: valid(codes) for d, codes in HUB_DISTRICTS.items()}
        self.sector_places = {s: valid(codes) for s, codes in SECTOR_PLACES.items()}
        self.all_exploitation_places = tuple(sorted({c for v in self.sector_places.values()
                                                     for c in v}))

    def staff_for(self, rng: random.Random, role: str) -> tuple[str, str]:
        """A fictional staff member of that role: (name, staff_roles value)."""
        if role not in self.staff:
            role = "social_worker" if "social_worker" in self.staff else next(iter(self.staff))
        return rng.choice(self.staff[role]), role if role in self.roles else self.roles[-1]

    def ordered(self, known: Sequence[str], chosen: Iterable[str]) -> list[str]:
        chosen = set(chosen)
        return [v for v in known if v in chosen]


_catalog_cache: _Catalog | None = None


def _cat() -> _Catalog:
    global _catalog_cache
    if _catalog_cache is None or _catalog_cache.reg is not forms.registry():
        _catalog_cache = _Catalog()
    return _catalog_cache


# ====================================================================== generation

@dataclass
class _Skeleton:
    """What the service allocation needs before the details: drawn from its own stream."""
    index: int
    admission: dt.date
    birth: dt.date           # the true date of birth (recorded only for most)
    end: dt.date             # discharge date, or today
    discharged: bool
    at_18: bool              # discharged because the resident came of age


def _skeleton(seed: int, index: int, today: dt.date) -> _Skeleton:
    rng = random.Random(f"cpc-demo/{seed}/{index}/skeleton")
    admission = today - dt.timedelta(days=rng.randrange(HISTORY_DAYS))
    age = rng.choices(range(8, 18), weights=(2, 2, 3, 4, 6, 9, 12, 14, 14, 10))[0]
    # Born between age+1 years and age years before admission (exclusive), so the age
    # on the admission day is exactly `age`.
    latest = _add_years(admission, -age)
    earliest = _add_years(admission, -age - 1) + dt.timedelta(days=1)
    birth = earliest + dt.timedelta(days=rng.randrange((latest - earliest).days + 1))
    end, discharged, at_18 = today, False, False
    stay = (today - admission).days
    if stay >= 60 and rng.random() < 0.12:
        end = admission + dt.timedelta(days=rng.randint(45, min(stay, 720)))
        discharged = True
    coming_of_age = _add_years(birth, 18)
    if coming_of_age <= end:
        # Residential care ends at 18: leave on the birthday or shortly before.
        end = max(admission, coming_of_age - dt.timedelta(days=rng.randrange(30)))
        discharged = at_18 = True
    return _Skeleton(index, admission, birth, end, discharged, at_18)


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Splits `total` in proportion to `weights` exactly (largest remainder, integers only)."""
    if not weights:
        return []
    wsum = sum(weights)
    shares = [divmod(total * w, wsum) for w in weights]
    counts = [q for q, _r in shares]
    left = total - sum(counts)
    order = sorted(range(len(weights)), key=lambda i: (-shares[i][1], i))
    for i in order[:left]:
        counts[i] += 1
    return counts


def generate(seed: int = 1, residents: int = DEFAULT_RESIDENTS,
             services_per_resident: int | None = None, *,
             today: dt.date | None = None,
             shelter_code: str = DEMO_SHELTER[0]) -> Iterator[DemoResident]:
    """Yields `residents` synthetic residents, oldest admission first.

    Services total exactly `residents * services_per_resident` (default 20 each), shared in
    proportion to each resident's length of stay. Values depend only on the seed, the
    counts and `today` (default: the current date; admissions cover the three years before
    it). Internal codes follow the vault's format, `<shelter_code>-<year>-<nnnn>`, numbered
    per admission year from 1. Nothing is written anywhere.
    """
    if residents < 0:
        raise ValueError("residents must be ≥ 0")
    spr = DEFAULT_SERVICES_PER_RESIDENT if services_per_resident is None else services_per_resident
    if spr < 0:
        raise ValueError("services_per_resident must be ≥ 0")
    today = today or dt.date.today()
    cat = _cat()
    skeletons = [_skeleton(seed, i, today) for i in range(residents)]
    skeletons.sort(key=lambda s: (s.admission, s.index))
    service_counts = _allocate(residents * spr, [(s.end - s.admission).days + 30
                                                 for s in skeletons])
    per_year: dict[int, int] = {}
    for number, (sk, n_services) in enumerate(zip(skeletons, service_counts), start=1):
        year = sk.admission.year
        per_year[year] = per_year.get(year, 0) + 1
        code = f"{shelter_code}-{year}-{per_year[year]:04d}"
        yield _Resident(cat, seed, sk, today, code, number, n_services).build()


def generate_records(seed: int = 1, residents: int = DEFAULT_RESIDENTS,
                     services_per_resident: int | None = None, *,
                     today: dt.date | None = None,
                     shelter_code: str = DEMO_SHELTER[0]) -> Iterator[tuple[int, str, dict]]:
    """The same values as `generate`, flat: (resident number, form id, values), each
    resident's intake first. Handy for loading another store (benchmark baselines)."""
    for resident in generate(seed, residents, services_per_resident, today=today,
                             shelter_code=shelter_code):
        for form_id, values in resident.items():
            yield resident.number, form_id, values


class _Resident:
    """Builds one resident's records from its skeleton and its own random stream."""

    def __init__(self, cat: _Catalog, seed: int, sk: _Skeleton, today: dt.date, code: str,
                 number: int, n_services: int):
        self.cat, self.sk, self.today = cat, sk, today
        self.code, self.number, self.n_services = code, number, n_services
        self.seed = seed
        self.rng = random.Random(f"cpc-demo/{seed}/{sk.index}/detail")

    # ------------------------------------------------------------ helpers
    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def capped(self, day: dt.date, *, after_discharge: bool = False) -> dt.date:
        """Not after the end of the stay (discharge or today), or for what happens after
        the discharge not after today: dates that may not be in the future."""
        return min(day, self.today if after_discharge else self.sk.end)

    def doc_number(self) -> str:
        return f"DEMO-{self.rng.randrange(10**6):06d}"

    def phone(self) -> str:
        return f"000 000 {self.rng.randrange(1000):03d}"

    def file_number(self, kind: str, year: int) -> str:
        return f"{kind} {self.rng.randint(1, 999):03d}-{year}-DEMO"

    def district(self, department: str) -> str:
        hubs = self.cat.hubs.get(department) or ()
        if hubs and self.chance(0.5):
            return self.rng.choice(hubs)
        return self.rng.choice(self.cat.districts[department])

    # ------------------------------------------------------------ build
    def build(self) -> DemoResident:
        intake = self.intake()
        records: list[tuple[str, dict, str]] = []   # (form, values, date for ordering)
        consents = self.consents()
        records += consents
        intake["consent_for_services"] = bool(consents)
        intake["consent_info_sharing"] = bool(consents) and all(
            v.get("consent_info_sharing") for _f, v, _d in consents)
        objectives: list[dict] = []
        records += self.plans(objectives)
        records += self.services()
        records += self.followups_in_care(objectives)
        if self.number % MORE_FORMS_EVERY == 1:
            records += _MoreForms(self).records()
        if self.sk.discharged:
            discharge = self.discharge()
            records.append((DISCHARGE, discharge, discharge["discharge_date"]))
            records += self.followups_after(discharge)
        records.sort(key=lambda r: r[2])
        return DemoResident(self.number, intake,
                            tuple((form, values) for form, values, _d in records))

    # ------------------------------------------------------------ intake
    def intake(self) -> dict:
        cat, rng, sk = self.cat, self.rng, self.sk
        v: dict = {}
        self.female = female = cat.sex.pick(rng) == "female"
        v["admission_date"] = sk.admission.isoformat()
        v["admission_time"] = f"{rng.randint(7, 22):02d}:{rng.choice((0, 15, 30, 45)):02d}"
        v["received_by"] = cat.staff_for(rng, "caregiver")[0]
        v["internal_code"] = self.code
        v["arrival_way"] = cat.arrival.pick(rng)
        if v["arrival_way"] == "other":
            v["arrival_way_other"] = "Traída o traído por personal de salud"
        country = cat.country.pick(rng)
        self.foreign = foreign = country not in ("peru", "unknown")
        department = cat.departments.pick(rng)
        self.department = department
        # Identity
        if foreign:
            pool_a = pool_b = SURNAMES_COMMON
        elif department in ("08", "21"):
            pool_a, pool_b = SURNAMES_ANDEAN, SURNAMES_ANDEAN + SURNAMES_COMMON
        elif department == "17":
            pool_a = pool_b = SURNAMES_ANDEAN + SURNAMES_AMAZONIAN + SURNAMES_COMMON
        else:
            pool_a = pool_b = SURNAMES_AMAZONIAN + SURNAMES_COMMON
        given = GIVEN_FEMALE if female else GIVEN_MALE
        first = rng.choice(given)
        if self.chance(0.3):
            second = rng.choice(given)
            if second != first:
                first = f"{first} {second}"
        self.surnames = (rng.choice(pool_a), rng.choice(pool_b))
        self.surname_pool = pool_b
        v["name_first"] = first
        v["name_last"] = " ".join(self.surnames)
        nickname = NICKNAMES.get(first.split()[0])
        if nickname and self.chance(0.25):
            v["name_nickname"] = nickname
        v["sex"] = "female" if female else "male"
        age = profile.age_on({profile.DATE_OF_BIRTH: sk.birth.isoformat()}, sk.admission)
        self.age = age
        if self.chance(0.8):
            v["date_of_birth"] = sk.birth.isoformat()
        else:
            v["age"] = age
            v["age_estimated"] = True
        doc = (cat.doc_foreign if foreign else cat.doc_peru).pick(rng)
        v["document_type"] = doc
        if doc != "none":
            v["document_number"] = self.doc_number()
        v["nationality"] = country
        v["country_of_origin"] = country
        # Origin and languages
        if foreign:
            v["place_of_birth_abroad"] = rng.choice(FOREIGN_BIRTHPLACES.get(
                country, ("Ciudad no especificada",)))
            if self.chance(0.5):
                v["place_of_residence"] = self.district(department)
            tongue = "portuguese" if country == "brazil" else "spanish"
            if tongue not in cat.language_values:
                tongue = cat.language_values[0]
        else:
            v["place_of_birth"] = self.district(department)
            v["place_of_residence"] = (v["place_of_birth"] if self.chance(0.6)
                                       else self.district(department))
            if self.chance(0.6):
                v["community"] = rng.choice(COMMUNITIES)
            tongue = cat.languages[department].pick(rng)
        self.residence = v.get("place_of_residence") or v.get("place_of_birth") or department
        v["mother_tongue"] = tongue
        if tongue == "other":
            v["mother_tongue_other"] = "Ese eja"
        spanish = "spanish" in cat.other_language_values
        speaks_spanish = tongue == "spanish" or (spanish and self.chance(0.8))
        if tongue != "spanish" and speaks_spanish and spanish:
            v["other_languages"] = ["spanish"]
        self.interpreter = tongue != "spanish" and (not speaks_spanish or self.chance(0.15))
        v["interpreter_needed"] = self.interpreter
        self.tongue = tongue
        people = PEOPLE_OF_LANGUAGE.get(tongue)
        if foreign:
            v["ethnicity"] = cat.people_foreign.pick(rng)
        elif people in cat.people:
            v["ethnicity"] = people
        else:
            v["ethnicity"] = cat.people_spanish.get(department, cat.people_spanish[""]).pick(rng)
        # Referral
        source = cat.referral.pick(rng)
        v["referral_source"] = source
        if source == "other":
            v["referral_source_other"] = "Defensoría del Pueblo (oficina ficticia)"
        year = sk.admission.year
        v["referring_office"] = f"Dependencia derivante de {ubigeo.get(department[:2]).name} " \
                                f"(ficticia)" if not foreign else "Dependencia derivante (ficticia)"
        v["referral_document_number"] = self.file_number("Oficio N.°", year)
        if self.chance(0.7):
            v["upe_file_number"] = self.file_number("Exp.", year)
        if self.chance(0.6):
            v["prosecutor_file"] = self.file_number("CF", year)
        if self.chance(0.4):
            v["police_report_number"] = self.file_number("Denuncia", year)
        if self.chance(0.3):
            v["court_file_number"] = self.file_number("Exp. judicial", year)
        v["protection_measure"] = "Acogimiento residencial (medida de protección provisional)"
        v["protection_measure_date"] = (sk.admission - dt.timedelta(
            days=rng.randint(0, 3))).isoformat()
        # Exploitation
        types = [(cat.exploit_female if female else cat.exploit_male).pick(rng)]
        if self.chance(0.3):
            types.append((cat.exploit_female if female else cat.exploit_male).pick(rng))
            if self.chance(0.15):
                types.append(rng.choice(cat.exploitation_types))
        v["exploitation_types"] = cat.ordered(cat.exploitation_types, types)
        if "other" in types:
            v["exploitation_types_other"] = rng.choice(EXPLOITATION_OTHER)
        sectors = [cat.sectors.get(t, cat.sectors["other"]).pick(rng) for t in types]
        v["exploitation_sector"] = cat.ordered(cat.sector_values, sectors)
        if "other" in sectors:
            v["exploitation_sector_other"] = rng.choice(SECTOR_OTHER)
        v["place_of_recruitment"] = (self.residence if self.chance(0.6)
                                     else self.district(department))
        abroad = not foreign and self.chance(0.08)
        if abroad:
            v["place_of_exploitation_abroad"] = rng.choice(ABROAD_PLACES)
        else:
            places = [c for s in sectors for c in cat.sector_places.get(s, ())]
            v["place_of_exploitation"] = rng.choice(places or cat.all_exploitation_places)
        scope = "cross_border" if (abroad or foreign) else "internal"
        if scope in cat.scope:
            v["exploitation_scope"] = scope
        perpetrator = cat.perpetrator.pick(rng)
        v["cp_incident_perpetrator_relationship"] = perpetrator
        if self.chance(0.5):
            v["exploitation_period"] = f"unos {rng.randint(2, 18)} meses"
        else:
            start = rng.randrange(12)
            stop = min(11, start + rng.randint(1, 6))
            v["exploitation_period"] = (f"de {MONTHS[start]} a {MONTHS[stop]} de "
                                        f"{year - rng.randint(0, 1)}")
        # Family
        v["family_details"] = self.family(perpetrator == "family_member")
        # Health and education
        v["health_insurance"] = cat.insurance.pick(rng)
        v["disability_type"] = [cat.disability.pick(rng)]
        if female:
            pregnancy = cat.pregnancy.pick(rng) if age >= 13 else "none"
            if pregnancy in cat.values(INTAKE, "pregnancy_or_motherhood"):
                v["pregnancy_or_motherhood"] = pregnancy
            if pregnancy in ("mother", "pregnant_and_mother"):
                v["child_admitted_with_mother"] = self.chance(0.6)
        v["last_school_grade"] = self.school_grade(age)
        v["school_enrolled"] = self.chance(0.45)
        v["health_on_arrival"] = rng.choice(HEALTH_ON_ARRIVAL)
        v["urgent_needs"] = rng.choice(URGENT_NEEDS)
        v["first_psychological_observation"] = rng.choice(FIRST_OBSERVATIONS)
        risk = cat.risk.pick(rng)
        v["risk_level"] = risk
        self.risk_level = risk
        v["risk_reason"] = rng.choice(RISK_REASONS.get(risk, ("Sin observaciones.",)))
        name, role = cat.staff_for(rng, "social_worker")
        v["completed_by"], v["completed_by_role"] = name, role
        return v

    def school_grade(self, age: int) -> str:
        rng, grades = self.rng, self.cat.grades
        r = rng.random()
        if r < 0.03 and "none" in grades:
            return "none"
        if r < 0.08 and "unknown" in grades:
            return "unknown"
        if r < 0.12 and age >= 14 and "alternative_basic" in grades:
            return "alternative_basic"
        ladder = [g for g in grades if re.fullmatch(r"(primary|secondary)_\d", g)]
        passed = age - 7 - rng.choice((0, 0, 1, 1, 2, 3))
        if passed <= 0 or not ladder:
            return "preschool" if "preschool" in grades else grades[0]
        return ladder[min(passed, len(ladder)) - 1]

    def family(self, family_involved: bool) -> list[dict]:
        cat, rng = self.cat, self.rng
        candidates = [("mother", 0.8), ("father", 0.5), ("grandparent", 0.35),
                      ("sibling", 0.4), ("aunt_uncle", 0.3), ("stepfather", 0.1),
                      ("stepmother", 0.05)]
        chosen = [rel for rel, p in candidates if rel in cat.relationships and self.chance(p)]
        if not chosen:
            chosen = [rng.choice(cat.relationships)]
        rng.shuffle(chosen)
        chosen = chosen[:rng.randint(1, 4)]
        ages = {"mother": (26, 55), "father": (28, 60), "grandparent": (50, 80),
                "stepfather": (25, 55), "stepmother": (25, 55), "aunt_uncle": (20, 60),
                "sibling": (max(0, self.age - 8), self.age + 8)}
        female_rel = {"mother", "stepmother"}
        male_rel = {"father", "stepfather"}
        rows = []
        implicated = rng.randrange(len(chosen)) if family_involved else -1
        for i, rel in enumerate(chosen):
            if rel in female_rel or (rel not in male_rel and self.chance(0.5)):
                given = rng.choice(ADULT_FEMALE if rel != "sibling" else GIVEN_FEMALE)
            else:
                given = rng.choice(ADULT_MALE if rel != "sibling" else GIVEN_MALE)
            father_line, mother_line = self.surnames
            other = rng.choice(self.surname_pool)
            surname = {"father": f"{father_line} {other}", "mother": f"{mother_line} {other}",
                       "sibling": f"{father_line} {mother_line}",
                       "grandparent": f"{rng.choice(self.surnames)} {other}"}.get(
                rel, f"{other} {rng.choice(self.surname_pool)}")
            row: dict = {"name": f"{given} {surname}", "relationship": rel}
            alive = self.chance(0.94)
            row["alive"] = alive
            lo, hi = ages.get(rel, (18, 70))
            row["age"] = rng.randint(lo, hi)
            if alive:
                row["language"] = self.tongue if self.chance(0.7) else (
                    "spanish" if "spanish" in cat.language_values else self.tongue)
                row["place"] = self.residence if self.chance(0.7) else self.department
                hidden = i == implicated or self.chance(0.35 if rel.startswith("step") else 0.1)
                row["must_not_know_location"] = hidden
                row["may_contact"] = not hidden and self.chance(0.75)
                if self.chance(0.5):
                    row["phone"] = self.phone()
                row["caregiver"] = rel in ("mother", "grandparent") and self.chance(0.7)
                if hidden:
                    row["notes"] = "No informar la ubicación del centro."
                elif self.chance(0.3):
                    row["notes"] = rng.choice(FAMILY_NOTES)
            rows.append(row)
        self.family_rows = rows
        return rows

    # ------------------------------------------------------------ consent
    def consents(self) -> list[tuple[str, dict, str]]:
        cat, rng, sk = self.cat, self.rng, self.sk
        if not self.chance(0.92):
            return []
        out = []
        first = self.capped(min(sk.end, sk.admission + dt.timedelta(days=rng.randint(0, 3))))
        dates = [("first", first)]
        if (sk.end - sk.admission).days > 400 and self.chance(0.5):
            dates.append(("renewal", sk.admission + dt.timedelta(days=365)))
        for kind, day in dates:
            v: dict = {"consent_date": day.isoformat()}
            if kind in cat.consent_kinds:
                v["consent_kind"] = kind
            age = profile.age_on({profile.DATE_OF_BIRTH: sk.birth.isoformat()}, day)
            version = "adolescent" if age >= 12 else "child"
            if version in cat.consent_versions:
                v["version_used"] = version
            v["language_used"] = self.tongue if self.interpreter or self.chance(0.3) else (
                "spanish" if "spanish" in cat.language_values else self.tongue)
            v["interpreter_used"] = self.interpreter
            if self.interpreter:
                v["interpreter_name"] = cat.staff_for(rng, "interpreter")[0]
            v["completed_by"], v["completed_by_role"] = cat.staff_for(rng, "social_worker")
            if version == "adolescent":
                v["explained_adolescent"] = True
            else:
                v["explained_child"] = True
            who = ["shelter_team", "upe", "prosecutor", "supervision"]
            if self.chance(0.5):
                who.append("health_services")
            if self.chance(0.3):
                who.append("court")
            if self.chance(0.3):
                who.append("school")
            if self.foreign:
                who.append("consulate")
            v["who_may_see"] = cat.ordered(cat.who_may_see, who)
            v["info_sharing_limits"] = "Solo la información necesaria para cada trámite."
            v["consent_for_services"] = True
            v["consent_info_sharing"] = self.chance(0.9)
            assent = self.chance(0.95)
            v["child_assent"] = assent
            if assent:
                v["child_assent_words"] = "Dice que entiende para qué se anotan sus datos."
            else:
                v["child_disagreement"] = ("Prefiere conversarlo otro día; se acuerda "
                                           "volver a explicar.")
            guardian = cat.guardian.pick(rng)
            trusted = [r for r in self.family_rows if r.get("alive")
                       and not r.get("must_not_know_location")
                       and (guardian != "mother" or r["relationship"] == "mother")]
            if guardian in ("mother", "other_relative") and not trusted:
                guardian = "upe" if "upe" in cat.values(CONSENT, "guardian_relationship") \
                    else guardian
            v["guardian_relationship"] = guardian
            if guardian in ("upe", "prosecutor", "judge", "shelter_director"):
                v["guardian_or_authority_name"] = "Autoridad a cargo (nombre ficticio)"
                v["guardian_institution"] = {
                    "upe": "Unidad de Protección Especial (demo)",
                    "prosecutor": "Fiscalía de Familia (demo)",
                    "judge": "Juzgado de Familia (demo)",
                    "shelter_director": DEMO_SHELTER[1]}[guardian]
            elif trusted:
                v["guardian_or_authority_name"] = rng.choice(trusted)["name"]
            else:
                v["guardian_or_authority_name"] = "Responsable (nombre ficticio)"
            v["guardian_document_type"] = cat.doc_adult.pick(rng)
            v["guardian_document_number"] = self.doc_number()
            out.append((CONSENT, v, v["consent_date"]))
        return out

    # ------------------------------------------------------------ PTI
    def plans(self, objectives: list[dict]) -> list[tuple[str, dict, str]]:
        cat, rng, sk = self.cat, self.rng, self.sk
        stay = (sk.end - sk.admission).days
        if stay < 10:
            return []
        out = []
        start = sk.admission + dt.timedelta(days=rng.randint(7, min(30, stay)))
        while start <= sk.end and len(out) < 4:
            initial = not out
            v: dict = {"period_start": start.isoformat()}
            kind = "initial" if initial else "update"
            if kind in cat.plan_types:
                v["plan_type"] = kind
            v["review_date"] = (start + dt.timedelta(days=180)).isoformat()
            for fid, texts in ASSESSMENTS.items():
                if self.chance(0.8):
                    v[fid] = rng.choice(texts)
            areas: list[str] = []
            want = rng.randint(3, 7)
            for _ in range(30):
                if len(areas) == want:
                    break
                a = cat.pti_areas.pick(rng)
                if a not in areas:
                    areas.append(a)
            rows = []
            for a in areas:
                objective, actions = PTI_OBJECTIVES.get(
                    a, ("Objetivo del área acordado con el equipo.", "Acciones del área."))
                deadline = start + dt.timedelta(days=rng.randint(60, 240))
                status = (cat.status_past if deadline < sk.end else cat.status_open).pick(rng)
                rows.append({"area": a, "objective": objective, "actions": actions,
                             "responsible": cat.staff_for(rng, PTI_AREA_ROLES.get(
                                 a, "social_worker"))[0],
                             "deadline": deadline.isoformat(), "status": status})
            v["cp_case_plan"] = rows
            objectives[:] = rows
            v["child_participated"] = self.chance(0.9)
            if v["child_participated"]:
                v["child_wishes"] = rng.choice(CHILD_WISHES)
            if self.chance(0.3):
                v["family_opinion"] = "La familia autorizada está de acuerdo con el plan."
            if not initial:
                v["review_compliance"] = cat.compliance.pick(rng)
                v["achievements"] = "Cumple la mayoría de las actividades previstas."
                v["progress"] = rng.choice(PROGRESS_TEXTS)
                v["difficulties"] = "Inasistencias ocasionales a las actividades grupales."
                v["adjustments"] = "Se ajustan plazos de los objetivos pendientes."
            approval = cat.approval.pick(rng)
            v["approval_status_case_plan"] = approval
            if approval == "approved":
                v["approval_date"] = self.capped(start + dt.timedelta(
                    days=rng.randint(1, 10))).isoformat()
                v["approved_by"] = cat.staff_for(rng, "coordinator")[0]
            v["completed_by"], v["completed_by_role"] = cat.staff_for(rng, "social_worker")
            out.append((PTI, v, v["period_start"]))
            start += dt.timedelta(days=rng.randint(170, 200))
        return out

    # ------------------------------------------------------------ services
    def services(self) -> list[tuple[str, dict, str]]:
        cat, rng, sk = self.cat, self.rng, self.sk
        span = (sk.end - sk.admission).days
        areas = cat.areas_foreign if self.foreign else cat.areas_peru
        days = sorted(rng.randint(0, span) for _ in range(self.n_services))
        spanish = "spanish" if "spanish" in cat.language_values else self.tongue
        out = []
        for offset in days:
            day = (sk.admission + dt.timedelta(days=offset)).isoformat()
            area = areas.pick(rng)
            name, role = cat.staff_for(rng, rng.choice(SERVICE_ROLES.get(area,
                                                                        ("social_worker",))))
            v: dict = {"service_date": day, "service_area": area}
            if area == "other":
                v["service_area_other"] = "Trámite de documentos"
            v["provider"] = SERVICE_PROVIDERS.get(area, DEMO_SHELTER[1])
            v["professional"] = name
            v["professional_role"] = role
            v["place"] = rng.choice(SERVICE_PLACES.get(area, ("Centro de acogida",)))
            lo, hi = DURATIONS.get(area, (30, 90))
            v["duration_minutes"] = rng.randint(lo // 5, hi // 5) * 5
            referred = area in REFERRED_TO and rng.random() < 0.08
            v["referred"] = referred
            if referred:
                v["referred_to"] = REFERRED_TO[area]
            interpreter = self.interpreter and rng.random() < 0.7
            v["language_used"] = self.tongue if interpreter else spanish
            v["interpreter_used"] = interpreter
            v["note"] = rng.choice(SERVICE_NOTES.get(area, SERVICE_NOTES["other"]))
            out.append((SERVICES, v, day))
        return out

    # ------------------------------------------------------------ follow-ups
    def progress_rows(self, objectives: list[dict]) -> list[dict]:
        rows = []
        for o in self.rng.sample(objectives, min(len(objectives), self.rng.randint(2, 4))):
            rows.append({"area": o["area"], "objective": o["objective"],
                         "status": o["status"], "progress": self.rng.choice(PROGRESS_TEXTS)})
        return rows

    def followup(self, kind: _Weighted, method: _Weighted, due: dt.date,
                 objectives: list[dict], *, after: bool) -> dict:
        cat, rng = self.cat, self.rng
        actual = self.capped(due + dt.timedelta(days=rng.randint(0, 10)),
                             after_discharge=after)
        v: dict = {"followup_type": kind.pick(rng), "followup_method": method.pick(rng),
                   "due_date": due.isoformat(), "actual_date": actual.isoformat()}
        v["completed_by"], v["completed_by_role"] = cat.staff_for(
            rng, "social_worker" if after else rng.choice(("psychologist", "social_worker")))
        seen = not after or self.chance(0.85)
        v["child_seen"] = seen
        if not seen:
            v["not_seen_reason"] = "La familia se había trasladado temporalmente; se reprograma."
        if after:
            v["persons_interviewed"] = "Adulto receptor y la niña, niño o adolescente."
        v["current_risk_level"] = (cat.home_risk if after else cat.risk).pick(rng)
        if objectives:
            v["objective_progress"] = self.progress_rows(objectives)
        v["actions_taken"] = rng.choice((
            "Se revisan los acuerdos del plan con el equipo.",
            "Coordinación con la institución educativa y el centro de salud.",
            "Se refuerzan las pautas de cuidado con el adulto receptor."))
        next_visit = self.chance(0.6)
        v["next_visit_needed"] = next_visit
        if next_visit:
            v["next_visit_date"] = (actual + dt.timedelta(days=rng.randint(30, 90))).isoformat()
        closure = after and self.chance(0.2)
        v["closure_recommended"] = closure
        if closure:
            v["closure_reason"] = "Objetivos del seguimiento cumplidos; entorno estable."
        if self.chance(0.3):
            v["comments"] = "Sin comentarios adicionales."
        return v

    def followups_in_care(self, objectives: list[dict]) -> list[tuple[str, dict, str]]:
        sk = self.sk
        stay = (sk.end - sk.admission).days
        if stay < 60 or not self.chance(0.6):
            return []
        out = []
        for _ in range(self.rng.choice((1, 1, 2))):
            due = sk.admission + dt.timedelta(days=self.rng.randint(45, stay))
            v = self.followup(self.cat.fu_in_care, self.cat.fu_method_in, min(due, sk.end),
                              objectives, after=False)
            out.append((FOLLOWUP, v, v["actual_date"]))
        return out

    def followups_after(self, discharge: dict) -> list[tuple[str, dict, str]]:
        if discharge["discharge_reason"] not in ("family_reintegration", "extended_family",
                                                 "foster_family", "independent_life"):
            return []
        if not self.chance(0.75):
            return []
        out = []
        due = self.sk.end + dt.timedelta(days=self.rng.randint(25, 40))
        for _ in range(self.rng.choice((1, 1, 2))):
            if due > self.today:
                break
            v = self.followup(self.cat.fu_after, self.cat.fu_method_after, due, [], after=True)
            out.append((FOLLOWUP, v, v["actual_date"]))
            due += dt.timedelta(days=self.rng.randint(60, 120))
        return out

    # ------------------------------------------------------------ discharge
    def discharge(self) -> dict:
        cat, rng, sk = self.cat, self.rng, self.sk
        table = (cat.discharge_at_18 if sk.at_18 else
                 cat.discharge_foreign if self.foreign else cat.discharge_reason)
        reason = table.pick(rng)
        v: dict = {"discharge_date": sk.end.isoformat(), "discharge_reason": reason}
        if reason == "other":
            v["discharge_reason_other"] = "Acogimiento por familia de la comunidad"
        if reason in ("transfer", "repatriation"):
            v["receiving_institution"] = ("Centro de acogida residencial (ficticio)"
                                          if reason == "transfer"
                                          else "Servicio de protección del país de origen (demo)")
        if reason == "left_without_authorisation":
            v["absence_report"] = "Se comunicó la salida a la UPE y a la Policía el mismo día."
        else:
            v["authorising_resolution"] = self.file_number("Resolución N.°", sk.end.year)
        if reason in ("family_reintegration", "extended_family", "foster_family",
                      "independent_life"):
            trusted = [r for r in self.family_rows
                       if r.get("alive") and not r.get("must_not_know_location")]
            if reason == "family_reintegration" and trusted:
                adult = rng.choice(trusted)
                name, relationship = adult["name"], adult["relationship"]
            else:
                relationship = {"foster_family": "other", "independent_life": "family_friend",
                                "extended_family": "aunt_uncle"}.get(reason, "grandparent")
                name = f"{rng.choice(ADULT_FEMALE)} {rng.choice(SURNAMES_COMMON)}"
            v["receiving_adult_name"] = name
            if relationship in cat.relationships:
                v["receiving_adult_relationship"] = relationship
            v["receiving_adult_document_type"] = cat.doc_adult.pick(rng)
            v["receiving_adult_document_number"] = self.doc_number()
            v["receiving_adult_place"] = (self.residence if len(self.residence) == 6
                                          else self.district(self.department))
            v["receiving_adult_address"] = f"Jr. Ficticio {rng.randint(100, 999)}"
            v["receiving_adult_phone"] = self.phone()
            verified = self.chance(0.95)
            v["went_to_verified_adult"] = verified
            if not verified:
                v["went_to_other_adult_details"] = ("Se trasladó con otro familiar; la UPE "
                                                    "lo verificó.")
            v["home_risk_level"] = cat.home_risk.pick(rng)
            v["home_risk_assessment"] = "Vivienda visitada por el equipo; condiciones adecuadas."
            v["followup_plan"] = "Visitas domiciliarias y llamadas durante seis meses."
            v["followup_responsible"] = cat.staff_for(rng, "social_worker")[0]
            v["first_followup_date"] = (sk.end + dt.timedelta(days=30)).isoformat()
            v["services_linked"] = "Centro de salud y colegio de la zona."
        if reason != "left_without_authorisation":
            v["child_opinion"] = "Está de acuerdo con el egreso."
            approval = cat.discharge_approval.pick(rng)
            v["approval_status"] = approval
            if approval == "approved":
                v["approval_date"] = sk.end.isoformat()
                v["approved_by"] = cat.staff_for(rng, "coordinator")[0]
        v["completed_by"], v["completed_by_role"] = cat.staff_for(rng, "social_worker")
        return v


class _MoreForms:
    """A resident's informe social, protection measure, school record, visits, incidents and
    belongings inventory, from a random stream of their own (the other records stay as they
    were before these forms existed)."""

    def __init__(self, r: _Resident):
        self.r, self.cat, self.sk = r, r.cat, r.sk
        self.rng = random.Random(f"cpc-demo/{r.seed}/{r.sk.index}/more-forms")

    def day(self, after_admission: int) -> str:
        return self.r.capped(self.sk.admission + dt.timedelta(days=after_admission)).isoformat()

    def pick(self, form_id: str, field_id: str, weights: dict | None = None) -> str:
        return self.cat.w(form_id, field_id, weights).pick(self.rng)

    def records(self) -> list[tuple[str, dict, str]]:
        rng, sk, cat = self.rng, self.sk, self.cat
        out: list[tuple[str, dict, str]] = []
        admitted = self.day(0)
        out.append((INVENTORY, {
            "inventory_date": admitted, "received_by": cat.staff_for(rng, "caregiver")[0],
            "items": [{"item": "Mochila con ropa", "quantity": 1, "condition": "worn",
                       "kept": "with_child", "returned": False},
                      {"item": "Teléfono celular", "quantity": 1, "condition": "good",
                       "kept": "authority", "returned": False}]}, admitted))
        resolution = self.day(2)
        ended = sk.discharged
        review = dt.date.fromisoformat(resolution) + dt.timedelta(days=180)
        out.append((MEASURE, {
            "authority": self.pick(MEASURE, "authority", {"upe": 8, "family_court": 2}),
            "resolution_number": self.r.file_number("Resolución", sk.admission.year),
            "resolution_date": resolution,
            "measure_type": self.pick(MEASURE, "measure_type", {"residential_care": 1}),
            "measure_character": self.pick(MEASURE, "measure_character",
                                           {"provisional": 7, "definitive": 3}),
            "measure_status": "ended" if ended else "in_force",
            "review_date": review.isoformat(),
            "responsible": cat.staff_for(rng, "social_worker")[0]}, resolution))
        social_day = self.day(15)
        out.append((SOCIAL, {
            "report_date": social_day, "report_type": "initial",
            "completed_by": cat.staff_for(rng, "social_worker")[0],
            "methods": ["home_visit", "interview_family"],
            "housing_tenure": self.pick(SOCIAL, "housing_tenure",
                                        {"own": 4, "rented": 3, "lent": 2, "none": 1}),
            "household_size": rng.randint(3, 9),
            "income_sources": [self.pick(SOCIAL, "income_sources",
                                         {"independent": 5, "agriculture": 4,
                                          "social_programs": 2})],
            "risk_factors": [self.pick(SOCIAL, "risk_factors",
                                       {"extreme_poverty": 4, "domestic_violence": 3,
                                        "neglect": 2, "family_involved": 1})],
            "social_risk_level": cat.risk.pick(rng),
            "social_diagnosis": "Familia en situación de pobreza; se coordina con la DEMUNA.",
            "reintegration_outlook": self.pick(SOCIAL, "reintegration_outlook")}, social_day))
        school_day = self.day(30)
        enrolled = self.pick(SCHOOL, "enrolment_status", {"enrolled": 8, "in_process": 2})
        school = {"record_date": school_day, "completed_by": cat.staff_for(rng, "educator")[0],
                  "enrolment_status": enrolled}
        if enrolled == "enrolled":
            school["enrolment_date"] = school_day
        school["school_name"] = "Institución educativa (demo)"
        school["modality"] = self.pick(SCHOOL, "modality", {"ebr": 7, "eba": 3})
        school["grade"] = rng.choice(cat.values(SCHOOL, "grade"))
        out.append((SCHOOL, school, school_day))
        for n in range(rng.randint(1, 3)):
            visit_day = self.day(20 + 25 * n)
            out.append((VISITS, {
                "visit_date": visit_day, "visitor_name": "Familiar autorizado (ficticio)",
                "visitor_relationship": self.pick(VISITS, "visitor_relationship",
                                                  {"mother": 5, "grandparent": 2,
                                                   "aunt_uncle": 2}),
                "visit_authorised": True,
                "visit_mode": self.pick(VISITS, "visit_mode", {"in_shelter": 3, "phone": 2}),
                "duration_minutes": rng.randint(4, 12) * 5,
                "supervised_by": cat.staff_for(rng, "social_worker")[0]}, visit_day))
        if rng.random() < 0.5:
            day = self.day(rng.randint(10, 200))
            kind = self.pick(INCIDENTS, "incident_type",
                             {"absence_without_permission": 3, "conflict": 4, "late_return": 2})
            v: dict = {"incident_date": day, "incident_type": kind,
                       "severity": "high" if kind == "absence_without_permission" else "low"}
            if kind == "absence_without_permission":
                v["absence_reported"] = True
                v["child_returned"] = True
                v["return_date"] = day
            v["description"] = "Hecho registrado para la demostración (ficticio)."
            v["authority_notified"] = kind == "absence_without_permission"
            v["reported_by"] = cat.staff_for(rng, "caregiver")[0]
            out.append((INCIDENTS, v, day))
        return out


# ====================================================================== writing

def populate(vault: Vault, *, residents: int = DEFAULT_RESIDENTS, seed: int = 1,
             services_per_resident: int | None = None,
             progress: ProgressFn | None = None, cancel: CancelFn | None = None,
             today: dt.date | None = None, chunk_records: int = CHUNK_RECORDS) -> dict[str, int]:
    """Fills an open vault with generated residents; returns how many records of each form
    were written.

    Records go through `vault.add_many` in transactions of about `chunk_records` records:
    first the chunk's intakes (which create the residents), then their other records.
    `progress(done, total)` counts residents, whose records are all written; it is called
    once before the first chunk and after each one. `cancel()` is asked before each chunk:
    when it returns True nothing more is written and every resident written so far is
    complete. Internal codes continue the vault's own numbering (shelter code, year, number).
    """
    counts = {form.form: 0 for form in vault.forms}
    codes = _CodeBook(vault)
    batch: list[DemoResident] = []
    pending = 0
    done = 0
    if progress:
        progress(0, residents)

    def flush() -> None:
        nonlocal done, pending
        intakes = [(INTAKE, {**r.intake, "internal_code": codes.next(r.intake)}, None)
                   for r in batch]
        ids = vault.add_many(intakes)
        counts[INTAKE] = counts.get(INTAKE, 0) + len(ids)
        rest = [(form, values, rid) for r, rid in zip(batch, ids) for form, values in r.records]
        for start in range(0, len(rest), max(chunk_records, 1)):
            piece = rest[start:start + chunk_records]
            vault.add_many(piece)
            for form, _v, _r in piece:
                counts[form] = counts.get(form, 0) + 1
        done += len(batch)
        batch.clear()
        pending = 0
        if progress:
            progress(done, residents)

    for resident in generate(seed, residents, services_per_resident, today=today,
                             shelter_code=vault.shelter_code):
        batch.append(resident)
        pending += 1 + len(resident.records)
        if pending >= chunk_records:
            if cancel and cancel():
                batch.clear()
                return counts
            flush()
    if batch and not (cancel and cancel()):
        flush()
    return counts


class _CodeBook:
    """Internal codes in the vault's format, continuing its numbering per admission year.

    Assigned here rather than left to the vault so that what `generate` yields is what is
    stored, and so a batch of intakes never depends on how `add_many` numbers them (it
    once gave every intake of one transaction the same code).
    """

    def __init__(self, vault: Vault):
        self.shelter = vault.shelter_code
        self.last: dict[str, int] = {}
        for r in vault.residents(include_deleted=True):
            self._see(r.internal_code)

    def _see(self, code: str) -> None:
        prefix, _sep, tail = code.rpartition("-")
        if tail.isdigit():
            self.last[prefix] = max(self.last.get(prefix, 0), int(tail))

    def next(self, intake: dict) -> str:
        prefix = f"{self.shelter}-{intake['admission_date'][:4]}"
        n = self.last.get(prefix, 0) + 1
        self.last[prefix] = n
        return f"{prefix}-{n:04d}"


def create_demo_vault(path: Path | str, *, residents: int = DEFAULT_RESIDENTS, seed: int = 1,
                      kdf_seconds: float = 0.5, progress: ProgressFn | None = None,
                      services_per_resident: int | None = None, cancel: CancelFn | None = None,
                      today: dt.date | None = None) -> tuple[Vault, str]:
    """Creates the demo vault: shelter DEMO_SHELTER, users "demo" (coordinator),
    "psicologa.demo" (professional) and "supervision.demo" (read-only supervisor), all with
    DEMO_PASSPHRASE, filled with `residents` synthetic residents. Returns the vault, open as
    "demo", and its recovery key."""
    (login, _role, display), *others = DEMO_USERS
    vault, recovery = Vault.create(path, shelter_code=DEMO_SHELTER[0],
                                   shelter_name=DEMO_SHELTER[1], user=login,
                                   passphrase=DEMO_PASSPHRASE, display_name=display,
                                   kdf_seconds=kdf_seconds)
    try:
        for name, role, display_name in others:
            vault.add_user(name, role, DEMO_PASSPHRASE, display_name)
        populate(vault, residents=residents, seed=seed,
                 services_per_resident=services_per_resident, progress=progress,
                 cancel=cancel, today=today)
    except BaseException:
        vault.lock()
        raise
    return vault, recovery


__all__ = ["DEMO_USER", "DEMO_PASSPHRASE", "DEMO_SHELTER", "DEMO_USERS",
           "DEFAULT_SERVICES_PER_RESIDENT", "DemoResident", "generate", "generate_records",
           "populate",
           "create_demo_vault"]
