"""The project's own files install what it needs, and agree with each other."""

import json
import re
import tomllib
from pathlib import Path

import jupytext
import yaml

ROOT = Path(__file__).resolve().parent.parent


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _name(req: str) -> str:
    return re.split(r"[<>=!~;\[ ]", req, maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_agrees_with_pyproject():
    project = _pyproject()["project"]
    wanted = set(project["dependencies"]) | set(project["optional-dependencies"]["dev"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "python=3.11" in env["dependencies"]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    listed = {r for r in pip if not r.startswith("-e")}
    assert listed == wanted, listed ^ wanted


def test_torch_is_pinned_and_torchvision_absent():
    project = _pyproject()["project"]
    reqs = project["dependencies"] + sum(project["optional-dependencies"].values(), [])
    torch_reqs = [r for r in reqs if _name(r) == "torch"]
    assert torch_reqs == ["torch==2.13.0"]
    assert not any(_name(r) in {"torchvision", "torchaudio"} for r in reqs)


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make report" in readme
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, re.M)
    assert "../shared/data" in ci and "COMP_LIB_DATA" in ci


def test_notebooks_are_paired_and_committed_without_outputs():
    notebooks = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert notebooks, "no notebooks"
    for ipynb in notebooks:
        nb = json.loads(ipynb.read_text())
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        # outputs are committed only for the one summary cell that nbval compares
        marked = [c for c in code if "# NBVAL_CHECK_OUTPUT" in "".join(c["source"])]
        assert len(marked) == 1, f"{ipynb.name}: needs one summary cell marked for nbval"
        others = [c for c in code if c is not marked[0]]
        assert all(not c.get("outputs") and c.get("execution_count") is None for c in others)
        assert all(o.get("name") == "stdout" for o in marked[0].get("outputs", [])), ipynb
        # the first code cell is papermill's parameters cell of literal assignments
        assert "parameters" in code[0]["metadata"].get("tags", []), ipynb
        py = ipynb.with_suffix(".py")
        assert py.is_file(), f"{ipynb.name} has no paired .py"
        paired = jupytext.read(py)
        sources = [c.source for c in jupytext.read(ipynb).cells]
        assert [c.source for c in paired.cells] == sources, f"{py.name} and {ipynb.name} differ"
        assert nb["metadata"]["kernelspec"]["name"] == "comp-study"


def test_make_test_keeps_the_smoke_outputs_out_of_the_committed_report():
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile[makefile.index("\ntest: venv") :].split("\n\n")[0]
    assert 'COMP_LIB_REPORTS="$${COMP_LIB_REPORTS:-$(TEST_REPORTS)}"' in recipe
    assert re.search(r"^TEST_REPORTS \?= .*\.test-reports$", makefile, re.M)
    assert ".test-reports/" in (ROOT / ".gitignore").read_text()
