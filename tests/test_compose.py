"""compose.yaml and the Dockerfile, checked without a Docker engine (there is none here)."""

from __future__ import annotations

import re
import tomllib
from typing import Any

import yaml

from bot.config import Settings
from tests.contract_support import ROOT


def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def test_the_scaled_shape_and_the_single_profile() -> None:
    services = compose()["services"]
    assert {"postgres", "redis", "bot1", "bot2", "proxy", "bot-single"} <= services.keys()
    for name, service in services.items():
        assert "healthcheck" in service, f"{name} has no health check"
        assert service.get("restart") == "unless-stopped", f"{name} is not restarted"
    for replica in ("bot1", "bot2"):
        env = services[replica]["environment"]
        assert env["DATABASE_URL"].startswith("postgresql+asyncpg://") and env["REDIS_URL"].startswith(
            "redis://"
        )
        assert services[replica]["stop_grace_period"] == "45s", "docker stop leaves time for the drain"
        assert {"postgres", "redis"} <= set(services[replica]["depends_on"])
    assert services["bot1"]["environment"]["INSTANCE_ID"] != services["bot2"]["environment"]["INSTANCE_ID"]
    proxy = " ".join(services["proxy"]["command"])
    assert "bot1:8080" in proxy and "bot2:8080" in proxy, "the load balancer spreads over both replicas"
    single = services["bot-single"]
    assert single["profiles"] == ["single"] and single["environment"]["WEBHOOK_URL"] == ""
    assert "DATABASE_URL" not in single["environment"], "SQLite in its volume"


def test_the_environment_it_sets_is_the_bots_own_and_documented() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    known = {name.upper() for name in Settings.model_fields}
    for name, service in compose()["services"].items():
        if not name.startswith("bot"):
            continue
        for variable in service["environment"]:
            assert variable in known, f"{name} sets {variable}, which the bot does not read"
            assert f"`{variable}`" in readme, f"{variable} is not in the README's settings"


def test_the_dockerfile_caches_dependencies_checks_health_and_pins() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    lines = [line.strip() for line in dockerfile.splitlines()]
    deps = next(i for i, line in enumerate(lines) if line.startswith("RUN pip install -r requirements.lock"))
    code = next(i for i, line in enumerate(lines) if line.startswith("COPY bot"))
    assert deps < code, "dependencies are installed before the code is copied (a layer cache)"
    assert any(line.startswith("HEALTHCHECK") for line in lines)
    lock = (ROOT / ".ci" / "requirements.lock").read_text(encoding="utf-8").splitlines()
    pins = [line for line in lock if line and not line.startswith("#")]
    assert pins and all(re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[\w.+!-]+", pin) for pin in pins), pins
    pinned = {pin.split("==")[0].lower().replace("_", "-") for pin in pins}
    assert {"aiogram", "sqlalchemy", "asyncpg", "redis", "prometheus-client", "pymorphy3"} <= pinned
    # Every dependency pyproject.toml names is in the image: openpyxl (the figures' XLSX, imported only
    # when one is made) and orjson had been left out, which no start of the image shows.
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = project["dependencies"] + project["optional-dependencies"]["postgres"]
    names = {re.split(r"[^A-Za-z0-9_.\-]", dep, maxsplit=1)[0].lower().replace("_", "-") for dep in wanted}
    assert names <= pinned, sorted(names - pinned)
