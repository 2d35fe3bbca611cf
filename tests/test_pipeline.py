import ast

import jupytext
import pandas as pd
import pytest

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
