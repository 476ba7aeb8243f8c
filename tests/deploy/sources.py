"""What the deployment files say, read for the agreement tests: the environment variables the
settings and the start-up files read, the README's configuration table, docker-compose.yml, the
systemd units, and the roles deploy/start knows."""

import ast
import re
import shlex
from configparser import ConfigParser
from functools import cache
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = ROOT / "msp" / "settings"
DEPLOY = ROOT / "deploy"
START = DEPLOY / "start"
SYSTEMD = DEPLOY / "systemd"
# Start-up files that read the environment beside the settings.
PYTHON_READERS = [DEPLOY / "gunicorn.conf.py", DEPLOY / "healthcheck"]
# Read by the test settings only, documented with the tests (README, "Run the tests").
TEST_SETTINGS = SETTINGS / "test.py"

# env_str, env_bool, env_int, env_list (msp/settings/env.py), gunicorn.conf.py's _env_int.
ENV_FUNCTION = re.compile(r"_?env_[a-z]+|getenv")
VARIABLE = re.compile(r"[A-Z][A-Z0-9_]*")


def _read_name(node: ast.AST) -> ast.AST | None:
    """The name argument of an environment read (env_str("X"), os.environ.get("X"),
    os.environ["X"], os.getenv("X")), or None when node is no such read."""
    if isinstance(node, ast.Call) and node.args:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if ENV_FUNCTION.fullmatch(name):
            return node.args[0]
        if name in {"get", "setdefault", "pop"} and _is_environ(getattr(func, "value", None)):
            return node.args[0]
    if isinstance(node, ast.Subscript) and _is_environ(node.value):
        return node.slice
    return None


def _is_environ(node: ast.AST | None) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "environ") or (
        isinstance(node, ast.Name) and node.id == "environ"
    )


def python_variables(path: Path) -> set[str]:
    """The environment variables a Python file reads. A name that is not written out (a
    variable, an f-string) would escape these tests, so it fails them, except inside the
    functions that implement the reads (env_str(name) and the like)."""
    tree = ast.parse(path.read_text(), str(path))
    readers = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and ENV_FUNCTION.fullmatch(node.name)
    ]
    implementing = {id(node) for reader in readers for node in ast.walk(reader)}
    found = set()
    for node in ast.walk(tree):
        argument = _read_name(node)
        if argument is None:
            continue
        if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
            found.add(argument.value)
        elif id(node) not in implementing:
            raise AssertionError(
                f"{path.relative_to(ROOT)}:{node.lineno}: write the variable's name out"
            )
    return found


def shell_variables(path: Path) -> set[str]:
    """The environment variables a shell script reads with ${NAME...}."""
    return set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", path.read_text()))


FIRST_PARTY = ("msp", "sla", "contracts", "tickets", "reporting")


def _module_file(name: str) -> Path | None:
    path = ROOT.joinpath(*name.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imported_modules(path: Path) -> set[str]:
    """First-party modules path imports when it loads (module-level imports, and the packages
    around each): not those imported inside functions, which loading does not run."""
    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    modules = set()
    for name in names:
        parts = name.split(".")
        if parts[0] in FIRST_PARTY:
            modules.update(".".join(parts[:end]) for end in range(1, len(parts) + 1))
    return modules


def loaded_modules(module: Path) -> list[Path]:
    """module and the first-party modules loading it loads, recursively (the production
    settings: base, env, msp.storage, the msp package...)."""
    seen: list[Path] = []
    pending = [module]
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.append(path)
        pending.extend(filter(None, map(_module_file, _imported_modules(path))))
    return seen


def production_variables() -> set[str]:
    """Every variable a production process reads: the production settings and the modules they
    import, gunicorn's config, the health probe and deploy/start."""
    files = loaded_modules(SETTINGS / "prod.py") + PYTHON_READERS
    return set().union(*(python_variables(path) for path in files)) | shell_variables(START)


def configuration_variables() -> set[str]:
    """Every variable any mode but the tests' reads (production, the embedded default)."""
    settings = [path for path in sorted(SETTINGS.glob("*.py")) if path != TEST_SETTINGS]
    files = {loaded for path in settings for loaded in loaded_modules(path)} | set(PYTHON_READERS)
    return set().union(*(python_variables(path) for path in files)) | shell_variables(START)


def readme_section(heading: str) -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index(f"\n{heading}\n")
    level = heading.split(" ", 1)[0]
    end = re.search(rf"\n#{{1,{len(level)}}} ", text[start + len(heading) + 2 :])
    return text[start : start + len(heading) + 2 + end.start()] if end else text[start:]


def readme_configuration_table() -> dict[str, str]:
    """Variable -> its row, from the table of README's "## Configuration" (a row may document
    several variables, each in backquotes in the first column)."""
    rows = {}
    for line in readme_section("## Configuration").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not line.startswith("|") or len(cells) < 3:
            continue
        for name in re.findall(r"`([^`]+)`", cells[0]):
            if VARIABLE.fullmatch(name):
                rows[name] = line
    return rows


@cache
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def app_services() -> dict[str, dict]:
    """The compose services that run the app's image (built from the Dockerfile)."""
    return {
        name: service
        for name, service in compose()["services"].items()
        if "build" in service or str(service.get("image", "")).startswith("msp-psa")
    }


def start_roles() -> set[str]:
    """The roles deploy/start runs (the labels of its case)."""
    return set(re.findall(r"^  ([a-z]+)\)$", START.read_text(), re.MULTILINE))


def systemd_units() -> dict[str, ConfigParser]:
    units = {}
    for path in sorted(SYSTEMD.iterdir()):
        parser = ConfigParser(strict=False, interpolation=None, delimiters=("=",))
        parser.optionxform = str  # keys are case-sensitive (ExecStart)
        parser.read_string(path.read_text())
        units[path.name] = parser
    return units


def unit_commands(unit: ConfigParser) -> list[list[str]]:
    """The commands a unit runs (ExecStartPre, ExecStart), split as systemd splits them."""
    if not unit.has_section("Service"):
        return []
    return [
        shlex.split(unit["Service"][key].lstrip("-+!@:"))
        for key in ("ExecStartPre", "ExecStart")
        if key in unit["Service"]
    ]
