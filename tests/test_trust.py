"""The template loads Jinja extensions (unsafe for copier), so a copy needs --trust; without it copier stops
with its unsafe-feature error before writing anything."""

from template_clone import run_copier_cli


def test_copy_without_trust_fails_with_copiers_unsafe_error(template_repo, tmp_path):
    dest = tmp_path / "project"
    result = run_copier_cli(template_repo, dest, trust=False)
    assert result.returncode == 4
    assert "potentially unsafe feature: jinja_extensions" in result.stderr and "--trust" in result.stderr
    assert not dest.exists()


def test_copy_with_trust_succeeds(template_repo, tmp_path):
    result = run_copier_cli(template_repo, tmp_path / "project")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "project" / "client" / "env.sh").is_file()
