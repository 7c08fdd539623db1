"""Alerts on a resident are a field of the intake form: another laptop of the shelter gets
them with sync, line by line as written."""
from __future__ import annotations

from cpc_desktop.core import case_alerts
from cpc_desktop.sync.engine import SyncEngine
from cpc_desktop.sync.transports import FolderHub
from sync_support import shelter_of


def test_alerts_travel_with_sync_and_read_as_lines(tmp_path, intake_values):
    a, b = shelter_of(tmp_path / "laptops", 2)
    (tmp_path / "hub").mkdir()
    hub = FolderHub(tmp_path / "hub")
    try:
        rid = a.add("ficha_ingreso", intake_values(
            alerts="• No contactar a su tío materno\n\n riesgo de fuga "))
        a.add("ficha_ingreso", intake_values(name_first="Otra Ficticia"))
        SyncEngine(a).sync(hub)
        SyncEngine(b).sync(hub)
        assert case_alerts.by_resident(b) == {
            rid: ["No contactar a su tío materno", "riesgo de fuga"]}
        b.update(rid, {"alerts": "Audiencia el 12/03/2027"})
        SyncEngine(b).sync(hub)
        SyncEngine(a).sync(hub)
        assert case_alerts.by_resident(a) == {rid: ["Audiencia el 12/03/2027"]}
    finally:
        a.lock()
        b.lock()
