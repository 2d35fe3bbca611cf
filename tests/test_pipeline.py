import ast

import jupytext
import pandas as pd
import pytest
import torch

from comp_lib import pipeline
from comp_lib.config import PROJECT_ROOT


def parameters_of(notebook) -> dict:
    """The literal assignments of a notebook's papermill ``parameters`` cell."""
    nb = jupytext.read(notebook)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    tree = ast.parse(cell.source)
    out = {}
    for node in tree.body:
        assert isinstance(node, ast.Assign), f"{notebook.name}: only assignments in parameters"
        out[node.targets[0].id] = ast.literal_eval(node.value)  # literals only
    return out


@pytest.mark.parametrize("profile", ["smoke", "default", "paper"])
def test_profiles_name_only_real_parameters(profile):
    params = pipeline.load_profile(profile)
    assert set(params) == {nb.stem for nb in pipeline.notebooks()}
    for nb in pipeline.notebooks():
        known = parameters_of(nb)
        assert "profile" in known, nb.name
        unknown = set(params[nb.stem]) - set(known)
        assert not unknown, f"{profile}: {nb.name} has no parameters {unknown}"
        for key, value in params[nb.stem].items():
            if known[key] is not None and value is not None:
                assert type(value) is type(known[key]), (profile, nb.name, key)


def test_smoke_profile_is_the_notebooks_defaults():
    assert all(p == {"profile": "smoke"} for p in pipeline.load_profile("smoke").values())


def test_bad_profiles(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="known: default"):
        pipeline.load_profile("nonexistent")
    fake = tmp_path / "params"
    fake.mkdir()
    (fake / "x.yaml").write_text("99_missing: {a: 1}\n")
    (tmp_path / "notebooks").symlink_to(PROJECT_ROOT / "notebooks")
    monkeypatch.setattr(pipeline, "PROJECT_ROOT", tmp_path)
    with pytest.raises(ValueError, match="unknown notebooks"):
        pipeline.load_profile("x")
    assert pipeline.main(["--profile", "nonexistent"]) == 2


def test_pipeline_times_reach_the_report(tmp_path, monkeypatch):
    from comp_lib.config import cpu_name
    from comp_lib.report import Provenance, read_provenance, write_readme, write_table

    monkeypatch.setenv("COMP_LIB_REPORTS", str(tmp_path))
    bd = pd.DataFrame({"dataset": ["set5"], "codec": ["ours"], "bd_rate_psnr_%": [-30.0],
                       "bd_psnr_db": [1.0], "max_rate": [0.6]})  # fmt: skip
    write_table("03_standard_bd", "BD", bd, Provenance("abc", "default", {}))
    assert "make report` at the" not in write_readme().read_text()  # no timing recorded
    path = pipeline.write_times("default", [("00_a", 30.0), ("03_b", 1500.0)])
    times = pd.read_csv(path.with_suffix(".csv"))
    assert times.notebook.tolist() == ["00_a", "03_b", "total"]
    assert times.seconds.iloc[-1] == 1530.0 and times.minutes.iloc[-1] == 25.5
    source = read_provenance("pipeline_default")
    assert source.profile == "default" and source.machine.startswith(cpu_name())
    # the instruction set too: one CPU name covers AVX2-only and AVX-512 machines
    assert f"({torch.backends.cpu.get_cpu_capability()})" in source.machine
    assert f"machine: {source.machine}." in path.read_text()
    text = write_readme().read_text()
    assert f"`make report` at the `default` profile took 25.5 minutes on {source.machine} " in text
    assert "(tables/pipeline_default.md)" in text
    write_table("03_standard_bd", "BD", bd, Provenance("abc", "paper", {}))  # not timed
    assert "make report` at the" not in write_readme().read_text()


def test_store_summaries_keeps_only_the_marked_outputs(tmp_path):
    import nbformat

    marked = f"{pipeline.CHECK_MARKER}\nprint(1)"
    executed = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(marked, outputs=[
            nbformat.v4.new_output("stream", name="stdout", text="1\n"),
            nbformat.v4.new_output("stream", name="stderr", text="warning\n")]),
        nbformat.v4.new_code_cell("x = 2", outputs=[
            nbformat.v4.new_output("execute_result", data={"text/plain": "2"})]),
    ])  # fmt: skip
    nbformat.write(executed, tmp_path / "run.ipynb")
    source = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(marked),
                                             nbformat.v4.new_code_cell("x = 2")])  # fmt: skip
    nbformat.write(source, tmp_path / "nb.ipynb")
    assert pipeline.store_summaries(tmp_path / "run.ipynb", tmp_path / "nb.ipynb") == 1
    kept = nbformat.read(tmp_path / "nb.ipynb", as_version=4)
    assert [c.outputs for c in kept.cells] == [[{"name": "stdout", "output_type": "stream",
                                                 "text": "1\n"}], []]  # fmt: skip
    assert [c.execution_count for c in kept.cells] == [1, None]
    assert (tmp_path / "nb.ipynb").read_text().endswith("}\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nb.ipynb", "run.ipynb"]


