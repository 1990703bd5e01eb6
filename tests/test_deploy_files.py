"""The files of deploy/ hold together with the program: compose.yaml parses and names only real
settings and commands, .env.example lists every setting and nothing else (besides the few read
by compose itself), the Dockerfile runs a real command, Caddy passes on only the webhooks,
and the shell scripts pass shellcheck."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from bot.__main__ import parse_args
from bot.settings import Settings

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
APP_SERVICES = ("migrate", "worker", "web1", "web2")
WEBHOOKS = ("web1", "web2")
# what a compose deployment cannot do without: set in .env.example or by compose.yaml
REQUIRED = {"DATABASE_URL", "NIK_PEPPER", "TELEGRAM_WEBHOOK_URL", "TELEGRAM_WEBHOOK_SECRET"}
DEPLOY_ONLY_HEADING = "# --- deployment only"


def settings_names() -> set[str]:
    return {name.upper() for name in Settings.model_fields}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def example_sections() -> tuple[dict[str, str | None], set[str]]:
    """Read .env.example: every setting it names (a commented line too) → its value when the
    line is not commented out, and the names of its deployment-only section."""
    named: dict[str, str | None] = {}
    deploy_only: set[str] = set()
    section = ""
    for line in (DEPLOY / ".env.example").read_text().splitlines():
        if line.startswith("# ---"):
            section = line
            continue
        found = re.match(r"^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$", line)
        if found is None:
            continue
        commented, name, value = found.groups()
        assert name not in named, f"{name} twice in .env.example"
        named[name] = None if commented else value
        if section.startswith(DEPLOY_ONLY_HEADING):
            deploy_only.add(name)
    return named, deploy_only


def test_compose_parses_with_every_process(compose: dict) -> None:
    services = compose["services"]
    assert set(services) >= {"db", *APP_SERVICES, "caddy", "backup"}
    assert re.fullmatch(r"postgres:1[56](\.\d+)?(-\w+)?", services["db"]["image"])
    for name in APP_SERVICES:
        service = services[name]
        assert service["build"]["dockerfile"] == "Dockerfile"  # the project's one image
        assert service["env_file"] == ".env"
    # the schema is migrated once before any process starts; the webhooks after the worker
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert services["worker"]["depends_on"]["migrate"]["condition"] == (
        "service_completed_successfully"
    )
    for name in WEBHOOKS:
        assert services[name]["depends_on"]["worker"]["condition"] == "service_healthy"
    assert "ports" not in services["db"]
    assert all("ports" not in services[name] for name in APP_SERVICES)  # only through Caddy


def test_compose_commands_are_the_programs(compose: dict) -> None:
    for name in APP_SERVICES:
        command = compose["services"][name].get("command") or dockerfile_command()
        assert command[:3] == ["python", "-m", "bot"], name
        assert parse_args(command[3:]).command == command[3]
    assert compose["services"]["migrate"]["command"][3] == "migrate"


def dockerfile_command() -> list[str]:
    text = (DEPLOY.parent / "Dockerfile").read_text()
    (command,) = re.findall(r"^CMD (\[.*\])$", text, flags=re.MULTILINE)
    return json.loads(command)


def test_the_dockerfile_runs_a_real_command_as_a_non_root_user() -> None:
    text = (DEPLOY.parent / "Dockerfile").read_text()
    assert text.startswith("#") and "\nFROM python:3.11-slim\n" in text
    assert re.search(r"^USER (?!root)\w+$", text, flags=re.MULTILINE)
    command = dockerfile_command()
    assert command == ["python", "-m", "bot", "run"]
    assert parse_args(command[3:]).command == "run"
    assert "pip install --no-cache-dir -e ." in text  # the project as pyproject.toml says
    assert "/healthz" in text  # the health check asks the program


def test_compose_names_only_real_settings(compose: dict) -> None:
    known = settings_names()
    for name in APP_SERVICES:
        environment = compose["services"][name].get("environment") or {}
        unknown = set(environment) - known
        assert not unknown, f"{name} sets what the program does not read: {unknown}"


def test_env_example_lists_every_setting_and_nothing_else(compose: dict) -> None:
    named, deploy_only = example_sections()
    known = settings_names()
    assert known - set(named) == set(), "settings missing from .env.example"
    assert set(named) - known == deploy_only, "names the program does not read"
    assert not deploy_only & known
    # what compose itself reads from .env (${NAME}) is in the deployment-only section
    interpolated = set(re.findall(r"\$\{([A-Z_]+)", (DEPLOY / "compose.yaml").read_text()))
    assert interpolated <= deploy_only
    # the required ones are set, by .env.example (to fill in) or by compose.yaml
    app_environment = compose["services"]["worker"].get("environment") or {}
    for name in REQUIRED:
        assert name in app_environment or named.get(name) is not None, name
    # no secret is given a value
    for name in ("NIK_PEPPER", "TELEGRAM_TOKEN", "TELEGRAM_WEBHOOK_SECRET", "POSTGRES_PASSWORD",
                 "WHATSAPP_TOKEN", "WHATSAPP_APP_SECRET", "WHATSAPP_VERIFY_TOKEN"):  # fmt: skip
        assert named[name] in ("", None), f"{name} has a value in .env.example"


def test_env_example_values_are_valid_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    named, deploy_only = example_sections()
    for name in list(Settings.model_fields):
        monkeypatch.delenv(name.upper(), raising=False)
    for name, value in named.items():
        if name not in deploy_only and value:
            monkeypatch.setenv(name, value)
    settings = Settings(_env_file=None)
    assert settings.telegram_webhook_url.endswith("/telegram/webhook")


def test_caddy_passes_on_only_the_webhooks_to_the_webhook_processes(compose: dict) -> None:
    text = (DEPLOY / "Caddyfile").read_text()
    (paths,) = re.findall(r"@webhooks path (.+)", text)
    assert paths.split() == ["/telegram/webhook", "/whatsapp/webhook"]
    http = (Path(__file__).resolve().parent.parent / "bot" / "http.py").read_text()
    for path in paths.split():
        assert f'Route("{path}"' in http  # the program's own routes
    (upstreams,) = re.findall(r"reverse_proxy (.+) \{", text)
    assert [upstream.split(":")[0] for upstream in upstreams.split()] == list(WEBHOOKS)
    assert all(upstream.endswith(":8080") for upstream in upstreams.split())
    assert "/metrics" not in text.replace("# ", "").split("handle @webhooks")[1]
    assert "respond 404" in text
    assert "{$PUBLIC_HOST}" in text


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed")
def test_shell_scripts_pass_shellcheck() -> None:
    scripts = sorted(str(path) for path in DEPLOY.glob("*.sh"))
    assert len(scripts) >= 2
    checked = subprocess.run(
        ["shellcheck", *scripts], capture_output=True, text=True, timeout=60, check=False
    )
    assert checked.returncode == 0, checked.stdout


def test_scripts_refuse_to_run_without_a_database(tmp_path: Path) -> None:
    environment = {"PATH": "/usr/bin:/bin", "BACKUP_DIR": str(tmp_path)}
    for script, args in (("backup.sh", []), ("restore.sh", ["--yes", "missing.dump"])):
        done = subprocess.run(
            ["bash", str(DEPLOY / script), *args],
            env=environment,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert done.returncode == 2, (script, done.stderr)


def exported_names(database) -> set[str]:
    """Return every series name /metrics can show, from its own TYPE lines."""
    from bot import metrics

    text = metrics.exposition(metrics.registry_for(database, cache_seconds=0)).decode()
    names = set()
    for name, kind in re.findall(r"^# TYPE (\S+) (\S+)$", text, flags=re.MULTILINE):
        names.add(name)
        if kind == "histogram":
            names |= {f"{name}_bucket", f"{name}_count", f"{name}_sum"}
    return names


def test_the_alerts_name_only_what_the_program_exports(database) -> None:
    rules = yaml.safe_load((DEPLOY / "alerts.yml").read_text())
    exported = exported_names(database)
    expressions = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    assert len(expressions) >= 10
    named = set()
    for expression in expressions:
        named |= set(re.findall(r"\b((?:layanan|process)_[a-z_]+)", expression))
    assert named - exported == set()
    # each metric the brief asks to watch has an alert or is read by one
    for name in ("layanan_lease_held", "layanan_outbound_oldest_pending_age_seconds",
                 "layanan_outbound_rate_limited_total", "layanan_outbound_pauses_total",
                 "layanan_outbound_sends_total", "layanan_updates_handled_total"):  # fmt: skip
        assert name in named, name


def test_prometheus_scrapes_every_process_of_compose(compose: dict) -> None:
    config = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    (job,) = config["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    (targets,) = [entry["targets"] for entry in job["static_configs"]]
    assert sorted(targets) == sorted(f"{name}:8080" for name in ("worker", *WEBHOOKS))
    mounted = compose["services"]["prometheus"]["volumes"]
    assert "./alerts.yml:/etc/prometheus/alerts.yml:ro" in mounted
    assert config["rule_files"] == ["/etc/prometheus/alerts.yml"]


@pytest.mark.skipif(shutil.which("caddy") is None, reason="caddy is not installed")
def test_caddy_reads_the_caddyfile() -> None:
    adapted = subprocess.run(
        ["caddy", "adapt", "--config", str(DEPLOY / "Caddyfile"), "--adapter", "caddyfile"],
        env={"PATH": "/usr/bin:/bin", "PUBLIC_HOST": "layanan.example.go.id"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert adapted.returncode == 0, adapted.stderr
    config = json.loads(adapted.stdout)
    text = json.dumps(config)
    assert '"dial": "web1:8080"' in text and '"dial": "web2:8080"' in text
    assert '"uri": "/healthz"' in text


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed")
def test_promtool_reads_the_alerts() -> None:
    checked = subprocess.run(
        ["promtool", "check", "rules", str(DEPLOY / "alerts.yml")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
