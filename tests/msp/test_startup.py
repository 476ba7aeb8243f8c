import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_web_process_loads_its_views_and_sets_them_aside_from_the_collector():
    # In a fresh interpreter, as gunicorn's worker imports the application.
    probe = (
        "import gc, json, sys; import msp.wsgi; "
        "print(json.dumps([gc.get_freeze_count(), 'reporting.views' in sys.modules]))"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "msp.settings.test"}
    found = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    frozen, views_loaded = json.loads(found.stdout.strip().splitlines()[-1])
    assert views_loaded
    # Django, DRF and the app's modules: well over 100,000 objects no full collection walks.
    assert frozen > 100_000