def _tiny_project(root):
    """Two numbered notebooks and their profiles: 00_a writes a.txt, 01_b reads it into b.txt."""
    import nbformat

    def notebook(name, parameters, body):
        cells = [nbformat.v4.new_code_cell(parameters, metadata={"tags": ["parameters"]}),
                 nbformat.v4.new_code_cell(body)]  # fmt: skip
        kernel = {"name": pipeline.KERNEL, "language": "python", "display_name": "Python"}
        nb = nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": kernel})
        nbformat.write(nb, root / "notebooks" / name)

    (root / "notebooks").mkdir(parents=True)
    (root / "params").mkdir()
    notebook("00_a.ipynb", 'profile = "none"\nword = "x"\nfail = False',
             'from pathlib import Path\nif fail:\n    raise RuntimeError("planted failure")\n'
             'Path("a.txt").write_text(f"a {profile} {word.upper()}")')  # fmt: skip
    notebook("01_b.ipynb", 'profile = "none"\ncount = 1',
             'from pathlib import Path\n'
             'Path("b.txt").write_text(Path("a.txt").read_text() + " then b" * count)')  # fmt: skip
    (root / "params" / "test.yaml").write_text("00_a: {word: hello}\n01_b: {count: 2}\n")
    (root / "params" / "bad.yaml").write_text("00_a: {fail: true}\n")
    return root / "notebooks"


def test_run_executes_the_notebooks_in_order_with_the_profile(tmp_path, monkeypatch, capsys):
    """papermill for real (3 kernels): order, parameters, executed copies, times, README."""
    import comp_lib.report

    nbs = _tiny_project(tmp_path / "project")
    reports = tmp_path / "reports"
    monkeypatch.setattr(pipeline, "PROJECT_ROOT", tmp_path / "project")
    monkeypatch.setenv("COMP_LIB_REPORTS", str(reports))
    readme_calls = []
    real_readme = comp_lib.report.write_readme

    def recording_readme():
        readme_calls.append(True)
        return real_readme()

    monkeypatch.setattr(comp_lib.report, "write_readme", recording_readme)

    done = pipeline.run("test")
    assert done == [reports / "notebooks" / "00_a.ipynb", reports / "notebooks" / "01_b.ipynb"]
    assert (nbs / "a.txt").read_text() == "a test HELLO"  # profile and parameter injected
    assert (nbs / "b.txt").read_text() == "a test HELLO then b then b"  # after 00_a, count=2
    import nbformat

    for path in done:  # the executed copies, with papermill's injected parameters
        executed = nbformat.read(path, as_version=4)
        tags = [c.metadata.get("tags", []) for c in executed.cells]
        assert ["injected-parameters"] in tags, path.name
    injected = nbformat.read(done[0], as_version=4).cells[1].source
    assert 'word = "hello"' in injected and 'profile = "test"' in injected
    times = pd.read_csv(reports / "tables" / "pipeline_test.csv")
    assert times.notebook.tolist() == ["00_a", "01_b", "total"]
    assert (times.seconds > 0).all()
    assert readme_calls == [True] and (reports / "README.md").is_file()
    out = capsys.readouterr().out
    assert out.index("00_a.ipynb done") < out.index("[test] 01_b.ipynb ...")

    # only: just that notebook, no times, no README
    (nbs / "a.txt").write_text("kept")
    (reports / "tables" / "pipeline_test.csv").unlink()
    assert pipeline.run("test", only=["01_b"]) == [reports / "notebooks" / "01_b.ipynb"]
    assert (nbs / "a.txt").read_text() == "kept"  # 00_a did not run
    assert (nbs / "b.txt").read_text() == "kept then b then b"
    assert not (reports / "tables" / "pipeline_test.csv").exists()
    assert readme_calls == [True]


def test_a_failing_notebook_stops_the_run(tmp_path, monkeypatch, capsys):
    nbs = _tiny_project(tmp_path / "project")
    reports = tmp_path / "reports"
    monkeypatch.setattr(pipeline, "PROJECT_ROOT", tmp_path / "project")
    monkeypatch.setenv("COMP_LIB_REPORTS", str(reports))
    with pytest.raises(pipeline.NotebookFailed, match="00_a.ipynb failed in cell") as err:
        pipeline.run("bad")
    assert "RuntimeError: planted failure" in str(err.value)
    out = capsys.readouterr().out.strip().splitlines()
    assert out == ["[bad] 00_a.ipynb ..."]  # the failing notebook named; nothing after it ran
    assert not (nbs / "a.txt").exists() and not (nbs / "b.txt").exists()
    assert not (reports / "notebooks" / "01_b.ipynb").exists()
    kept = (reports / "notebooks" / "00_a.ipynb").read_text()  # up to the failing cell
    assert "planted failure" in kept
    assert not (reports / "tables").exists()  # no times for a failed run
    assert pipeline.main(["--profile", "bad"]) == 1  # the command line: one line, exit 1
    assert capsys.readouterr().err.startswith("error: 00_a.ipynb failed in cell")
    with pytest.raises(ValueError, match=r"--only: no notebook named \['02_typo'\]"):
        pipeline.run("test", only=["02_typo"])
