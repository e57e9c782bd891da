from __future__ import annotations

from plugin.app import EnvolContext
from plugin.settings import load_deploy_settings
from webhooks import create_app


def test_healthz_reports_database_and_broker(envol_context: EnvolContext) -> None:
    client = create_app(context=envol_context).test_client()
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}


def test_healthz_names_the_part_that_failed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = load_deploy_settings(
        database_url=f"sqlite:///{tmp_path / 'missing-dir' / 'x.db'}",
        broker_url="redis://127.0.0.1:1/0",
        secret_key="test-secret-key-0123456789-abcdefghijklmnop",
    )
    client = create_app(settings).test_client()
    response = client.get("/healthz")
    assert response.status_code == 503
    checks = response.json["checks"]
    assert checks["database"].startswith("unreachable")
    assert checks["broker"].startswith("unreachable")
