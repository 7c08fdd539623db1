"""A power cut or a killed process in the middle of writing: the vault still opens, passes
`check`, and holds every write that had reported success."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

from cpc_desktop.core.vault import Vault

PASS = "frase de prueba larga"

WRITER = textwrap.dedent("""
    import sys
    from cpc_desktop.core.vault import Vault
    v = Vault.open(sys.argv[1], "coord", sys.argv[2])
    rid = sys.argv[3]
    i = 0
    while True:
        new = v.add("registro_atenciones", {"service_date": "2025-08-01",
                    "service_area": "education", "professional": "Prof. Ficticia",
                    "note": "Sesión %d" % i}, resident_id=rid)
        if i % 7 == 0:
            v.update(rid, {"name_nickname": "Apodo %d" % i})
        # Reported only after the transaction committed.
        print(new, flush=True)
        i += 1
""")


def test_kill_9_mid_write_loses_no_reported_write(tmp_path):
    path = tmp_path / "v"
    vault, _key = Vault.create(path, shelter_code="LOR-11", shelter_name="Ficticio",
                               user="coord", passphrase=PASS, kdf_seconds=0)
    rid = vault.add("ficha_ingreso", {"admission_date": "2025-06-01", "name_first": "Nayra",
                                      "name_last": "Ficticia", "sex": "female",
                                      "referral_source": "upe", "risk_level": "low"})
    vault.lock()
    reported: list[str] = []
    for round_ in range(3):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path), PASS, rid],
                                stdout=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        target = 40 + 25 * round_
        got = 0
        while got < target and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            reported.append(line.strip())
            got += 1
        os.kill(proc.pid, signal.SIGKILL)
        # Whatever the writer printed after our last read was also committed: collect it.
        rest = proc.stdout.read()
        reported += [x for x in rest.split() if len(x) == 36]
        proc.wait()
        assert got == target, "the writer must have been killed mid-stream, not before starting"

        with Vault.open(path, "coord", PASS) as v:
            report = v.check()
            assert report.ok, f"after kill -9 the vault fails check: {report.items}"
            ids = {r.id for r in v.records(rid, "registro_atenciones")}
            missing = [x for x in reported if x not in ids]
            assert not missing, f"{len(missing)} writes reported as saved were lost"
            assert v.verify_audit().ok
