import pytest
import torch

from comp_lib import config
from comp_lib.data import registry


def test_data_dir_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("COMP_LIB_DATA", str(tmp_path))
    assert config.data_dir() == tmp_path.resolve()
    (tmp_path / "kodak").mkdir()
    assert registry.dataset_dir("kodak") == tmp_path.resolve() / "kodak"
    monkeypatch.delenv("COMP_LIB_DATA")
    assert config.data_dir() == config.PROJECT_ROOT / "data"


def test_missing_dataset_names_the_place_and_the_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("COMP_LIB_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="COMP_LIB_DATA") as err:
        registry.dataset_dir("bsds300_test")
    assert str(tmp_path) in str(err.value)


def test_reports_dirs(monkeypatch, tmp_path):
    monkeypatch.setenv("COMP_LIB_REPORTS", str(tmp_path))
    assert config.figures_dir() == tmp_path.resolve() / "figures"
    assert config.tables_dir().is_dir()


def test_device_prefers_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert config.device().type == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert config.device().type == "cpu"


def test_the_shared_data_is_there():
    """CI points COMP_LIB_DATA at ../shared/data; every dataset the study uses must be found."""
    for name in registry.DATASETS:
        assert registry.dataset_dir(name).is_dir()


def test_git_commit_marks_code_changes_not_report_outputs(monkeypatch, tmp_path):
    import subprocess

    def git(*args):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
                       cwd=tmp_path, check=True, capture_output=True)  # fmt: skip

    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "t.csv").write_text("a\n1\n")
    (tmp_path / "code.py").write_text("x = 1\n")
    git("init", "-q")
    git("add", ".")
    git("commit", "-q", "-m", "init")
    monkeypatch.setattr(config, "PROJECT_ROOT", tmp_path)
    clean = config.git_commit()
    assert clean != "unknown" and "uncommitted" not in clean
    (tmp_path / "reports" / "t.csv").write_text("a\n2\n")  # a report run rewrote a table
    assert config.git_commit() == clean
    (tmp_path / "code.py").write_text("x = 2\n")
    assert config.git_commit() == clean + " (with uncommitted changes)"


def test_a_read_only_data_folder_gets_no_cache_even_for_root(monkeypatch, tmp_path):
    """CI's shared data has no write bits; root could write there, but must not."""
    monkeypatch.delenv("COMP_LIB_CACHE", raising=False)
    monkeypatch.setenv("COMP_LIB_DATA", str(tmp_path))
    assert config.cache_dir() == tmp_path.resolve() / "cache"
    (tmp_path / "cache").rmdir()
    tmp_path.chmod(0o555)
    try:
        assert config.cache_dir() == config.PROJECT_ROOT / ".cache"
        assert not (tmp_path / "cache").exists()
    finally:
        tmp_path.chmod(0o755)
